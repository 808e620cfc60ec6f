package io.promptfleet.dispatcher.status;

import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.schedule.ReadyQueues;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Every 500 ms, a fresh immutable {@link StatusSnapshot} of the dispatcher's state, for the dashboard,
 * {@code promptfleet status} and the gauges: queue depth per lane, every key's use of its limits, cooldowns and
 * disabled keys, breaker states, slow routes and fallback traffic, workers and their connections to each provider
 * from heartbeats, and totals.
 *
 * <p>{@link #maybePublish} runs on the dispatcher thread, which alone reads the state; {@link #current()} is safe
 * from any thread (it returns the last published snapshot, at most about half a second old).
 */
public final class StatusPublisher {
  static final long EVERY_MS = 500;

  private final FleetConfig config;
  private final String instanceId;
  private final ReadyQueues<?> queues;
  private final KeyPool keys;
  private final RouteStates breakers;
  private final FallbackTraffic fallbacks;
  private final StatusBoard board;
  private final DispatcherMetrics metrics;
  private volatile StatusSnapshot current;
  private long lastMs;
  private java.util.function.Supplier<StatusSnapshot.Batches> batches = () -> StatusSnapshot.Batches.NONE;
  private java.util.function.LongPredicate successorsEnabled = nowMs -> false;

  public StatusPublisher(FleetConfig config, String instanceId, ReadyQueues<?> queues, KeyPool keys,
      RouteStates breakers, StatusBoard board, DispatcherMetrics metrics) {
    this(config, instanceId, queues, keys, breakers, FallbackTraffic.NONE, board, metrics);
  }

  /** With the fallback traffic per route ({@code route.Fallbacks}). */
  public StatusPublisher(FleetConfig config, String instanceId, ReadyQueues<?> queues, KeyPool keys,
      RouteStates breakers, FallbackTraffic fallbacks, StatusBoard board, DispatcherMetrics metrics) {
    this.fallbacks = fallbacks;
    this.config = config;
    this.instanceId = instanceId;
    this.queues = queues;
    this.keys = keys;
    this.breakers = breakers;
    this.board = board;
    this.metrics = metrics;
    this.current = StatusSnapshot.starting(instanceId);
  }

  /** The latest snapshot; any thread. */
  public StatusSnapshot current() {
    return current;
  }

  /** Where the provider batches' line of the snapshot comes from (default: none). */
  public void batches(java.util.function.Supplier<StatusSnapshot.Batches> batches) {
    this.batches = batches;
  }

  /** Whether successor assignments are written at a time ({@code capacity.SuccessorGate}; default: never). */
  public void successorsEnabled(java.util.function.LongPredicate enabled) {
    this.successorsEnabled = enabled;
  }

  /** Publishes a new snapshot when the last one is 500 ms old; dispatcher thread only. */
  public void maybePublish(long nowMs, boolean active) {
    if (nowMs - lastMs < EVERY_MS) {
      return;
    }
    lastMs = nowMs;
    Map<String, Integer> q = new LinkedHashMap<>();
    for (Lane l : Lane.values()) {
      q.put(l.name().toLowerCase(Locale.ROOT), queues.size(l));
    }
    List<StatusSnapshot.KeyStatus> ks = new ArrayList<>();
    config.keys().forEach((name, k) -> ks.add(new StatusSnapshot.KeyStatus(name, k.provider(), keys.inFlight(name),
        k.maxConcurrency(), keys.requestsInWindow(name, nowMs), keys.requestsPerWindow(name),
        keys.tokensInWindow(name, nowMs), keys.tokensPerWindow(name),
        keys.isCoolingDown(name, nowMs) ? Math.max(0, keys.cooldownUntil(name) - nowMs) : 0,
        Math.max(0, keys.remoteExhaustedUntil(name, nowMs) - nowMs),
        keys.isDisabled(name, nowMs) ? "auth or quota error from the provider" : null,
        keys.waitingSuccessors(name))));
    List<StatusSnapshot.RouteStatus> rs = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (var m : config.models().values()) {
      for (RouteSettings r : m.routes()) {
        if (seen.add(r.name())) {
          rs.add(new StatusSnapshot.RouteStatus(r.name(), breakers.stateOf(r.name()), breakers.slow(r.name()),
              fallbacks.fallbacksTo(r.name()), fallbacks.fallbacksFrom(r.name())));
        }
      }
    }
    List<StatusSnapshot.WorkerStatus> workers = board.workers(nowMs); // forgets the workers gone: before the gate
    current = new StatusSnapshot(Instant.ofEpochMilli(nowMs), new StatusSnapshot.DispatcherInfo(instanceId, active,
        successorsEnabled.test(nowMs)), q, ks, rs, workers, board.connections(), new StatusSnapshot.Totals(
        (long) metrics.dispatched.count(), board.tokens(), board.tokensPerSecond(nowMs), board.cost()),
        batches.get());
  }
}
