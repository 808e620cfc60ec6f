package io.promptfleet.dispatcher.it;

import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.dispatcher.DispatcherService;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A dispatcher in its own JVM, for tests that kill it with SIGKILL: {@link #launch} starts one on a fleet's YAML
 * and waits until it is active. {@link #main} is the child's side: arguments the YAML file and an instance id;
 * prints {@code ACTIVE} once it holds the job partitions.
 */
public final class DispatcherChild implements AutoCloseable {
  private final Process process;
  private final Path yaml;
  private final Path log;

  private DispatcherChild(Process process, Path yaml, Path log) {
    this.process = process;
    this.yaml = yaml;
    this.log = log;
  }

  /**
   * Starts a dispatcher of {@code fleet}'s group in a JVM of its own (the keys' secrets as system properties,
   * instance id {@code <prefix>-<name>}) and waits until it is active (an assertion error with its output when it
   * dies or is not active within {@code timeout}).
   */
  static DispatcherChild launch(Fleet fleet, String name, Duration timeout) throws Exception {
    Path yaml = Files.createTempFile("pf-child", ".yaml");
    Files.writeString(yaml, fleet.yaml);
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path")));
    fleet.secrets.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
    cmd.addAll(List.of(DispatcherChild.class.getName(), yaml.toString(), fleet.prefix + "-" + name));
    Path log = Files.createTempFile("pf-child", ".log");
    DispatcherChild child = new DispatcherChild(new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start(), yaml, log);
    try {
      long until = System.nanoTime() + timeout.toNanos();
      while (!Files.readString(log).contains("ACTIVE")) {
        if (!child.process.isAlive() || System.nanoTime() > until) {
          throw new AssertionError("child dispatcher not active within " + timeout + " (alive: "
              + child.process.isAlive() + "): " + Files.readString(log));
        }
        Thread.sleep(50);
      }
      return child;
    } catch (Exception | AssertionError e) {
      child.close();
      throw e;
    }
  }

  /** SIGKILL, and waits until the process is gone: nothing of it is flushed or closed. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor();
  }

  /** Kills the child if it still runs and deletes its files. */
  @Override
  public void close() throws IOException, InterruptedException {
    kill();
    Files.deleteIfExists(yaml);
    Files.deleteIfExists(log);
  }

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
