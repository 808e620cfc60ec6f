package io.promptfleet.bench.worker;

import io.promptfleet.simulator.internal.SelfSignedTls;
import io.vertx.core.Context;
import io.vertx.core.Deployable;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.PfxOptions;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/**
 * An OpenAI-style SSE upstream paced by timers whose every content delta is the time it was sent, in epoch
 * microseconds: a reader of the reply topic computes the latency the worker added to each chunk. Plain, it speaks
 * HTTP/1.1 and HTTP/2 with prior knowledge (h2c); with a certificate, TLS with ALPN offering h2 and http/1.1. It
 * counts the connections it accepted (opened, open now, the peak, and by the protocol of their first request).
 * Thread-safe.
 */
final class PacedUpstream {
  /**
   * Asked of the kernel for the listening socket; Linux caps it at {@code net.core.somaxconn} (4096 on this
   * project's machine), so a burst of connects beyond that waits in SYN retransmits, not in this server.
   */
  static final int ACCEPT_BACKLOG = 65_535;

  private final AtomicInteger open = new AtomicInteger();
  private final AtomicInteger connectionsOpen = new AtomicInteger();
  private final AtomicInteger peakConnections = new AtomicInteger();
  private final AtomicLong connectionsOpened = new AtomicLong();
  private final Map<HttpVersion, LongAdder> byProtocol = new ConcurrentHashMap<>();
  /** Connections that have not carried a request yet (their protocol is counted with the first one). */
  private final Set<HttpConnection> unclassified = ConcurrentHashMap.newKeySet();
  private final int tokens;
  private final double tokensPerSecond;
  private final @Nullable SelfSignedTls tls;
  private final int maxStreamsPerConnection;

  /**
   * @param tls                     the server certificate (null: plain TCP)
   * @param maxStreamsPerConnection HTTP/2 {@code SETTINGS_MAX_CONCURRENT_STREAMS} this server announces
   */
  PacedUpstream(int tokens, double tokensPerSecond, @Nullable SelfSignedTls tls, int maxStreamsPerConnection) {
    this.tokens = tokens;
    this.tokensPerSecond = tokensPerSecond;
    this.tls = tls;
    this.maxStreamsPerConnection = maxStreamsPerConnection;
  }

  int openStreams() {
    return open.get();
  }

  int openConnections() {
    return connectionsOpen.get();
  }

  int peakConnections() {
    return peakConnections.get();
  }

  long connectionsOpened() {
    return connectionsOpened.get();
  }

  /** Connections that carried a request, by the HTTP version of their first one (e.g. {@code HTTP_2=100}). */
  Map<String, Long> connectionsByProtocol() {
    Map<String, Long> out = new TreeMap<>();
    byProtocol.forEach((v, n) -> out.put(v.name(), n.sum()));
    return out;
  }

  /**
   * Listens on {@code port} with one server per event loop of {@code vertx} (Vert.x spreads a shared port's
   * connections over them): TLS handshakes of thousands of connects would otherwise queue on one event loop.
   */
  Future<?> start(Vertx vertx, int port, int eventLoops) {
    HttpServerOptions options = new HttpServerOptions().setTcpNoDelay(true).setAcceptBacklog(ACCEPT_BACKLOG)
        .setInitialSettings(new Http2Settings().setMaxConcurrentStreams(maxStreamsPerConnection));
    if (tls != null) {
      options.setSsl(true).setUseAlpn(true).setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1))
          .setKeyCertOptions(new PfxOptions().setPath(tls.keyStore().toString()).setPassword(tls.password()));
    } else {
      options.setHttp2ClearTextEnabled(true);
    }
    // one deployed instance per event loop: servers created on the main thread would all share one loop
    return vertx.deployVerticle(() -> new Deployable() {
      @Override
      public Future<?> deploy(Context context) {
        return vertx.createHttpServer(options).connectionHandler(PacedUpstream.this::accepted).requestHandler(req -> {
          if (unclassified.remove(req.connection())) {
            byProtocol.computeIfAbsent(req.version(), v -> new LongAdder()).increment();
          }
          req.body().onSuccess(b -> stream(vertx, req.response()));
        }).listen(port, "127.0.0.1");
      }
    }, new DeploymentOptions().setInstances(eventLoops));
  }

  private void accepted(HttpConnection c) {
    connectionsOpened.incrementAndGet();
    peakConnections.accumulateAndGet(connectionsOpen.incrementAndGet(), Math::max);
    unclassified.add(c);
    c.closeHandler(v -> {
      connectionsOpen.decrementAndGet();
      unclassified.remove(c);
    });
  }

  static long nowMicros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
  }

  private void stream(Vertx vertx, HttpServerResponse resp) {
    resp.setChunked(true).putHeader("content-type", "text/event-stream");
    resp.write("data: {\"model\":\"paced\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
        + "\"content\":\"\"}}]}\n\n");
    open.incrementAndGet();
    long period = Math.max(1, Math.round(1000 / tokensPerSecond));
    int[] sent = {0};
    long timer = vertx.setPeriodic(period, id -> {
      if (resp.closed()) {
        vertx.cancelTimer(id);
        return;
      }
      resp.write("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + nowMicros() + "\"}}]}\n\n");
      if (++sent[0] >= tokens) {
        vertx.cancelTimer(id);
        resp.end("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
            + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":" + tokens
            + ",\"total_tokens\":" + (tokens + 1) + "}}\n\ndata: [DONE]\n\n");
      }
    });
    resp.closeHandler(v -> vertx.cancelTimer(timer));
    resp.endHandler(v -> open.decrementAndGet());
  }
}
