package io.promptfleet.worker.stream;

import io.promptfleet.common.config.ProviderSettings;

/**
 * A provider as a worker calls it: its settings and the resolved Authorization header value of one key. The
 * header value is a secret: {@link #toString()} never shows it.
 *
 * @param provider      the provider's settings
 * @param authorization "Bearer ..." (the prefix added when the configured secret lacks it)
 */
public record ProviderEndpoint(ProviderSettings provider, String authorization) {

  /** Normalises a secret to an Authorization header value. */
  public static String bearer(String secret) {
    String s = secret.trim();
    return s.regionMatches(true, 0, "Bearer ", 0, 7) ? "Bearer " + s.substring(7).trim() : "Bearer " + s;
  }

  public String chatCompletionsUrl() {
    String base = provider.baseUrl();
    return (base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + "/chat/completions";
  }

  /** The text with every occurrence of this key's secret replaced by ***: provider errors sometimes echo it. */
  public String redact(String text) {
    if (text == null) {
      return null;
    }
    String secret = authorization.substring(7);
    return secret.length() < 4 ? text : text.replace(secret, "***");
  }

  @Override
  public String toString() {
    return "ProviderEndpoint[" + provider.baseUrl() + ", authorization=***]";
  }
}
