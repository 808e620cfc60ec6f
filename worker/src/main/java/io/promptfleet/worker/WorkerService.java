package io.promptfleet.worker;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.metrics.Registries;
import io.promptfleet.common.ops.OpsServer;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A worker with its operator endpoints ({@code /health/*}, {@code /metrics}). Thread-safe lifecycle. */
public final class WorkerService implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerService.class);
  private final Worker worker;
  private final HttpServer http;
  private final PrometheusMeterRegistry registry;

  private WorkerService(Worker worker, HttpServer http, PrometheusMeterRegistry registry) {
    this.worker = worker;
    this.http = http;
    this.registry = registry;
  }

  /**
   * The Vert.x instance a worker process runs on: Netty's native epoll transport where it is available (Linux
   * x86_64 and aarch64; elsewhere Vert.x falls back to NIO) and one event loop per core instead of two, since
   * nothing on a worker's event loops blocks. Measured together in steady state (bench/worker/README.md): about
   * a fifth less CPU per stream than NIO with the default loop count.
   */
  public static Vertx newVertx() {
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true)
        .setEventLoopPoolSize(Runtime.getRuntime().availableProcessors()));
    LOG.info("vert.x on {} transport, {} event loops", vertx.isNativeTransportEnabled() ? "native (epoll)" : "NIO",
        Runtime.getRuntime().availableProcessors());
    return vertx;
  }

  /**
   * Starts the worker's lanes and its HTTP endpoints on {@code httpPort}, tuned by the configuration's {@code worker}
   * settings; blocks until the endpoints listen.
   */
  public static WorkerService start(FleetConfig config, Vertx vertx, String workerId, int httpPort)
      throws Exception {
    return start(config, WorkerOptions.from(config.worker()), vertx, workerId, httpPort);
  }

  /** As {@link #start(FleetConfig, Vertx, String, int)}, with the worker's tuning. */
  public static WorkerService start(FleetConfig config, WorkerOptions options, Vertx vertx, String workerId,
      int httpPort) throws Exception {
    PrometheusMeterRegistry registry = Registries.prometheus("worker", workerId);
    Worker w = new Worker(config, options, vertx, registry, workerId, Clock.systemUTC());
    HttpServer http = OpsServer.start(vertx, "0.0.0.0", httpPort, registry, w::notReadyReason, null)
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    w.start();
    return new WorkerService(w, http, registry);
  }

  public Worker worker() {
    return worker;
  }

  public int httpPort() {
    return http.actualPort();
  }

  /** Graceful stop: no new work, in-flight streams get {@code grace} to finish, the rest go back to Kafka. */
  public void drain(Duration grace) {
    worker.drain(grace);
  }

  /**
   * Makes SIGTERM (and Ctrl-C) drain this worker and then exit the JVM with status 0 (the default would run hooks
   * and exit with 143): no new work, in-flight streams get {@code grace}, the rest go back to the share group.
   * Call once per process, from its main thread.
   */
  @SuppressWarnings("removal")
  public void exitZeroOnSigterm(Vertx vertx, Duration grace) {
    java.util.concurrent.atomic.AtomicBoolean once = new java.util.concurrent.atomic.AtomicBoolean();
    sun.misc.SignalHandler drainAndExit = sig -> {
      if (!once.compareAndSet(false, true)) {
        return;
      }
      Thread t = new Thread(() -> {
        LOG.info("SIG{}: draining worker {} (grace {} ms)", sig.getName(), worker.id(), grace.toMillis());
        drain(grace);
        close();
        vertx.close().toCompletionStage().toCompletableFuture().orTimeout(10, TimeUnit.SECONDS)
            .exceptionally(e -> null).join();
        System.exit(0);
      }, "pf-sigterm");
      t.start();
    };
    sun.misc.Signal.handle(new sun.misc.Signal("TERM"), drainAndExit);
    sun.misc.Signal.handle(new sun.misc.Signal("INT"), drainAndExit);
  }

  @Override
  public void close() {
    worker.close();
    http.close();
    registry.close();
  }
}
