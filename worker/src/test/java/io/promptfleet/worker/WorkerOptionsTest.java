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
  void shouldTakeTheDrainGraceBothKindsOfCoalescingTheLanesParkingAndTheHeartbeatFromTheConfiguration() {
    WorkerSettings w = new WorkerSettings(null, null, null, null, null, 5_000L, 20, 0, null, 60_000L, 1_000L);

    WorkerOptions o = WorkerOptions.from(w);

    assertThat(o.drainGrace()).isEqualTo(Duration.ofSeconds(5));
    assertThat(o.coalesceMs()).isEqualTo(20);
    assertThat(o.chunksInFlight()).isZero();
    assertThat(o.parkLanesAfter()).isEqualTo(Duration.ofMinutes(1));
    assertThat(WorkerOptions.defaults().parkLanesAfter()).isEqualTo(Duration.ofSeconds(30));
    assertThat(o.heartbeatInterval()).isEqualTo(Duration.ofSeconds(1));
    assertThat(WorkerOptions.defaults().heartbeatInterval()).isEqualTo(Duration.ofSeconds(5));
  }

  /** A worker is not reported cut off from Kafka while one heartbeat's ack is merely an interval late. */
  @Test
  void shouldKeepTheKafkaSilenceLimitAtFourHeartbeatsAtLeast() {
    assertThat(WorkerOptions.defaults().kafkaSilenceLimit()).isEqualTo(Duration.ofSeconds(20));
    WorkerSettings slow = new WorkerSettings(null, null, null, null, null, null, null, null, null, null, 15_000L);
    assertThat(WorkerOptions.from(slow).kafkaSilenceLimit()).isEqualTo(Duration.ofMinutes(1));
    WorkerOptions d = WorkerOptions.defaults();
    assertThatThrownBy(() -> new WorkerOptions(d.drainGrace(), d.renewAfterMax(), d.coalesceMs(), d.chunksInFlight(),
        d.cancelMemory(), d.cancelTtl(), Duration.ofSeconds(9), Duration.ofSeconds(5), d.parkLanesAfter()))
        .hasMessage("worker options: kafkaSilenceLimit must be at least twice heartbeatInterval");
  }

  @Test
  void shouldRejectANegativeChunksInFlightNamingIt() {
    assertThatThrownBy(() -> WorkerOptions.defaults().withChunksInFlight(-1))
        .hasMessage("worker options: chunksInFlight must be 0..1000");
  }
}
