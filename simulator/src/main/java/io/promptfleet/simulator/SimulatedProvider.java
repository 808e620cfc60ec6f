package io.promptfleet.simulator;

import io.promptfleet.simulator.internal.DefaultBatchPlan;
import io.promptfleet.simulator.internal.DefaultFaultPlan;
import io.promptfleet.simulator.internal.ProviderRoutes;
import io.promptfleet.simulator.internal.SelfSignedTls;
import io.promptfleet.simulator.internal.StatsRecorder;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.PfxOptions;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Objects;

/**
 * A simulated OpenAI-compatible provider: an HTTP/1.1 and HTTP/2 server (h2c with prior knowledge on plain TCP;
 * over HTTPS, when asked, h2 or http/1.1 as the client chooses by ALPN) with {@code GET /v1/models} and
 * {@code POST /v1/chat/completions} (JSON or SSE), Azure OpenAI's chat completions paths, deterministic answers,
 * pacing by timers, and fault modes chosen per request by prompt directives ({@link Fault#toDirective()}) or by
 * {@link #faults()}. It also speaks Anthropic's Messages API at {@code POST /v1/messages} (key in {@code
 * x-api-key}): the same answers and faults as Anthropic's events (thinking, text, tool_use blocks, usage with cache
 * reads and writes), errors ({@code 529 overloaded_error}, a mid-stream {@code event: error}) and {@code
 * anthropic-ratelimit-*} headers; and the OpenAI Responses API at {@code POST /v1/responses}: the same answers and
 * faults in its request and event shapes. The providers' batch APIs are served too: OpenAI's Files and Batches
 * ({@code /v1/files}, {@code /v1/batches}) and Anthropic's Message Batches ({@code /v1/messages/batches}), their
 * timing and faults chosen by {@link #batches()}.
 *
 * <pre>{@code
 * SimulatedProvider sim = SimulatedProvider.start(vertx, SimulatorOptions.defaults().withPort(0))
 *     .toCompletionStage().toCompletableFuture().join();
 * String url = sim.baseUrl() + "/chat/completions";
 * }</pre>
 *
 * <p>Thread-safe. Requests are served on the Vert.x event loop of the context that called
 * {@link #start} (a new event-loop context when called from a non-Vert.x thread); the returned futures
 * complete on that context. Nothing in the request path blocks.
 */
public final class SimulatedProvider {

  private final HttpServer server;
  private final SimulatorOptions options;
  private final StatsRecorder stats;
  private final DefaultFaultPlan faults;
  private final DefaultBatchPlan batches;
  private final SelfSignedTls tls;

  private SimulatedProvider(HttpServer server, SimulatorOptions options, StatsRecorder stats,
      DefaultFaultPlan faults, DefaultBatchPlan batches, SelfSignedTls tls) {
    this.server = server;
    this.options = options;
    this.stats = stats;
    this.faults = faults;
    this.batches = batches;
    this.tls = tls;
  }

  /**
   * Starts a provider; {@code options.port() == 0} binds an ephemeral port (see {@link #port()}). With {@link
   * SimulatorOptions#tls()} it first generates its certificate on a worker thread (about half a second).
   *
   * @return a future completed with the listening provider, or failed if the port cannot be bound
   */
  public static Future<SimulatedProvider> start(Vertx vertx, SimulatorOptions options) {
    Objects.requireNonNull(vertx, "vertx");
    Objects.requireNonNull(options, "options");
    StatsRecorder stats = new StatsRecorder(Clock.systemUTC());
    DefaultFaultPlan faults = new DefaultFaultPlan();
    DefaultBatchPlan batches = new DefaultBatchPlan();
    Future<SelfSignedTls> tls = options.tls()
        ? vertx.executeBlocking(() -> SelfSignedTls.generate(options.host()), false)
        : Future.succeededFuture();
    return tls.compose(cert -> {
      // HTTP/1.1 and HTTP/2: h2c by prior knowledge (or upgrade) on plain TCP, h2 or http/1.1 by ALPN over TLS.
      HttpServerOptions serverOptions = new HttpServerOptions().setHttp2ClearTextEnabled(true)
          .setInitialSettings(new Http2Settings().setMaxConcurrentStreams(options.http2MaxStreams()));
      if (cert != null) {
        serverOptions.setSsl(true).setUseAlpn(true).setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1))
            .setKeyCertOptions(new PfxOptions().setPath(cert.keyStore().toString()).setPassword(cert.password()));
      }
      return vertx.createHttpServer(serverOptions)
          .connectionHandler(stats::connectionOpened)
          .requestHandler(ProviderRoutes.router(vertx, options, stats, faults, batches))
          .listen(options.port(), options.host())
          .map(server -> new SimulatedProvider(server, options, stats, faults, batches, cert))
          .onFailure(e -> {
            if (cert != null) {
              cert.delete();
            }
          });
    });
  }

  /** The bound port (the actual one when started with port 0). */
  public int port() {
    return server.actualPort();
  }

  /** The OpenAI base URL, e.g. {@code http://127.0.0.1:18080/v1}; a wildcard host is shown as 127.0.0.1. */
  public String baseUrl() {
    return origin() + "/v1";
  }

  /**
   * Scheme, host and port, e.g. {@code https://127.0.0.1:18080}: an Azure OpenAI resource endpoint (deployment
   * URLs below {@code /openai/deployments/}, the v1 API below {@code /openai/v1}).
   */
  public String origin() {
    String host = options.host();
    if (host.equals("0.0.0.0") || host.equals("::") || host.equals("0:0:0:0:0:0:0:0")) {
      host = "127.0.0.1";
    } else if (host.contains(":")) {
      host = "[" + host + "]";
    }
    return (tls != null ? "https://" : "http://") + host + ":" + port();
  }

  /**
   * The PEM file of the self-signed certificate an HTTPS simulator serves, for clients to trust (e.g. a provider's
   * {@code tls.ca_file}); null for a plain-HTTP simulator. Deleted by {@link #close()}.
   */
  public Path caFile() {
    return tls == null ? null : tls.pemFile();
  }

  /** The options the provider was started with. */
  public SimulatorOptions options() {
    return options;
  }

  /** Live counters; see {@link SimulatorStats}. */
  public SimulatorStats stats() {
    return stats;
  }

  /** Shortcut for {@code stats().recentRequests()}. */
  public List<RecordedRequest> recentRequests() {
    return stats.recentRequests();
  }

  /** Faults registered by the test or benchmark; see {@link FaultPlan}. */
  public FaultPlan faults() {
    return faults;
  }

  /**
   * How the batch APIs behave (phase durations, completion window, limits, endpoint faults); see {@link BatchPlan}
   * and {@link BatchBehaviour}.
   */
  public BatchPlan batches() {
    return batches;
  }

  /** Stops listening and closes every open connection, stalled streams included. */
  public Future<Void> close() {
    return server.close().onComplete(v -> {
      if (tls != null) {
        tls.delete();
      }
    });
  }
}
