package io.promptfleet.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.promptfleet.common.config.WorkerSettings;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A worker built in code gets the same defaults as one built from the fleet's configuration. */
class WorkerOptionsTest {

  @Test
  void shouldCoalesceChunksAdaptivelyByDefaultWhetherBuiltInCodeOrFromTheConfiguration() {
    assertThat(WorkerOptions.defaults().chunksInFlight()).isEqualTo(1);
    assertThat(WorkerOptions.defaults().coalesceMs()).isZero();
    assertThat(WorkerOptions.from(WorkerSettings.defaults())).isEqualTo(WorkerOptions.defaults());
  }

  @Test
  void shouldTakeTheDrainGraceBothKindsOfCoalescingAndTheLanesParkingFromTheConfiguration() {
    WorkerSettings w = new WorkerSettings(null, null, null, null, null, 5_000L, 20, 0, null, 60_000L);

    WorkerOptions o = WorkerOptions.from(w);

    assertThat(o.drainGrace()).isEqualTo(Duration.ofSeconds(5));
    assertThat(o.coalesceMs()).isEqualTo(20);
    assertThat(o.chunksInFlight()).isZero();
    assertThat(o.parkLanesAfter()).isEqualTo(Duration.ofMinutes(1));
    assertThat(WorkerOptions.defaults().parkLanesAfter()).isEqualTo(Duration.ofSeconds(30));
  }

  @Test
  void shouldRejectANegativeChunksInFlightNamingIt() {
    assertThatThrownBy(() -> WorkerOptions.defaults().withChunksInFlight(-1))
        .hasMessage("worker options: chunksInFlight must be 0..1000");
  }
}
