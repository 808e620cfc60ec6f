package io.promptfleet.dispatcher.it;

import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.dispatcher.DispatcherService;
import io.vertx.core.Vertx;
import java.nio.file.Path;

/**
 * A dispatcher in its own JVM, for tests that kill it with SIGKILL. Arguments: the YAML file and an instance id.
 * Prints {@code ACTIVE} once it holds the job partitions.
 */
public final class DispatcherChild {
  private DispatcherChild() {}

  public static void main(String[] args) throws Exception {
    FleetConfig config = ConfigLoader.load(Path.of(args[0]));
    DispatcherService d = DispatcherService.start(config, Vertx.vertx(), args[1]);
    while (!d.dispatcher().isActive()) {
      if (d.dispatcher().failure() != null) {
        System.out.println("FAILED " + d.dispatcher().failure());
        System.exit(1);
      }
      Thread.sleep(20);
    }
    System.out.println("ACTIVE");
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
