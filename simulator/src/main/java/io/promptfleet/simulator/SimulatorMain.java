package io.promptfleet.simulator;

import io.vertx.core.Vertx;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

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
 * second, 0 = no delay (50), {@code --tls}/{@code TLS} {@code true} to serve HTTPS with a generated self-signed
 * certificate (false), {@code --http2-max-streams}/{@code HTTP2_MAX_STREAMS} the HTTP/2 {@code
 * SETTINGS_MAX_CONCURRENT_STREAMS} announced to clients (100), {@code --rate-limit-requests}/{@code
 * RATE_LIMIT_REQUESTS} and {@code --rate-limit-tokens}/{@code RATE_LIMIT_TOKENS} the per-key, per-minute limits its
 * {@code x-ratelimit-*} headers report (10,000 and 2,000,000). It speaks HTTP/1.1 and HTTP/2 (h2c with prior
 * knowledge in the clear; h2 or http/1.1 by ALPN over TLS). Prints {@code simulator listening on http://HOST:PORT/v1} once ready (with TLS, also the
 * PEM file to trust) and runs until the process is stopped.
 *
 * <p>Not instantiable; {@link #main} runs on the JVM's main thread and returns once the server listens
 * (Vert.x's non-daemon threads keep the process alive).
 */
public final class SimulatorMain {

  private static final Map<String, String> FLAG_TO_ENV = Map.of(
      "--host", "HOST", "--port", "PORT", "--chunks", "CHUNKS", "--ttft-ms", "TTFT_MS", "--tps", "TPS",
      "--tls", "TLS", "--http2-max-streams", "HTTP2_MAX_STREAMS", "--rate-limit-requests", "RATE_LIMIT_REQUESTS",
      "--rate-limit-tokens", "RATE_LIMIT_TOKENS");

  private SimulatorMain() {}

  public static void main(String[] args) {
    SimulatorOptions options;
    try {
      options = optionsFrom(System.getenv(), args);
    } catch (IllegalArgumentException e) {
      System.err.println("simulator: " + e.getMessage());
      System.err.println("usage: SimulatorMain [--host H] [--port N] [--chunks N] [--ttft-ms N] [--tps X]"
          + " [--tls true|false] [--http2-max-streams N] [--rate-limit-requests N] [--rate-limit-tokens N]");
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
    if (provider.caFile() != null) {
      System.out.println("simulator certificate (trust it, e.g. providers.NAME.tls.ca_file): " + provider.caFile());
    }
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
    options = apply(settings, "HOST", options, (o, v) -> o.withHost(v));
    options = apply(settings, "PORT", options, (o, v) -> o.withPort(integer("PORT", v)));
    options = apply(settings, "CHUNKS", options, (o, v) -> o.withDefaultCompletionTokens(integer("CHUNKS", v)));
    options = apply(settings, "TTFT_MS", options, (o, v) -> o.withFirstTokenDelayMs(integer("TTFT_MS", v)));
    options = apply(settings, "TLS", options, (o, v) -> bool("TLS", v) ? o.withTls() : o);
    options = apply(settings, "HTTP2_MAX_STREAMS", options,
        (o, v) -> o.withHttp2MaxStreams(longInteger("HTTP2_MAX_STREAMS", v)));
    options = apply(settings, "RATE_LIMIT_REQUESTS", options,
        (o, v) -> o.withRateLimits(longInteger("RATE_LIMIT_REQUESTS", v), o.rateLimitTokens()));
    options = apply(settings, "RATE_LIMIT_TOKENS", options,
        (o, v) -> o.withRateLimits(o.rateLimitRequests(), longInteger("RATE_LIMIT_TOKENS", v)));
    return apply(settings, "TPS", options, (o, v) -> o.withTokensPerSecond(number("TPS", v)));
  }

  /** Applies one setting if present; a validation failure names the setting as the user wrote it. */
  private static SimulatorOptions apply(Map<String, String> settings, String name, SimulatorOptions options,
      BiFunction<SimulatorOptions, String, SimulatorOptions> wither) {
    String value = settings.get(name);
    if (value == null) {
      return options;
    }
    try {
      return wither.apply(options, value);
    } catch (IllegalArgumentException e) {
      String message = e.getMessage();
      throw new IllegalArgumentException(message.startsWith(name) ? message : name + "=" + value + ": " + message, e);
    }
  }

  private static int integer(String name, String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be an integer, was '" + value + "'");
    }
  }

  private static long longInteger(String name, String value) {
    try {
      return Long.parseLong(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be an integer, was '" + value + "'");
    }
  }

  private static boolean bool(String name, String value) {
    if (value.equalsIgnoreCase("true") || value.equalsIgnoreCase("false")) {
      return Boolean.parseBoolean(value);
    }
    throw new IllegalArgumentException(name + " must be true or false, was '" + value + "'");
  }

  private static double number(String name, String value) {
    try {
      return Double.parseDouble(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be a number, was '" + value + "'");
    }
  }
}
