package io.promptfleet.common.config;

import com.fasterxml.jackson.annotation.JsonIgnore;
import java.util.Map;

/**
 * A provider: where it is, how a worker speaks to it and how long it may take.
 *
 * @param baseUrl             e.g. https://api.openai.com/v1 or http://127.0.0.1:18080/v1; the protocol appends its
 *                            path (chat/completions, messages, responses, embeddings)
 * @param connectTimeoutMs    connect timeout (default 10 s)
 * @param firstTokenTimeoutMs from request to the first event (default 60 s)
 * @param idleTimeoutMs       between two events of a stream (default 120 s: long answers pause)
 * @param totalTimeoutMs      one attempt at most (default 10 min; a job's deadline may cut it shorter)
 * @param protocol            how a worker speaks to it (default {@link ProviderProtocol#OPENAI})
 * @param apiVersion          Azure: the {@code api-version} query parameter of deployment URLs; Anthropic: the
 *                            {@code anthropic-version} header (default 2023-06-01)
 * @param headers             extra request headers by name (never logged, never in Kafka)
 * @param tls                 trust and client certificate, or null for the JVM's defaults
 * @param proxy               an HTTP(S) proxy, or null for direct connections
 * @param connections         HTTP version, connection caps and connect pacing (defaults when absent)
 */
public record ProviderSettings(String baseUrl, Long connectTimeoutMs, Long firstTokenTimeoutMs, Long idleTimeoutMs,
    Long totalTimeoutMs, ProviderProtocol protocol, String apiVersion, Map<String, HeaderSettings> headers,
    TlsSettings tls, ProxySettings proxy, ConnectionSettings connections) {
  public ProviderSettings {
    connectTimeoutMs = connectTimeoutMs == null ? 10_000L : connectTimeoutMs;
    firstTokenTimeoutMs = firstTokenTimeoutMs == null ? 60_000L : firstTokenTimeoutMs;
    idleTimeoutMs = idleTimeoutMs == null ? 120_000L : idleTimeoutMs;
    totalTimeoutMs = totalTimeoutMs == null ? 600_000L : totalTimeoutMs;
    protocol = protocol == null ? ProviderProtocol.OPENAI : protocol;
    headers = headers == null ? Map.of() : Map.copyOf(headers);
    connections = connections == null ? ConnectionSettings.defaults() : connections;
  }

  public ProviderSettings(String baseUrl, Long connectTimeoutMs, Long firstTokenTimeoutMs, Long idleTimeoutMs,
      Long totalTimeoutMs, ProviderProtocol protocol, String apiVersion, Map<String, HeaderSettings> headers,
      TlsSettings tls, ProxySettings proxy) {
    this(baseUrl, connectTimeoutMs, firstTokenTimeoutMs, idleTimeoutMs, totalTimeoutMs, protocol, apiVersion, headers,
        tls, proxy, null);
  }

  public ProviderSettings(String baseUrl, Long connectTimeoutMs, Long firstTokenTimeoutMs, Long idleTimeoutMs,
      Long totalTimeoutMs) {
    this(baseUrl, connectTimeoutMs, firstTokenTimeoutMs, idleTimeoutMs, totalTimeoutMs, null, null, null, null, null,
        null);
  }

  void validate(String name) {
    String at = "providers." + name;
    ConfigException.require(baseUrl != null && (baseUrl.startsWith("http://") || baseUrl.startsWith("https://")),
        at + ".base_url must be an http:// or https:// URL");
    ConfigException.require(connectTimeoutMs > 0, at + ".connect_timeout_ms must be > 0");
    ConfigException.require(firstTokenTimeoutMs > 0, at + ".first_token_timeout_ms must be > 0");
    ConfigException.require(idleTimeoutMs > 0, at + ".idle_timeout_ms must be > 0");
    ConfigException.require(totalTimeoutMs > 0, at + ".total_timeout_ms must be > 0");
    ConfigException.require(apiVersion == null || !apiVersion.isBlank(), at + ".api_version must not be empty");
    ConfigException.require(protocol != ProviderProtocol.AZURE_OPENAI || apiVersion != null || isAzureV1(),
        at + ".api_version is required for protocol azure-openai with a deployment URL (base_url " + baseUrl
            + "): Azure answers 404 without the api-version query parameter; set it (e.g. 2024-10-21) or use the v1"
            + " API with a base_url ending in /openai/v1");
    headers.forEach((h, v) -> {
      ConfigException.require(v != null, at + ".headers." + h + " needs value or value_env");
      ConfigException.require(h.matches("[A-Za-z0-9!#$%&'*+.^_`|~-]+"), at + ".headers: '" + h
          + "' is not a valid header name");
      v.validate(at + ".headers." + h);
    });
    if (tls != null) {
      tls.validate(at + ".tls");
    }
    if (proxy != null) {
      proxy.validate(at + ".proxy");
    }
    connections.validate(at + ".connections", baseUrl);
  }

  /**
   * Whether the base URL is Azure OpenAI's v1 API ({@code https://RESOURCE.openai.azure.com/openai/v1}, a trailing
   * slash allowed): the route's model then goes in the body and {@code api-version} is optional; any other Azure
   * base URL is the resource's endpoint for deployment URLs.
   */
  @JsonIgnore
  public boolean isAzureV1() {
    String b = baseUrl == null ? "" : baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
    return b.endsWith("/openai/v1");
  }

  public ProviderSettings withBaseUrl(String url) {
    return new ProviderSettings(url, connectTimeoutMs, firstTokenTimeoutMs, idleTimeoutMs, totalTimeoutMs, protocol,
        apiVersion, headers, tls, proxy, connections);
  }

  public ProviderSettings withProtocol(ProviderProtocol p) {
    return new ProviderSettings(baseUrl, connectTimeoutMs, firstTokenTimeoutMs, idleTimeoutMs, totalTimeoutMs, p,
        apiVersion, headers, tls, proxy, connections);
  }

  public ProviderSettings withConnections(ConnectionSettings c) {
    return new ProviderSettings(baseUrl, connectTimeoutMs, firstTokenTimeoutMs, idleTimeoutMs, totalTimeoutMs,
        protocol, apiVersion, headers, tls, proxy, c);
  }
}
