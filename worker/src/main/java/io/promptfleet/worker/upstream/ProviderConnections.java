package io.promptfleet.worker.upstream;

import io.promptfleet.common.config.ConnectionSettings;
import io.promptfleet.common.job.ProviderConnectionStats;
import io.promptfleet.worker.metrics.WorkerMetrics;
import io.promptfleet.worker.metrics.WorkerMetrics.Spec;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The connections of one worker to one provider: its pooled HTTP client ({@link ProviderClients}), and in front of
 * it a gate that lets at most {@code max_pending_connects} requests wait for a connection at once.
 *
 * <p><b>Why a gate.</b> The pool opens a connection for every request that finds none free, all at once: a worker
 * that acquired 10,000 assignments opened 10,000 connections to one host in the same instant, the host's accept
 * queue overflowed, SYNs were dropped and retransmitted, and 6–9 % of the connects ran into the 10 s connect
 * timeout (bench/worker/README.md). A request that finds a warm connection (an idle HTTP/1.1 one, or an HTTP/2 one
 * with a free stream) leaves the gate at once; one that needs a new connection holds its place for the TCP connect
 * and TLS handshake. So the gate paces connects by their own completion, never more than {@code
 * max_pending_connects} in progress per provider, and a request's connect timeout starts when it leaves the gate,
 * not while it waits its turn in the worker.
 *
 * <p><b>Whose failure.</b> A failed connect is the provider's ({@code connect_failed}: it counts against the route's
 * breaker) unless the worker's own overload explains it ({@link ConnectFailure#local()}): the host completed other
 * connects of this worker while this one waited, the pool was at its cap (the wait was for a free connection), or
 * the operating system ran out of ports or file descriptors. Those are retried as {@code connect_overloaded},
 * which stops no route and cools down no key.
 *
 * <p>Meters per provider: connections open and opened, streams in flight and per connection, requests waiting for a
 * connect slot, connects in progress, the time a request took to get a new connection (TCP connect, TLS handshake
 * and, over TLS, ALPN), and connect failures by cause. The worker's heartbeats carry the same counts ({@link
 * #stats}), from which the dispatcher's status shows them per provider for the whole fleet.
 *
 * <p>Thread-safe: requests come from every event loop. Each request's callbacks run on the context that asked.
 */
public final class ProviderConnections implements AutoCloseable {
  private final String provider;
  private final HttpClientAgent client;
  private final int maxPending;
  private final int maxConnections;
  /** Streams one HTTP/2 connection carries at most ({@code max_streams_per_connection}). */
  private final int http2StreamLimit;
  private final LongSupplier nanos;
  private final ConnectWarnings warnings;
  private final Timer connectTime;
  private final WorkerMetrics metrics;

  /** Requests between leaving the gate and having a connection (or failing to get one). */
  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicInteger peakPending = new AtomicInteger();
  private final Queue<Waiter> waiters = new ConcurrentLinkedQueue<>();
  private final AtomicInteger waiting = new AtomicInteger();
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicLong opened = new AtomicLong();
  private final AtomicInteger streams = new AtomicInteger();
  private final AtomicInteger http2 = new AtomicInteger();
  /** Summed time of the connects the first requests on new connections waited for (for {@link #stats()}). */
  private final AtomicLong connectNanos = new AtomicLong();
  private final AtomicLong connectsTimed = new AtomicLong();
  private final AtomicLong failedProvider = new AtomicLong();
  private final AtomicLong failedLocal = new AtomicLong();
  /** Connections established and not yet given to a request: the first request on one took a new connection. */
  private final Set<HttpConnection> fresh = ConcurrentHashMap.newKeySet();
  /** Open connections that speak HTTP/2 (known from their first request). */
  private final Set<HttpConnection> speaksHttp2 = ConcurrentHashMap.newKeySet();

  private record Waiter(Context context, RequestOptions options, Promise<HttpClientRequest> promise) {}

