package io.promptfleet.worker.it;

import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.worker.WorkerOptions;
import io.promptfleet.worker.WorkerService;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;

/**
 * A worker in a process of its own, for tests that kill it: {@code WorkerChild <config.yaml> <worker-id>
 * <grace-ms>}. Prints {@code READY} on standard output once ready; SIGTERM drains and exits 0.
 */
public final class WorkerChild {
  private WorkerChild() {}

  public static void main(String[] args) throws Exception {
    FleetConfig config = ConfigLoader.parse(Files.readString(Path.of(args[0])), Map.of(), new Properties());
    Duration grace = Duration.ofMillis(Long.parseLong(args[2]));
    Vertx vertx = Vertx.vertx();
    WorkerService svc = WorkerService.start(config, WorkerOptions.defaults().withDrainGrace(grace), vertx, args[1], 0);
    svc.exitZeroOnSigterm(vertx, grace);
    long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (svc.worker().notReadyReason() != null && System.nanoTime() < until) {
      Thread.sleep(50);
    }
    System.out.println(svc.worker().notReadyReason() == null ? "READY" : "NOT READY");
    System.out.flush();
    Thread.currentThread().join();
  }
}
