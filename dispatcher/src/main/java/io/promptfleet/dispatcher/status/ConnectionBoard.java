package io.promptfleet.dispatcher.status;

import io.promptfleet.common.job.ProviderConnectionStats;
import io.promptfleet.dispatcher.status.StatusSnapshot.ProviderConnectionStatus;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The fleet's connections to each provider, summed over the workers' latest heartbeats: open connections, HTTP/2
 * connections, streams and requests waiting for a connection as the workers last reported them; connections opened
 * and connect failures (the provider's, and the workers' own overload) since each worker started; and, from the
 * change of those counters between a worker's last two heartbeats, connects and failures per second and the mean
 * connect time.
 *
 * <p>A worker's rates come from two of its own heartbeats, timed by its own clock (the {@code at} it stamps), so
 * clock skew between hosts and Kafka's delivery delay do not distort them. A counter that went down means the worker
 * restarted under the same id: its new value is the change. Until a worker's second heartbeat, it adds its gauges and
 * totals but no rates.
 *
 * <p>Not thread-safe: fed and read by the dispatcher thread.
 */
final class ConnectionBoard {
  /** Per worker, per provider: its last heartbeat's report, and the rates of the interval that ended with it. */
  private final Map<String, Map<String, Sample>> workers = new HashMap<>();

  private record Sample(long atMs, ProviderConnectionStats stats, Interval interval) {}

  /** Changes over one interval between two heartbeats of a worker (all zero before its second). */
  private record Interval(double seconds, long opened, long timed, long micros, long failures, long overloaded) {
    static final Interval NONE = new Interval(0, 0, 0, 0, 0, 0);

    double perSecond(long change) {
      return seconds > 0 ? change / seconds : 0;
    }
  }

  /**
   * A worker's heartbeat, stamped {@code atMs} by the worker; replaces what it said before. A heartbeat older than
   * the last one seen from the worker is ignored.
   */
  void heartbeat(String workerId, long atMs, List<ProviderConnectionStats> stats) {
    Map<String, Sample> before = workers.getOrDefault(workerId, Map.of());
    if (before.values().stream().anyMatch(s -> s.atMs() >= atMs)) {
      return;
    }
    Map<String, Sample> now = new HashMap<>();
    for (ProviderConnectionStats s : stats == null ? List.<ProviderConnectionStats>of() : stats) {
      Sample prev = before.get(s.provider());
      now.put(s.provider(), new Sample(atMs, s, prev == null ? Interval.NONE : new Interval(
          (atMs - prev.atMs()) / 1000.0, change(prev.stats().opened(), s.opened()),
          change(prev.stats().connectsTimed(), s.connectsTimed()),
          change(prev.stats().connectTimeMicros(), s.connectTimeMicros()),
          change(prev.stats().connectFailures(), s.connectFailures()),
          change(prev.stats().connectOverloaded(), s.connectOverloaded()))));
    }
    workers.put(workerId, now);
  }

  /** A worker that is gone (no heartbeat for a minute). */
  void forget(String workerId) {
    workers.remove(workerId);
  }

  /** One row per provider any worker reported, by provider name. */
  List<ProviderConnectionStatus> providers() {
    Map<String, List<Sample>> byProvider = new TreeMap<>();
    for (Map<String, Sample> w : workers.values()) {
      w.forEach((provider, s) -> byProvider.computeIfAbsent(provider, p -> new ArrayList<>()).add(s));
    }
    List<ProviderConnectionStatus> out = new ArrayList<>(byProvider.size());
    byProvider.forEach((provider, samples) -> out.add(sum(provider, samples)));
    return out;
  }

  private static ProviderConnectionStatus sum(String provider, List<Sample> samples) {
    int open = 0;
    int http2 = 0;
    int streams = 0;
    int waiting = 0;
    long opened = 0;
    long failures = 0;
    long overloaded = 0;
    double connectsPerSecond = 0;
    double failuresPerSecond = 0;
    double overloadedPerSecond = 0;
    long timed = 0;
    long micros = 0;
    for (Sample sample : samples) {
      ProviderConnectionStats s = sample.stats();
      Interval i = sample.interval();
      open += s.open();
      http2 += s.http2();
      streams += s.streams();
      waiting += s.waiting();
      opened += s.opened();
      failures += s.connectFailures();
      overloaded += s.connectOverloaded();
      connectsPerSecond += i.perSecond(i.opened());
      failuresPerSecond += i.perSecond(i.failures());
      overloadedPerSecond += i.perSecond(i.overloaded());
      timed += i.timed();
      micros += i.micros();
    }
    return new ProviderConnectionStatus(provider, samples.size(), open, http2, streams,
        open == 0 ? 0 : (double) streams / open, waiting, opened, connectsPerSecond,
        timed == 0 ? null : micros / 1000.0 / timed, failures, failuresPerSecond, overloaded, overloadedPerSecond);
  }

  /** How much a counter grew; a counter that went down restarted from zero, so its new value is the growth. */
  static long change(long before, long now) {
    return now >= before ? now - before : now;
  }
}
