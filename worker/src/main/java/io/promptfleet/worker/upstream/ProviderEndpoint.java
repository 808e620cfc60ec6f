package io.promptfleet.worker.upstream;

import io.promptfleet.common.config.ProviderSettings;
import io.promptfleet.common.upstream.SecretRedaction;
import java.util.Map;

/**
 * A provider as a worker calls it with one key: its settings, the key's secret, the resolved values of the
 * provider's extra headers, and the HTTP client for the provider (its TLS and proxy settings). The secret and the
 * header values are secrets: {@link #toString()} never shows them and {@link #redact} removes them from provider
 * text.
 *
 * @param provider the provider's settings
 * @param secret   the key's secret, without a {@code Bearer } prefix
 * @param headers  extra request headers, values resolved
 * @param http     this worker's connections to the provider
 */
public record ProviderEndpoint(ProviderSettings provider, String secret, Map<String, String> headers,
    ProviderConnections http) {

  public ProviderEndpoint {
    secret = unbearer(secret);
    headers = Map.copyOf(headers);
  }

  /** A configured secret without the {@code Bearer } prefix some operators write into it. */
  public static String unbearer(String secret) {
    String s = secret.trim();
    return s.regionMatches(true, 0, "Bearer ", 0, 7) ? s.substring(7).trim() : s;
  }

  /** The provider's protocol. */
  public UpstreamProtocol protocol() {
    return Protocols.of(provider.protocol());
  }

  /** {@code Authorization} header value: {@code Bearer <secret>}. */
  public String bearer() {
    return "Bearer " + secret;
  }

  /** The base URL with {@code path} (starting with /) appended, one slash between. */
  public String url(String path) {
    String base = provider.baseUrl();
    return (base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + path;
  }

  /** The text with every occurrence of the key's secret and of each header value replaced by ***. */
  public String redact(String text) {
    return SecretRedaction.redact(text, secret, headers.values());
  }

  @Override
  public String toString() {
    return "ProviderEndpoint[" + provider.baseUrl() + ", secret=***, headers=" + headers.keySet() + "]";
  }
}
