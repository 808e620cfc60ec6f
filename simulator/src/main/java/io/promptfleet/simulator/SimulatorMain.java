package io.promptfleet.simulator;

import io.vertx.core.Vertx;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a {@link SimulatedProvider} as a standalone process, e.g. as the mock upstream of a benchmark:
 *
 * <pre>
 * PORT=18080 CHUNKS=50 TTFT_MS=0 TPS=0 java -cp ... io.promptfleet.simulator.SimulatorMain
 * java -cp ... io.promptfleet.simulator.SimulatorMain --port 18080 --chunks 50 --ttft-ms 0 --tps 0
 * </pre>
 *
 * <p>Settings (flag, else environment variable, else default): {@code --host}/{@code HOST} (127.0.0.1),
 * {@code --port}/{@code PORT} (18080), {@code --chunks}/{@code CHUNKS} completion tokens (24),
 * {@code --ttft-ms}/{@code TTFT_MS} delay before the first token (50), {@code --tps}/{@code TPS} tokens per
 * second, 0 = no delay (50). Prints {@code simulator listening on http://HOST:PORT/v1} once ready and runs
 * until the process is stopped.
 *
 * <p>Not instantiable; {@link #main} runs on the JVM's main thread and returns once the server listens
 * (Vert.x's non-daemon threads keep the process alive).
 */
public final class SimulatorMain {

  private static final Map<String, String> FLAG_TO_ENV = Map.of(
      "--host", "HOST", "--port", "PORT", "--chunks", "CHUNKS", "--ttft-ms", "TTFT_MS", "--tps", "TPS");

  private SimulatorMain() {}

  public static void main(String[] args) {
    SimulatorOptions options;
    try {
      options = optionsFrom(System.getenv(), args);
    } catch (IllegalArgumentException e) {
      System.err.println("simulator: " + e.getMessage());
      System.err.println("usage: SimulatorMain [--host H] [--port N] [--chunks N] [--ttft-ms N] [--tps X]");
      System.exit(2);
      return;
    }
    Vertx vertx = Vertx.vertx();
    SimulatedProvider provider;
    try {
      provider = SimulatedProvider.start(vertx, options).await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      System.err.println("simulator: cannot listen on " + options.host() + ":" + options.port() + ": " + e);
      vertx.close();
      System.exit(1);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        vertx.close().await(5, TimeUnit.SECONDS);
      } catch (Exception e) {
        // exiting anyway
      }
    }, "simulator-shutdown"));
    System.out.println("simulator listening on " + provider.baseUrl());
  }

  /**
   * The options named by environment variables and command-line flags (flags win), on top of
   * {@link SimulatorOptions#defaults()}.
   *
   * @throws IllegalArgumentException naming the setting when one is unknown, malformed or out of range
   */
  public static SimulatorOptions optionsFrom(Map<String, String> env, String... args) {
    Map<String, String> settings = new HashMap<>();
    for (String name : FLAG_TO_ENV.values()) {
      if (env.get(name) != null && !env.get(name).isBlank()) {
        settings.put(name, env.get(name).strip());
      }
    }
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String flag = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
      String name = FLAG_TO_ENV.get(flag.toLowerCase(Locale.ROOT));
      if (name == null) {
        throw new IllegalArgumentException("unknown option " + arg);
      }
      String value;
      if (arg.contains("=")) {
        value = arg.substring(arg.indexOf('=') + 1);
      } else if (i + 1 < args.length) {
        value = args[++i];
      } else {
        throw new IllegalArgumentException(flag + " needs a value");
      }
      settings.put(name, value.strip());
    }
    SimulatorOptions options = SimulatorOptions.defaults();
    if (settings.containsKey("HOST")) {
      options = options.withHost(settings.get("HOST"));
    }
    if (settings.containsKey("PORT")) {
      options = options.withPort(integer(settings, "PORT"));
    }
    if (settings.containsKey("CHUNKS")) {
      options = options.withDefaultCompletionTokens(integer(settings, "CHUNKS"));
    }
    if (settings.containsKey("TTFT_MS")) {
      options = options.withFirstTokenDelayMs(integer(settings, "TTFT_MS"));
    }
    if (settings.containsKey("TPS")) {
      try {
        options = options.withTokensPerSecond(Double.parseDouble(settings.get("TPS")));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("TPS must be a number, was '" + settings.get("TPS") + "'");
      }
    }
    return options;
  }

  private static int integer(Map<String, String> settings, String name) {
    try {
      return Integer.parseInt(settings.get(name));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be an integer, was '" + settings.get(name) + "'");
    }
  }
}
