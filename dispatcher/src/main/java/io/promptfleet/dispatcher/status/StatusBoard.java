package io.promptfleet.dispatcher.status;

import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.Usage;
import io.promptfleet.dispatcher.capacity.SuccessorGate;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Collects what the status snapshot needs beyond the dispatcher's own state: worker heartbeats (and the workers'
 * connections to each provider they report, {@link ConnectionBoard}), tokens and cost from released leases, a
 * tokens-per-second rate over the last ten seconds. It tells the {@link SuccessorGate} of each heartbeat and of each
 * worker it forgets (no heartbeat for a minute).
 *
 * <p>Not thread-safe: fed by the dispatcher thread. What other threads read is the immutable
 * {@link StatusSnapshot} the dispatcher builds from it.
 */
public final class StatusBoard {
  private static final long WORKER_GONE_MS = 60_000;
  private static final long RATE_WINDOW_MS = 10_000;

  private final Map<String, RouteSettings> routesByName = new HashMap<>();
  private final Map<String, FleetEvent> workers = new TreeMap<>();
  private final Map<String, Long> workerSeenAt = new HashMap<>();
  private final ConnectionBoard connections = new ConnectionBoard();
  private final SuccessorGate successorGate;
  private final ArrayDeque<long[]> recentTokens = new ArrayDeque<>();
  private long tokens;
  private double cost;

  /** A board with a gate of its own, for {@code dispatcher.successors} as configured. */
  public StatusBoard(FleetConfig config) {
    this(config, SuccessorGate.of(config.dispatcher()));
  }

  /** A board that tells {@code successorGate} which workers are live and what they report. */
  public StatusBoard(FleetConfig config, SuccessorGate successorGate) {
    this.successorGate = successorGate;
    for (var m : config.models().values()) {
      for (RouteSettings r : m.routes()) {
        routesByName.putIfAbsent(r.name(), r);
      }
    }
  }

  public void heartbeat(FleetEvent e, long nowMs) {
    if (e.workerId() == null) {
      return;
    }
    workers.put(e.workerId(), e);
    workerSeenAt.put(e.workerId(), nowMs);
    connections.heartbeat(e.workerId(), e.at() == null ? nowMs : e.at().toEpochMilli(), e.connections());
    successorGate.reported(e.workerId(), e.successorProtocol(), nowMs);
  }

  /** A lease was released with this usage on this route (name as in assignments: provider/model). */
  public void usage(String route, Usage usage, long nowMs) {
    if (usage == null) {
      return;
    }
    tokens += usage.totalTokens();
    recentTokens.addLast(new long[] {nowMs, usage.totalTokens()});
    RouteSettings r = route == null ? null : routesByName.get(route);
    if (r == null && route != null && route.indexOf('/') > 0) {
      r = routesByName.get(route.substring(0, route.indexOf('/')) + "/*");
    }
    if (r != null) {
      Double c = r.toRoute(route).cost(usage);
      if (c != null) {
        cost += c;
      }
    }
  }

  public long tokens() {
    return tokens;
  }

  public double cost() {
    return cost;
  }

  public double tokensPerSecond(long nowMs) {
    while (!recentTokens.isEmpty() && recentTokens.peekFirst()[0] < nowMs - RATE_WINDOW_MS) {
      recentTokens.pollFirst();
    }
    long sum = 0;
    for (long[] t : recentTokens) {
      sum += t[1];
    }
    return sum / (RATE_WINDOW_MS / 1000.0);
  }

  /**
   * The workers' connections to each provider, summed; call after {@link #workers}, which forgets the workers that
   * are gone.
   */
  public List<StatusSnapshot.ProviderConnectionStatus> connections() {
    return connections.providers();
  }

  public List<StatusSnapshot.WorkerStatus> workers(long nowMs) {
    for (Iterator<Map.Entry<String, Long>> it = workerSeenAt.entrySet().iterator(); it.hasNext(); ) {
      var e = it.next();
      if (nowMs - e.getValue() > WORKER_GONE_MS) {
        workers.remove(e.getKey());
        connections.forget(e.getKey());
        successorGate.left(e.getKey(), nowMs);
        it.remove();
      }
    }
    return workers.values().stream().map(w -> new StatusSnapshot.WorkerStatus(w.workerId(),
        w.slotsTotal() == null ? 0 : w.slotsTotal(), w.slotsFree() == null ? 0 : w.slotsFree(),
        nowMs - workerSeenAt.get(w.workerId()))).toList();
  }
}
