package io.promptfleet.simulator.internal;

import io.promptfleet.simulator.RecordedRequest;
import io.promptfleet.simulator.SimulatorStats;
import io.vertx.core.http.HttpConnection;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The {@link SimulatorStats} of one provider, and the methods the request handling uses to feed it.
 *
 * <p>Thread-safe: counters are atomics; bounded histories are guarded by their own locks. Writers run on
 * event loops, readers on any thread.
 */
public final class StatsRecorder implements SimulatorStats {

  /** Start times kept per key. */
  static final int MAX_STARTS_PER_KEY = 10_000;
  /** Requests kept by {@link #recentRequests()}. */
  static final int MAX_RECORDED_REQUESTS = 1_000;

  private final Clock clock;
  private final AtomicLong totalRequests = new AtomicLong();
  private final AtomicLong completedStreams = new AtomicLong();
  private final AtomicLong faultedRequests = new AtomicLong();
  private final AtomicInteger activeStreams = new AtomicInteger();
  private final ConcurrentHashMap<String, KeyStats> keys = new ConcurrentHashMap<>();
  private final ArrayDeque<RecordedRequest> recorded = new ArrayDeque<>();
  private final ConnectionCounts http2 = new ConnectionCounts();
  private final ConnectionCounts http1 = new ConnectionCounts();
  private final AtomicInteger openConnections = new AtomicInteger();
  private final AtomicInteger maxOpenConnections = new AtomicInteger();

  public StatsRecorder(Clock clock) {
    this.clock = clock;
  }

  /** The clock whose instants the stats report. */
  public Clock clock() {
    return clock;
  }

  // ------------------------------------------------------------ feeding (event loop)

  /** Keeps a received request in the bounded history. */
  public void record(RecordedRequest request) {
    synchronized (recorded) {
      if (recorded.size() == MAX_RECORDED_REQUESTS) {
        recorded.removeFirst();
      }
      recorded.addLast(request);
    }
  }

  /**
   * Counts a client connection the server accepted (its protocol settled: by ALPN over TLS, by the first bytes in
   * the clear), and its close.
   */
  public void connectionOpened(HttpConnection connection) {
    ConnectionCounts counts = speaksHttp2(connection) ? http2 : http1;
    counts.opened.incrementAndGet();
    counts.open.incrementAndGet();
    maxOpenConnections.accumulateAndGet(openConnections.incrementAndGet(), Math::max);
    connection.closeHandler(v -> {
      counts.open.decrementAndGet();
      openConnections.decrementAndGet();
    });
  }

  /** HTTP/1.x connections have no SETTINGS: Vert.x documents {@code settings()} as unsupported there. */
  private static boolean speaksHttp2(HttpConnection connection) {
    try {
      connection.settings();
      return true;
    } catch (UnsupportedOperationException e) {
      return false;
    }
  }

  /** Counts a chat-completion request, whatever its outcome. */
  public void requestReceived() {
    totalRequests.incrementAndGet();
  }

  /** Counts a request answered with an injected fault. */
  public void faulted() {
    faultedRequests.incrementAndGet();
  }

  /**
   * Starts tracking one request of {@code key} as in flight.
   *
   * @return the handle that ends it; calling {@link Lease#release()} more than once has no further effect
   */
  public Lease requestStarted(String key) {
    Instant now = clock.instant();
    // compute() makes starting and reset()'s removal of idle keys atomic per key
    KeyStats stats = keys.compute(key, (k, existing) -> {
      KeyStats s = existing == null ? new KeyStats() : existing;
      s.start(now);
      return s;
    });
    return new Lease(stats);
  }

  /** Counts a stream whose headers are about to be sent. */
  public void streamOpened() {
    activeStreams.incrementAndGet();
  }

  /**
   * Counts a stream that is over.
   *
   * @param completed true when it ended normally (finish chunk written, response ended)
   */
  public void streamClosed(boolean completed) {
    activeStreams.decrementAndGet();
    if (completed) {
      completedStreams.incrementAndGet();
    }
  }

  // ------------------------------------------------------------ SimulatorStats

  @Override
  public long totalRequests() {
    return totalRequests.get();
  }

  @Override
  public long completedStreams() {
    return completedStreams.get();
  }

