package io.promptfleet.common.config;

/**
 * An OpenAI-compatible provider.
 *
 * @param baseUrl   e.g. https://api.openai.com/v1 or http://127.0.0.1:18080/v1; chat/completions is appended
 * @param connectTimeoutMs    connect timeout (default 10 s)
 * @param firstTokenTimeoutMs from request to the first event (default 60 s)
 * @param idleTimeoutMs       between two events of a stream (default 120 s: long answers pause)
 * @param totalTimeoutMs      one attempt at most (default 10 min; a job's deadline may cut it shorter)
 */
public record ProviderSettings(String baseUrl, Long connectTimeoutMs, Long firstTokenTimeoutMs, Long idleTimeoutMs,
    Long totalTimeoutMs) {
  public ProviderSettings {
    connectTimeoutMs = connectTimeoutMs == null ? 10_000L : connectTimeoutMs;
    firstTokenTimeoutMs = firstTokenTimeoutMs == null ? 60_000L : firstTokenTimeoutMs;
    idleTimeoutMs = idleTimeoutMs == null ? 120_000L : idleTimeoutMs;
    totalTimeoutMs = totalTimeoutMs == null ? 600_000L : totalTimeoutMs;
  }

  void validate(String name) {
    String at = "providers." + name;
    ConfigException.require(baseUrl != null && (baseUrl.startsWith("http://") || baseUrl.startsWith("https://")),
        at + ".base_url must be an http:// or https:// URL");
    ConfigException.require(connectTimeoutMs > 0, at + ".connect_timeout_ms must be > 0");
    ConfigException.require(firstTokenTimeoutMs > 0, at + ".first_token_timeout_ms must be > 0");
    ConfigException.require(idleTimeoutMs > 0, at + ".idle_timeout_ms must be > 0");
    ConfigException.require(totalTimeoutMs > 0, at + ".total_timeout_ms must be > 0");
  }

  public ProviderSettings withBaseUrl(String url) {
    return new ProviderSettings(url, connectTimeoutMs, firstTokenTimeoutMs, idleTimeoutMs, totalTimeoutMs);
  }
}
