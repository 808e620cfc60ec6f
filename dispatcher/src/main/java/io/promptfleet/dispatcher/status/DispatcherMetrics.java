package io.promptfleet.dispatcher.status;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Collection;
import java.util.Map;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every meter of the dispatcher, in one place (route breaker meters live with {@code RouteBreakers}). Names are
 * lowercase with dots; outcomes and reasons are tags; never a job id. Thread-safe (Micrometer is).
 */
public final class DispatcherMetrics {
  private final MeterRegistry registry;
  public final Counter dispatched;
  public final Counter deadLettered;
  public final Counter leasesReleased;
  public final Counter leasesExpired;
  public final Counter leasesRebuilt;
  public final Counter transactionsAborted;
  private final Map<String, Counter> answered = new ConcurrentHashMap<>();
  private final Map<String, Counter> keyEvents = new ConcurrentHashMap<>();

  public DispatcherMetrics(MeterRegistry registry) {
    this.registry = registry;
    dispatched = Counter.builder("promptfleet.dispatcher.assignments").description("assignments written")
        .register(registry);
    deadLettered = Counter.builder("promptfleet.dispatcher.dead.letters")
        .description("records that were not valid jobs, fleet events or cancels, sent to the dead-letter topic")
        .register(registry);
    leasesReleased = Counter.builder("promptfleet.dispatcher.leases.released")
        .description("leases released by a worker's fleet event").register(registry);
    leasesExpired = Counter.builder("promptfleet.dispatcher.leases.expired")
        .description("leases reclaimed because no worker released them").register(registry);
    leasesRebuilt = Counter.builder("promptfleet.dispatcher.leases.rebuilt")
        .description("in-flight leases restored from Kafka when this dispatcher became active").register(registry);
    transactionsAborted = Counter.builder("promptfleet.dispatcher.transactions.aborted")
        .description("dispatch transactions aborted and rewound").register(registry);
  }

  /** A job answered without running, by status (rejected, expired, cancelled, failed). */
  public void answered(String status) {
    answered.computeIfAbsent(status, s -> Counter.builder("promptfleet.dispatcher.answered")
        .description("jobs answered by the dispatcher without (another) attempt").tag("status", s)
        .register(registry)).increment();
  }

  /** Feedback that changed a key's state: event is cooldown, disabled or remote_budget. */
  public void keyEvent(String key, String event) {
    keyEvents.computeIfAbsent(key + '|' + event, k -> Counter.builder("promptfleet.key.events")
        .description("rate-limit feedback applied to a key").tag("key", key).tag("event", event)
        .register(registry)).increment();
  }

  /**
   * Gauges over the dispatcher's state read from its latest status snapshot (at most ~500 ms old), never from the
   * dispatcher thread's own structures.
   */
  public void gauges(Collection<String> keyNames, Supplier<StatusSnapshot> status) {
    Gauge.builder("promptfleet.dispatcher.buffered",
            () -> status.get().queues().values().stream().mapToInt(Integer::intValue).sum())
        .description("jobs read from Kafka and waiting for a key").register(registry);
    for (String k : keyNames) {
      Gauge.builder("promptfleet.key.in.flight", () -> key(status, k, StatusSnapshot.KeyStatus::inFlight))
          .tag("key", k).description("assignments holding the key's concurrency").register(registry);
      Gauge.builder("promptfleet.key.max.concurrency", () -> key(status, k, StatusSnapshot.KeyStatus::maxConcurrency))
          .tag("key", k).description("the key's configured concurrency").register(registry);
      Gauge.builder("promptfleet.key.disabled", () -> key(status, k, ks -> ks.disabled() != null ? 1 : 0))
          .tag("key", k).description("1 while the key is disabled after an auth, quota or spend-limit error")
          .register(registry);
      Gauge.builder("promptfleet.key.cooling.down", () -> key(status, k, ks -> ks.cooldownMs() > 0 ? 1 : 0))
          .tag("key", k).description("1 while the key cools down after a 429").register(registry);
    }
  }

  private static double key(Supplier<StatusSnapshot> status, String name,
      ToDoubleFunction<StatusSnapshot.KeyStatus> value) {
    for (StatusSnapshot.KeyStatus ks : status.get().keys()) {
      if (ks.name().equals(name)) {
        return value.applyAsDouble(ks);
      }
    }
    return Double.NaN;
  }
}
