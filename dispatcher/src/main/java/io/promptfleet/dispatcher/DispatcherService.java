package io.promptfleet.dispatcher;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.metrics.Registries;
import io.promptfleet.common.ops.OpsServer;
import io.promptfleet.dispatcher.status.StatusRoutes;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.time.Clock;
import java.util.concurrent.TimeUnit;

/**
 * A dispatcher with its operator endpoints ({@code /health/*}, {@code /metrics}) on {@code dispatcher.http_port}.
 * Thread-safe lifecycle.
 */
public final class DispatcherService implements AutoCloseable {
  private final Dispatcher dispatcher;
  private final HttpServer http;
  private final PrometheusMeterRegistry registry;

  private DispatcherService(Dispatcher dispatcher, HttpServer http, PrometheusMeterRegistry registry) {
    this.dispatcher = dispatcher;
    this.http = http;
    this.registry = registry;
  }

  /** Starts the dispatcher thread and its HTTP endpoints; blocks until the endpoints listen. */
  public static DispatcherService start(FleetConfig config, Vertx vertx, String instanceId) throws Exception {
    PrometheusMeterRegistry registry = Registries.prometheus("dispatcher", instanceId);
    Dispatcher d = new Dispatcher(config, registry, Clock.systemUTC(), instanceId);
    HttpServer http = OpsServer.start(vertx, "0.0.0.0", config.dispatcher().httpPort(), registry,
        () -> d.failure() != null ? "failed: " + d.failure() : d.isActive() ? null : "not active yet",
        router -> StatusRoutes.mount(router, d::status))
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    d.start();
    return new DispatcherService(d, http, registry);
  }

  public Dispatcher dispatcher() {
    return dispatcher;
  }

  public int httpPort() {
    return http.actualPort();
  }

  @Override
  public void close() {
    dispatcher.close();
    http.close();
    registry.close();
  }
}
