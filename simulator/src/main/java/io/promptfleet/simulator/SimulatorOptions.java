package io.promptfleet.simulator;

import java.util.List;

/**
 * Configuration of a {@link SimulatedProvider}. Immutable and thread-safe; the compact constructor
 * validates every field with a message that names it.
 *
 * @param host                    interface to bind; default {@value #DEFAULT_HOST} (loopback only)
 * @param port                    TCP port; 0 picks an ephemeral port; default {@value #DEFAULT_PORT}
 * @param firstTokenDelayMs       delay before the first content token, in ms; default
 *                                {@value #DEFAULT_FIRST_TOKEN_DELAY_MS}
 * @param tokensPerSecond         pace of the following tokens; 0 writes them all at once; default
 *                                {@value #DEFAULT_TOKENS_PER_SECOND}
 * @param defaultCompletionTokens completion length when the request does not ask for fewer; default
 *                                {@value #DEFAULT_COMPLETION_TOKENS}
 * @param models                  model ids listed by {@code GET /v1/models} (any model name is accepted by
 *                                chat completions); default {@code ["sim"]}
 */
public record SimulatorOptions(
    String host,
    int port,
    long firstTokenDelayMs,
    double tokensPerSecond,
    int defaultCompletionTokens,
    List<String> models) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 18080;
  public static final long DEFAULT_FIRST_TOKEN_DELAY_MS = 50;
  public static final double DEFAULT_TOKENS_PER_SECOND = 50.0;
  public static final int DEFAULT_COMPLETION_TOKENS = 24;
  public static final List<String> DEFAULT_MODELS = List.of("sim");

  public SimulatorOptions {
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("host must not be blank");
    }
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("port must be between 0 and 65535, was " + port);
    }
    if (firstTokenDelayMs < 0) {
      throw new IllegalArgumentException("firstTokenDelayMs must be >= 0, was " + firstTokenDelayMs);
    }
    if (!(tokensPerSecond >= 0) || Double.isInfinite(tokensPerSecond)) {
      throw new IllegalArgumentException("tokensPerSecond must be a finite number >= 0, was " + tokensPerSecond);
    }
    if (defaultCompletionTokens < 0) {
      throw new IllegalArgumentException(
          "defaultCompletionTokens must be >= 0, was " + defaultCompletionTokens);
    }
    if (models == null || models.isEmpty()) {
      throw new IllegalArgumentException("models must name at least one model");
    }
    for (String model : models) {
      if (model == null || model.isBlank()) {
        throw new IllegalArgumentException("models must not contain a blank model id");
      }
    }
    models = List.copyOf(models);
  }

  /** 127.0.0.1:18080, 50 ms to first token, 50 tokens/s, 24 completion tokens, model {@code sim}. */
  public static SimulatorOptions defaults() {
    return new SimulatorOptions(DEFAULT_HOST, DEFAULT_PORT, DEFAULT_FIRST_TOKEN_DELAY_MS,
        DEFAULT_TOKENS_PER_SECOND, DEFAULT_COMPLETION_TOKENS, DEFAULT_MODELS);
  }

  public SimulatorOptions withHost(String host) {
    return new SimulatorOptions(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models);
  }

  public SimulatorOptions withPort(int port) {
    return new SimulatorOptions(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models);
  }

  public SimulatorOptions withFirstTokenDelayMs(long firstTokenDelayMs) {
    return new SimulatorOptions(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models);
  }

  public SimulatorOptions withTokensPerSecond(double tokensPerSecond) {
    return new SimulatorOptions(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models);
  }

  public SimulatorOptions withDefaultCompletionTokens(int defaultCompletionTokens) {
    return new SimulatorOptions(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models);
  }

  public SimulatorOptions withModels(List<String> models) {
    return new SimulatorOptions(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models);
  }
}
