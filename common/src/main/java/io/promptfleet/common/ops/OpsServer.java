package io.promptfleet.common.ops;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Serves {@code /health/live}, {@code /health/ready} and {@code /metrics} (Prometheus text format) for one
 * process. Handlers run on the server's event loop and never block: readiness is a cheap supplier and the scrape
 * reads meters only.
 */
public final class OpsServer {
  private OpsServer() {}

  /**
   * @param readiness returns null when ready, else the reason it is not
   * @param extra     adds process-specific routes (may be null)
   */
  public static Future<HttpServer> start(Vertx vertx, String host, int port, PrometheusMeterRegistry registry,
      Supplier<String> readiness, Consumer<Router> extra) {
    Router router = Router.router(vertx);
    router.get("/health/live").handler(ctx -> ctx.response()
        .putHeader("content-type", "application/json").end(new JsonObject().put("status", "up").encode()));
    router.get("/health/ready").handler(ctx -> {
      String notReady = readiness.get();
      ctx.response().setStatusCode(notReady == null ? 200 : 503)
          .putHeader("content-type", "application/json")
          .end(new JsonObject().put("status", notReady == null ? "ready" : "not_ready")
              .put("reason", notReady).encode());
    });
    router.get("/metrics").handler(ctx -> ctx.response()
        .putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8")
        .end(registry.scrape()));
    if (extra != null) {
      extra.accept(router);
    }
    // HTTP/1.1 only: Prometheus, probes and browsers never ask for cleartext HTTP/2, and Java's HttpClient (which
    // does, by an h2c upgrade) intermittently failed or hung on a /metrics body above ~40 KB with it enabled.
    return vertx.createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(false)).requestHandler(router)
        .listen(port, host);
  }
}