  @Override
  public int activeStreams() {
    return activeStreams.get();
  }

  @Override
  public long faultedRequests() {
    return faultedRequests.get();
  }

  @Override
  public int concurrentRequests(String key) {
    KeyStats stats = keys.get(key);
    return stats == null ? 0 : stats.current.get();
  }

  @Override
  public int maxConcurrentRequests(String key) {
    KeyStats stats = keys.get(key);
    return stats == null ? 0 : stats.max.get();
  }

  @Override
  public Map<String, Integer> maxConcurrentRequestsByKey() {
    Map<String, Integer> result = new TreeMap<>();
    keys.forEach((key, stats) -> result.put(key, stats.max.get()));
    return Collections.unmodifiableMap(result);
  }

  @Override
  public List<Instant> requestStarts(String key) {
    KeyStats stats = keys.get(key);
    return stats == null ? List.of() : stats.starts();
  }

  @Override
  public int maxRequestsInWindow(String key, Duration window) {
    List<Instant> starts = new ArrayList<>(requestStarts(key));
    Collections.sort(starts);
    int best = 0;
    int first = 0;
    for (int last = 0; last < starts.size(); last++) {
      while (Duration.between(starts.get(first), starts.get(last)).compareTo(window) >= 0) {
        first++;
      }
      best = Math.max(best, last - first + 1);
    }
    return best;
  }

  @Override
  public long connectionsOpened() {
    return http2.opened.get() + http1.opened.get();
  }

  @Override
  public long connectionsOpened(String protocol) {
    return counts(protocol).opened.get();
  }

  @Override
  public int openConnections() {
    return openConnections.get();
  }

  @Override
  public int openConnections(String protocol) {
    return counts(protocol).open.get();
  }

  @Override
  public int maxOpenConnections() {
    return maxOpenConnections.get();
  }

  private ConnectionCounts counts(String protocol) {
    return switch (protocol) {
      case H2 -> http2;
      case HTTP_1_1 -> http1;
      default -> throw new IllegalArgumentException("protocol must be \"" + H2 + "\" or \"" + HTTP_1_1 + "\", was \""
          + protocol + "\"");
    };
  }

  @Override
  public List<RecordedRequest> recentRequests() {
    synchronized (recorded) {
      return List.copyOf(recorded);
    }
  }

  @Override
  public void reset() {
    totalRequests.set(0);
    completedStreams.set(0);
    faultedRequests.set(0);
    http2.opened.set(0);
    http1.opened.set(0);
    maxOpenConnections.set(openConnections.get());
    for (String key : keys.keySet()) {
      keys.computeIfPresent(key, (k, stats) -> stats.current.get() == 0 ? null : stats.reset());
    }
    synchronized (recorded) {
      recorded.clear();
    }
  }

  /** One request in flight for a key; {@link #release()} ends it once. Thread-safe. */
  public static final class Lease {
    private final KeyStats stats;
    private final AtomicBoolean released = new AtomicBoolean();

    private Lease(KeyStats stats) {
      this.stats = stats;
    }

    /** Ends the request; later calls do nothing. */
    public void release() {
      if (released.compareAndSet(false, true)) {
        stats.current.decrementAndGet();
      }
    }
  }

  /** Connections of one protocol: accepted since start or reset, and open now. */
  private static final class ConnectionCounts {
    final AtomicLong opened = new AtomicLong();
    final AtomicInteger open = new AtomicInteger();
  }

  /** Live numbers of one key. */
  private static final class KeyStats {
    final AtomicInteger current = new AtomicInteger();
    final AtomicInteger max = new AtomicInteger();
    private final ArrayDeque<Instant> starts = new ArrayDeque<>();

    void start(Instant at) {
      int now = current.incrementAndGet();
      max.accumulateAndGet(now, Math::max);
      synchronized (starts) {
        if (starts.size() == MAX_STARTS_PER_KEY) {
          starts.removeFirst();
        }
        starts.addLast(at);
      }
    }

    List<Instant> starts() {
      synchronized (starts) {
        return List.copyOf(starts);
      }
    }

    KeyStats reset() {
      max.set(current.get());
      synchronized (starts) {
        starts.clear();
      }
      return this;
    }
  }
}
