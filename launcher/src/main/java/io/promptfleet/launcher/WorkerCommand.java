package io.promptfleet.launcher;

import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.worker.WorkerService;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code promptfleet worker --config FILE}: one worker process; scale by running more. */
@Command(name = "worker", mixinStandardHelpOptions = true,
    description = "Run a worker. SIGTERM drains it: no new work, streams get the grace period, the rest go back.")
final class WorkerCommand implements Callable<Integer> {
  @Option(names = "--config", required = true, description = "the fleet's YAML configuration")
  Path config;

  @Option(names = "--grace", description = "drain grace period, e.g. 30s (default: worker.drain_grace_ms, 30s)")
  String grace;

  @Override
  public Integer call() throws Exception {
    FleetConfig cfg = Configs.load(config, null);
    Duration g = grace == null ? Duration.ofMillis(cfg.worker().drainGraceMs()) : Durations.parse(grace);
    Vertx vertx = WorkerService.newVertx();
    String id = "worker-" + InetAddress.getLocalHost().getHostName() + "-" + UUID.randomUUID().toString()
        .substring(0, 6);
    WorkerService svc = WorkerService.start(cfg, vertx, id, cfg.worker().httpPort());
    svc.exitZeroOnSigterm(vertx, g); // SIGTERM or Ctrl-C: drain, hand the rest back, exit 0
    System.out.println(id + " running; metrics on :" + svc.httpPort() + "/metrics");
    new CountDownLatch(1).await();
    return 0;
  }
}