  /**
   * @param metrics the worker's meters (null: none)
   */
  ProviderConnections(String provider, Vertx vertx, HttpClientAgentFactory clients, ConnectionSettings settings,
      int maxConnections, WorkerMetrics metrics, LongSupplier nanos) {
    this.provider = provider;
    this.maxPending = settings.maxPendingConnects();
    this.maxConnections = maxConnections;
    this.http2StreamLimit = settings.maxStreamsPerConnection();
    this.nanos = nanos;
    this.metrics = metrics;
    this.warnings = new ConnectWarnings(provider, 30_000, () -> TimeUnit.NANOSECONDS.toMillis(nanos.getAsLong()));
    this.client = clients.create(this::connected);
    if (metrics != null) {
      metrics.gauge(Spec.PROVIDER_CONNECTIONS_OPEN, open, AtomicInteger::get, provider);
      metrics.gauge(Spec.PROVIDER_STREAMS, streams, AtomicInteger::get, provider);
      metrics.gauge(Spec.PROVIDER_STREAMS_PER_CONNECTION, this, ProviderConnections::streamsPerConnection, provider);
      metrics.gauge(Spec.PROVIDER_CONNECTS_PENDING, pending, AtomicInteger::get, provider);
      metrics.gauge(Spec.PROVIDER_CONNECTS_WAITING, waiting, AtomicInteger::get, provider);
      this.connectTime = metrics.timer(Spec.PROVIDER_CONNECT_TIME, provider);
    } else {
      this.connectTime = null;
    }
  }

  /** How the pooled client is made: with the handler this class must see every new connection with. */
  @FunctionalInterface
  interface HttpClientAgentFactory {
    HttpClientAgent create(io.vertx.core.Handler<HttpConnection> onConnect);
  }

  /**
   * A request on a connection to this provider, when one is free or once a new one is open; the future fails with
   * a {@link ConnectFailure} when none could be had. Call on the event loop that will drive the exchange.
   */
  public Future<HttpClientRequest> request(RequestOptions options) {
    Context context = Vertx.currentContext();
    if (context == null) {
      throw new IllegalStateException("ProviderConnections.request must run on a Vert.x context");
    }
    Promise<HttpClientRequest> promise = Promise.promise();
    Waiter w = new Waiter(context, options, promise);
    if (spareHttp2Stream()) {
      start(w, false);
    } else if (tryEnter()) {
      start(w, true);
    } else {
      waiting.incrementAndGet();
      waiters.add(w);
      admitWaiting();
    }
    return promise.future();
  }

  private boolean tryEnter() {
    while (true) {
      int p = pending.get();
      if (p >= maxPending) {
        return false;
      }
      if (pending.compareAndSet(p, p + 1)) {
        peakPending.accumulateAndGet(p + 1, Math::max);
        return true;
      }
    }
  }

  /**
   * Whether an open HTTP/2 connection has a free stream for one more request: then it needs no connect, and does
   * not wait in the gate (measured: with every request through the gate, 30 HTTP/2 connections with room for all
   * took new streams at ~140/s on a loaded 2-core machine, 32 at a time).
   */
  private boolean spareHttp2Stream() {
    int h2 = http2.get();
    return h2 > 0 && h2 == open.get() && streams.get() + pending.get() < (long) h2 * http2StreamLimit;
  }

  /** Lets waiting requests through while there is room (a request just added itself, or one left). */
  private void admitWaiting() {
    while (!waiters.isEmpty()) {
      boolean gated;
      if (spareHttp2Stream()) {
        gated = false;
      } else if (tryEnter()) {
        gated = true;
      } else {
        return;
      }
      Waiter w = waiters.poll();
      if (w == null) {
        if (gated) {
          pending.decrementAndGet();
        }
        continue;
      }
      waiting.decrementAndGet();
      w.context().runOnContext(v -> start(w, gated));
    }
  }

  /** Asks the pool for a connection ({@code gated}: holding a place in the gate, given back when it answers). */
  private void start(Waiter w, boolean gated) {
    long t0 = nanos.getAsLong();
    long establishedBefore = opened.get();
    // the worker was crowding the host: its pool at the cap, or the gate full with more waiting behind it
    boolean crowded = open.get() >= maxConnections || gated && (pending.get() >= maxPending || waiting.get() > 0);
    client.request(w.options()).onComplete(ar -> {
      if (gated) {
        pending.decrementAndGet();
      }
      admitWaiting();
      if (ar.succeeded()) {
        HttpClientRequest req = ar.result();
        if (fresh.remove(req.connection())) {
          firstOnConnection(req, t0);
        }
        streams.incrementAndGet();
        req.response().onComplete(rr -> {
          if (rr.failed()) {
            streams.decrementAndGet();
          } else {
            rr.result().end().onComplete(e -> streams.decrementAndGet());
          }
        });
        w.promise().complete(req);
      } else {
        ConnectFailure f = classify(ar.cause(), opened.get() > establishedBefore, crowded);
        (f.local() ? failedLocal : failedProvider).incrementAndGet();
        if (metrics != null) {
          metrics.counter(Spec.PROVIDER_CONNECT_FAILURES, provider, f.cause(), Boolean.toString(f.local())).increment();
        }
        warnings.failed(f, pending.get() + waiting.get());
        w.promise().fail(f);
      }
    });
  }

