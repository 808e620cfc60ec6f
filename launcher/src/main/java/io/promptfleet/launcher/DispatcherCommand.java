package io.promptfleet.launcher;

import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.kafka.TopicAdmin;
import io.promptfleet.dispatcher.DispatcherService;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code promptfleet dispatcher --config FILE}: one dispatcher process. */
@Command(name = "dispatcher", mixinStandardHelpOptions = true,
    description = "Run a dispatcher (one is active; more stand by and take over).")
final class DispatcherCommand implements Callable<Integer> {
  @Option(names = "--config", required = true, description = "the fleet's YAML configuration")
  Path config;

  @Override
  public Integer call() throws Exception {
    FleetConfig cfg = Configs.load(config, null);
    TopicAdmin.ensureFleetTopics(cfg);
    Vertx vertx = Vertx.vertx();
    DispatcherService svc = DispatcherService.start(cfg, vertx, "dispatcher-" + UUID.randomUUID().toString()
        .substring(0, 8));
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      svc.close();
      vertx.close();
      done.countDown();
    }, "pf-shutdown"));
    System.out.println("dispatcher running; metrics on :" + svc.httpPort() + "/metrics");
    done.await();
    return 0;
  }
}
