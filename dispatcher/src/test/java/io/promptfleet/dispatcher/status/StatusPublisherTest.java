package io.promptfleet.dispatcher.status;

import static io.promptfleet.dispatcher.testing.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.Lease;
import io.promptfleet.dispatcher.route.RouteBreakers;
import io.promptfleet.dispatcher.schedule.ReadyQueues;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import io.promptfleet.dispatcher.testing.Fixtures;
import io.promptfleet.dispatcher.testing.ManualClock;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class StatusPublisherTest {
  private static final FleetConfig CONFIG = Fixtures.config(Fixtures.TWO_KEYS);

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final ReadyQueues<Long> queues = new ReadyQueues<>(CONFIG.dispatcher().priority(), x -> x);
  private final KeyPool keys = new KeyPool(CONFIG.keys(), 60_000);
  private final StatusBoard board = new StatusBoard(CONFIG);
  private final DispatcherMetrics metrics = new DispatcherMetrics(registry);
  private final StatusPublisher status = new StatusPublisher(CONFIG, "d1", queues, keys,
      new RouteBreakers(CONFIG.dispatcher().breaker(), registry, new ManualClock()), board, metrics);

  @Test
  void shouldStartWithAnInactiveSnapshot() {
    assertThat(status.current().dispatcher().instance()).isEqualTo("d1");
    assertThat(status.current().dispatcher().active()).isFalse();
    assertThat(status.current().keys()).isEmpty();
  }

  @Test
  void shouldPublishWhatTheDispatcherThreadSeesAtMostEveryHalfSecond() {
    queues.add("m", Lane.LOW, T0);
    keys.acquire(new Lease("l", "k1", "j", "p/first", Instant.ofEpochMilli(T0 + 60_000), 250, T0), T0);
    keys.coolDown("k2", T0 + 3_000);
    keys.remoteBudget("k1", 0L, 5_000L, T0 + 1_500);
    metrics.dispatched.increment();

    status.maybePublish(T0, true);
    StatusSnapshot first = status.current();
    queues.add("m", Lane.LOW, T0);
    status.maybePublish(T0 + 499, true);

    assertThat(status.current()).as("not yet").isSameAs(first);
    assertThat(first.at()).isEqualTo(Instant.ofEpochMilli(T0));
    assertThat(first.dispatcher().active()).isTrue();
    assertThat(first.queues()).containsEntry("low", 1).containsEntry("retry", 0).hasSize(4);
    assertThat(first.keys()).extracting(StatusSnapshot.KeyStatus::name).containsExactly("k1", "k2");
    assertThat(first.keys().get(0).inFlight()).isEqualTo(1);
    assertThat(first.keys().get(0).tokensUsed()).isEqualTo(250);
    assertThat(first.keys().get(1).cooldownMs()).isEqualTo(3_000);
    assertThat(first.keys().get(1).disabled()).isNull();
    assertThat(first.keys().get(0).providerBudgetMs()).as("the provider reports no request left until its reset")
        .isEqualTo(1_500);
    assertThat(first.keys().get(1).providerBudgetMs()).isZero();
    assertThat(first.routes()).extracting(StatusSnapshot.RouteStatus::name, StatusSnapshot.RouteStatus::breaker)
        .containsExactly(tuple("p/first", "CLOSED"), tuple("p/second", "CLOSED"));
    assertThat(first.totals().assignments()).isEqualTo(1);

    status.maybePublish(T0 + 500, false);
    assertThat(status.current().queues()).containsEntry("low", 2);
    assertThat(status.current().dispatcher().active()).isFalse();
  }

  @Test
  void shouldShowWhetherSuccessorsAreWrittenInTheSnapshotAndItsGauge() {
    java.util.concurrent.atomic.AtomicBoolean open = new java.util.concurrent.atomic.AtomicBoolean();
    status.successorsEnabled(nowMs -> open.get());
    metrics.gauges(CONFIG.keys().keySet(), status::current);
    status.maybePublish(T0, true);
    assertThat(status.current().dispatcher().successorsEnabled()).isFalse();
    assertThat(registry.get("promptfleet.dispatcher.successors.enabled").gauge().value()).isZero();

    open.set(true);
    status.maybePublish(T0 + 500, true);
    assertThat(status.current().dispatcher().successorsEnabled()).isTrue();
    assertThat(registry.get("promptfleet.dispatcher.successors.enabled").gauge().value()).isEqualTo(1);
  }
}