  /** A new connection (the pool's connect handler, on the connection's event loop). */
  private void connected(HttpConnection c) {
    open.incrementAndGet();
    opened.incrementAndGet();
    fresh.add(c);
    c.closeHandler(v -> {
      open.decrementAndGet();
      fresh.remove(c);
      if (speaksHttp2.remove(c)) {
        http2.decrementAndGet();
      }
    });
  }

  /** The first request on a new connection: what it took, and which protocol the connection speaks. */
  private void firstOnConnection(HttpClientRequest req, long t0) {
    boolean h2 = req.version() == HttpVersion.HTTP_2;
    if (h2 && speaksHttp2.add(req.connection())) {
      http2.incrementAndGet();
    }
    long took = nanos.getAsLong() - t0;
    connectNanos.addAndGet(took);
    connectsTimed.incrementAndGet();
    if (metrics != null) {
      connectTime.record(took, TimeUnit.NANOSECONDS);
      metrics.counter(Spec.PROVIDER_CONNECTIONS_OPENED, provider, h2 ? "h2" : "http/1.1").increment();
    }
  }

  /**
   * Whose failure a failed connect is: the worker's when the connect ran out of time while the provider answered
   * other connects of this worker, or while the worker crowded it (its pool at the cap, or its connect gate full
   * with more requests waiting: a burst of connects the worker's own CPU may not keep up with), or when the machine
   * ran out of local resources.
   */
  static ConnectFailure classify(Throwable cause, boolean othersConnected, boolean crowded) {
    String kind = ConnectFailure.causeOf(cause);
    boolean local = ConnectFailure.LOCAL_RESOURCES.equals(kind)
        || ConnectFailure.TIMEOUT.equals(kind) && (othersConnected || crowded);
    return new ConnectFailure(kind, local, cause);
  }

  private double streamsPerConnection() {
    int o = open.get();
    return o == 0 ? 0 : (double) streams.get() / o;
  }

  /** The provider's name. */
  public String provider() {
    return provider;
  }

  /** Connections open now. */
  public int openConnections() {
    return open.get();
  }

  /** Connections opened since start (HTTP/1.1 and HTTP/2). */
  public long connectionsOpened() {
    return opened.get();
  }

  /** Open connections that speak HTTP/2. */
  public int http2Connections() {
    return http2.get();
  }

  /** Requests in the gate or at the pool, waiting for a connection. */
  public int waitingForConnection() {
    return waiting.get() + pending.get();
  }

  /** The most requests that waited at the pool for a connection at once (never above max_pending_connects). */
  public int peakPendingConnects() {
    return peakPending.get();
  }

  /** Streams (exchanges) in flight on this provider's connections. */
  public int streams() {
    return streams.get();
  }

  /**
   * Requests that got no connection since start: the provider's failures ({@code connect_failed}) when
   * {@code local} is false, the worker's own overload ({@code connect_overloaded}) when true.
   */
  public long connectFailures(boolean local) {
    return (local ? failedLocal : failedProvider).get();
  }

  /** Summed time, since start, that first requests on new connections waited for them (TCP, TLS, ALPN). */
  public long connectTimeNanos() {
    return connectNanos.get();
  }

  /** Connects whose time is in {@link #connectTimeNanos()}. */
  public long connectsTimed() {
    return connectsTimed.get();
  }

  /** All of the above at once, as a heartbeat reports it (each value read on its own, not one consistent cut). */
  public ProviderConnectionStats stats() {
    return new ProviderConnectionStats(provider, open.get(), http2.get(), streams.get(), waitingForConnection(),
        opened.get(), connectsTimed.get(), TimeUnit.NANOSECONDS.toMicros(connectNanos.get()), failedProvider.get(),
        failedLocal.get());
  }

  @Override
  public void close() {
    client.close();
  }
}
