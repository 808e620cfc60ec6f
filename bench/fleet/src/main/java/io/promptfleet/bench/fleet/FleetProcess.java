package io.promptfleet.bench.fleet;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One dispatcher or worker of the fleet in a JVM of its own, started from the launcher's main class ({@code
 * io.promptfleet.launcher.Main dispatcher|worker --config F}) on this JVM's class path, or on the one the
 * environment variable {@code FLEET_CP} names (another build's launcher classes and dependencies: a baseline run by
 * this tree's harness, bench/fleet/README.md), with the keys' secrets in its environment. Its standard error (the
 * log) goes to {@code <name>.log} in the run directory; its standard output is read for the line naming its
 * metrics port, through which {@link #ready()} asks {@code /health/ready}.
 *
 * <p>Thread-safe for reads; one thread should control its life.
 */
final class FleetProcess {
  /** Options of each fleet JVM: a small heap, and the C1 compiler only, which halves the start on 2 cores. */
  static final List<String> JVM_OPTIONS = List.of("-Xms64m", "-Xmx256m", "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1", "-XX:+ExitOnOutOfMemoryError");
  /**
   * The environment variable naming the fleet processes' class path; unset or blank: this JVM's. Only the
   * dispatchers and workers run on it; the brokers, the simulator and the load stay this build's.
   */
  static final String CLASS_PATH_ENV = "FLEET_CP";
  private static final Pattern PORT = Pattern.compile("metrics on :(\\d+)/metrics");
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

  final String name;
  final String role;
  private final Process process;
  private final CompletableFuture<Integer> port = new CompletableFuture<>();

  private FleetProcess(String name, String role, Process process) {
    this.name = name;
    this.role = role;
    this.process = process;
    Thread reader = new Thread(() -> {
      try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
          StandardCharsets.UTF_8))) {
        for (String line; (line = out.readLine()) != null; ) {
          Matcher m = PORT.matcher(line);
          if (m.find()) {
            port.complete(Integer.parseInt(m.group(1)));
          }
        }
      } catch (IOException e) {
        // the process died; its log says why
      }
      port.completeExceptionally(new IllegalStateException(name + " exited before naming its port"));
    }, name + "-stdout");
    reader.setDaemon(true);
    reader.start();
  }

  /**
   * Starts {@code role} ("dispatcher" or "worker") with {@code config}; {@code env} holds the keys' secrets.
   */
  static FleetProcess start(String role, String name, Path config, Map<String, String> env, Path logDir)
      throws IOException {
    return start(role, name, config, env, logDir, JVM_OPTIONS);
  }

  /** As {@link #start(String, String, Path, Map, Path)} with the JVM's options given. */
  static FleetProcess start(String role, String name, Path config, Map<String, String> env, Path logDir,
      List<String> jvmOptions) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-cp", classPath(), "io.promptfleet.launcher.Main", role,
        "--config", config.toString()));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().putAll(env);
    pb.redirectError(ProcessBuilder.Redirect.appendTo(logDir.resolve(name + ".log").toFile()));
    return new FleetProcess(name, role, pb.start());
  }

  /** The fleet processes' class path: {@value #CLASS_PATH_ENV} when set, else this JVM's. */
  static String classPath() {
    String cp = System.getenv(CLASS_PATH_ENV);
    return cp == null || cp.isBlank() ? System.getProperty("java.class.path") : cp;
  }

  /** What the fleet runs, for a report: this build's classes, or the first entry of {@value #CLASS_PATH_ENV}. */
  static String classPathLabel() {
    String cp = System.getenv(CLASS_PATH_ENV);
    return cp == null || cp.isBlank() ? "this build's classes"
        : CLASS_PATH_ENV + " (" + cp.split(File.pathSeparator, 2)[0] + " ...)";
  }

  long pid() {
    return process.pid();
  }

  boolean alive() {
    return process.isAlive();
  }

  /** True when {@code /health/ready} answers 200: a worker polls, a dispatcher is the active one. */
  boolean ready() {
    if (!port.isDone() || port.isCompletedExceptionally() || !process.isAlive()) {
      return false;
    }
    try {
      HttpResponse<Void> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port.join()
          + "/health/ready")).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
      return r.statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Waits until {@link #ready()}; throws if the process dies or the timeout passes. */
  FleetProcess awaitReady(Duration timeout) throws InterruptedException {
    long until = System.nanoTime() + timeout.toNanos();
    while (!ready()) {
      if (!process.isAlive()) {
        throw new IllegalStateException(name + " exited with " + process.exitValue() + " before it was ready");
      }
      if (System.nanoTime() > until) {
        throw new IllegalStateException(name + " not ready within " + timeout.toSeconds() + " s");
      }
      Thread.sleep(100);
    }
    return this;
  }

  /** kill -9, and waits until it is gone. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** SIGTERM (a worker drains, hands back what outlives its grace and exits 0); waits up to {@code timeout}. */
  int terminate(Duration timeout) throws InterruptedException {
    process.destroy();
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      return -1;
    }
    return process.exitValue();
  }

  @Override
  public String toString() {
    return name + "(pid " + process.pid() + ")";
  }
}
