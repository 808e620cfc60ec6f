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
 * @param reasoningModelPrefixes  a requested model whose name starts with one of these is a <em>reasoning
 *                                model</em> with OpenAI's o-series / gpt-5 rules: {@code max_tokens} and a
 *                                {@code temperature} other than 1 are rejected with 400, and usage reports
 *                                hidden reasoning tokens; default {@link #DEFAULT_REASONING_MODEL_PREFIXES};
 *                                empty = none
 * @param tls                     serve HTTPS with a self-signed certificate generated at start for {@code localhost}
 *                                and {@code 127.0.0.1} (see {@link SimulatedProvider#caFile()}); default false
 * @param http2MaxStreams         the HTTP/2 {@code SETTINGS_MAX_CONCURRENT_STREAMS} the server announces: streams one
 *                                client connection may have open at once; default
 *                                {@value #DEFAULT_HTTP2_MAX_STREAMS}
 * @param rateLimitRequests       requests per key per minute its {@code x-ratelimit-*} headers report as the limit
 *                                (remaining = this less the key's requests of the last minute; 0 remaining makes a
 *                                promptfleet dispatcher hold the key until the reset); default
 *                                {@value #DEFAULT_RATE_LIMIT_REQUESTS}
 * @param rateLimitTokens         tokens per key per minute, likewise; default {@value #DEFAULT_RATE_LIMIT_TOKENS}
 */
public record SimulatorOptions(
    String host,
    int port,
    long firstTokenDelayMs,
    double tokensPerSecond,
    int defaultCompletionTokens,
    List<String> models,
    List<String> reasoningModelPrefixes,
    boolean tls,
    long http2MaxStreams,
    long rateLimitRequests,
    long rateLimitTokens) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 18080;
  public static final long DEFAULT_FIRST_TOKEN_DELAY_MS = 50;
  public static final double DEFAULT_TOKENS_PER_SECOND = 50.0;
  public static final int DEFAULT_COMPLETION_TOKENS = 24;
  public static final List<String> DEFAULT_MODELS = List.of("sim");
  public static final List<String> DEFAULT_REASONING_MODEL_PREFIXES =
      List.of("o1", "o3", "o4", "gpt-5", "sim-reasoning");
  /** Vert.x's own default, and a common one of HTTP/2 servers. */
  public static final long DEFAULT_HTTP2_MAX_STREAMS = 100;
  /** The largest value {@code SETTINGS_MAX_CONCURRENT_STREAMS} can carry (RFC 9113, an unsigned 32-bit integer). */
  public static final long MAX_HTTP2_MAX_STREAMS = 0xFFFFFFFFL;
  /** OpenAI's requests per minute of a mid tier. */
  public static final long DEFAULT_RATE_LIMIT_REQUESTS = 10_000;
  public static final long DEFAULT_RATE_LIMIT_TOKENS = 2_000_000;

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
    if (reasoningModelPrefixes == null) {
      throw new IllegalArgumentException("reasoningModelPrefixes must not be null (empty = no reasoning models)");
    }
    for (String prefix : reasoningModelPrefixes) {
      if (prefix == null || prefix.isBlank()) {
        throw new IllegalArgumentException("reasoningModelPrefixes must not contain a blank prefix");
      }
    }
    reasoningModelPrefixes = List.copyOf(reasoningModelPrefixes);
    if (http2MaxStreams < 1 || http2MaxStreams > MAX_HTTP2_MAX_STREAMS) {
      throw new IllegalArgumentException("http2MaxStreams must be between 1 and " + MAX_HTTP2_MAX_STREAMS + ", was "
          + http2MaxStreams);
    }
    if (rateLimitRequests < 1) {
      throw new IllegalArgumentException("rateLimitRequests must be >= 1, was " + rateLimitRequests);
    }
    if (rateLimitTokens < 1) {
      throw new IllegalArgumentException("rateLimitTokens must be >= 1, was " + rateLimitTokens);
    }
  }

  /** Options with the default rate limits ({@link #withRateLimits}). */
  public SimulatorOptions(String host, int port, long firstTokenDelayMs, double tokensPerSecond,
      int defaultCompletionTokens, List<String> models, List<String> reasoningModelPrefixes, boolean tls,
      long http2MaxStreams) {
    this(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models, reasoningModelPrefixes, tls,
        http2MaxStreams, DEFAULT_RATE_LIMIT_REQUESTS, DEFAULT_RATE_LIMIT_TOKENS);
  }

  /** Options with the {@link #DEFAULT_HTTP2_MAX_STREAMS default HTTP/2 stream limit}. */
  public SimulatorOptions(String host, int port, long firstTokenDelayMs, double tokensPerSecond,
      int defaultCompletionTokens, List<String> models, List<String> reasoningModelPrefixes, boolean tls) {
    this(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models, reasoningModelPrefixes, tls,
        DEFAULT_HTTP2_MAX_STREAMS);
  }

  /** Plain-HTTP options (see {@link #withTls()}). */
  public SimulatorOptions(String host, int port, long firstTokenDelayMs, double tokensPerSecond,
      int defaultCompletionTokens, List<String> models, List<String> reasoningModelPrefixes) {
    this(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models, reasoningModelPrefixes,
        false);
  }

  /** The options with the {@link #DEFAULT_REASONING_MODEL_PREFIXES default reasoning-model prefixes}. */
  public SimulatorOptions(String host, int port, long firstTokenDelayMs, double tokensPerSecond,
      int defaultCompletionTokens, List<String> models) {
    this(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models,
        DEFAULT_REASONING_MODEL_PREFIXES);
  }

  /**
   * 127.0.0.1:18080, 50 ms to first token, 50 tokens/s, 24 completion tokens, model {@code sim}, reasoning
   * models {@code o1* o3* o4* gpt-5* sim-reasoning*}.
   */
  public static SimulatorOptions defaults() {
    return new SimulatorOptions(DEFAULT_HOST, DEFAULT_PORT, DEFAULT_FIRST_TOKEN_DELAY_MS,
        DEFAULT_TOKENS_PER_SECOND, DEFAULT_COMPLETION_TOKENS, DEFAULT_MODELS, DEFAULT_REASONING_MODEL_PREFIXES);
  }

  public SimulatorOptions withHost(String host) {
    return new SimulatorOptions(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models,
        reasoningModelPrefixes, tls, http2MaxStreams, rateLimitRequests, rateLimitTokens);
  }

  public SimulatorOptions withPort(int port) {
    return new SimulatorOptions(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models,
        reasoningModelPrefixes, tls, http2MaxStreams, rateLimitRequests, rateLimitTokens);
  }

  public SimulatorOptions withFirstTokenDelayMs(long firstTokenDelayMs) {
    return new SimulatorOptions(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models,
        reasoningModelPrefixes, tls, http2MaxStreams, rateLimitRequests, rateLimitTokens);
  }

  public SimulatorOptions withTokensPerSecond(double tokensPerSecond) {
    return new SimulatorOptions(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models,
        reasoningModelPrefixes, tls, http2MaxStreams, rateLimitRequests, rateLimitTokens);
  }

  public SimulatorOptions withDefaultCompletionTokens(int defaultCompletionTokens) {
    return new SimulatorOptions(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models,
        reasoningModelPrefixes, tls, http2MaxStreams, rateLimitRequests, rateLimitTokens);
  }

  public SimulatorOptions withModels(List<String> models) {
    return new SimulatorOptions(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models,
        reasoningModelPrefixes, tls, http2MaxStreams, rateLimitRequests, rateLimitTokens);
  }

  public SimulatorOptions withReasoningModelPrefixes(List<String> reasoningModelPrefixes) {
    return new SimulatorOptions(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models,
        reasoningModelPrefixes, tls, http2MaxStreams, rateLimitRequests, rateLimitTokens);
  }

  /**
   * The options serving HTTPS: a self-signed certificate for {@code localhost} and {@code 127.0.0.1} is generated at
   * start (with the JDK's {@code keytool}), and its PEM is written to {@link SimulatedProvider#caFile()} for clients
   * to trust.
   */
  public SimulatorOptions withTls() {
    return new SimulatorOptions(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models,
        reasoningModelPrefixes, true, http2MaxStreams, rateLimitRequests, rateLimitTokens);
  }

  /**
   * The options announcing {@code SETTINGS_MAX_CONCURRENT_STREAMS = n} to HTTP/2 clients: a client that wants more
   * streams at once must open more connections (or wait).
   */
  public SimulatorOptions withHttp2MaxStreams(long n) {
    return new SimulatorOptions(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models,
        reasoningModelPrefixes, tls, n, rateLimitRequests, rateLimitTokens);
  }

  /**
   * The options reporting these per-key, per-minute limits in the rate-limit headers. A dispatcher whose key allows
   * more than the simulator reports stops at the simulator's figure (it honours the provider's remaining budget), so
   * a fleet pointed at the simulator should configure no more than this.
   */
  public SimulatorOptions withRateLimits(long requestsPerMinute, long tokensPerMinute) {
    return new SimulatorOptions(host, port, firstTokenDelayMs, tokensPerSecond, defaultCompletionTokens, models,
        reasoningModelPrefixes, tls, http2MaxStreams, requestsPerMinute, tokensPerMinute);
  }

  /** Whether {@code model} is a reasoning model: its name starts with one of {@link #reasoningModelPrefixes()}. */
  public boolean isReasoningModel(String model) {
    for (String prefix : reasoningModelPrefixes) {
      if (model.startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }
}
