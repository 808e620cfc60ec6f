package io.promptfleet.common.config;

/**
 * How a worker connects to one provider ({@code providers.NAME.connections}): the HTTP version, how many
 * connections it may hold, how many streams share an HTTP/2 connection, and how many connects (TCP and TLS
 * handshakes) may be in progress at once.
 *
 * @param httpVersion             {@link HttpVersionChoice} (default {@code auto})
 * @param maxConnections          connections per worker to this provider; default: the worker's slots over
 *                                HTTP/1.1 (one stream per connection), {@code ceil(slots / max_streams_per_connection)}
 *                                over HTTP/2. A stream that finds every connection busy waits for one
 * @param maxStreamsPerConnection HTTP/2: streams one connection carries at once (default 100; the server's own
 *                                {@code SETTINGS_MAX_CONCURRENT_STREAMS} caps it further)
 * @param maxPendingConnects      connects in progress at once (default 32): the rest wait their turn in the worker,
 *                                so a burst of thousands of streams never becomes thousands of simultaneous SYNs and
 *                                TLS handshakes against one host
 */
public record ConnectionSettings(HttpVersionChoice httpVersion, Integer maxConnections,
    Integer maxStreamsPerConnection, Integer maxPendingConnects) {
  public static final int DEFAULT_STREAMS_PER_CONNECTION = 100;
  public static final int DEFAULT_PENDING_CONNECTS = 32;

  public ConnectionSettings {
    httpVersion = httpVersion == null ? HttpVersionChoice.AUTO : httpVersion;
    maxStreamsPerConnection = maxStreamsPerConnection == null ? DEFAULT_STREAMS_PER_CONNECTION
        : maxStreamsPerConnection;
    maxPendingConnects = maxPendingConnects == null ? DEFAULT_PENDING_CONNECTS : maxPendingConnects;
  }

  /** All defaults. */
  public static ConnectionSettings defaults() {
    return new ConnectionSettings(null, null, null, null);
  }

  /** HTTP/1.1 connections for a worker of {@code slots}: {@code max_connections}, else one per slot. */
  public int http1Connections(int slots) {
    return maxConnections != null ? maxConnections : Math.max(1, slots);
  }

  /** HTTP/2 connections for a worker of {@code slots}: {@code max_connections}, else enough for every slot. */
  public int http2Connections(int slots) {
    return maxConnections != null ? maxConnections
        : Math.max(1, (Math.max(1, slots) + maxStreamsPerConnection - 1) / maxStreamsPerConnection);
  }

  void validate(String at, String baseUrl) {
    ConfigException.require(maxConnections == null || maxConnections > 0, at + ".max_connections must be > 0");
    ConfigException.require(maxStreamsPerConnection > 0, at + ".max_streams_per_connection must be > 0");
    ConfigException.require(maxPendingConnects > 0, at + ".max_pending_connects must be > 0");
    ConfigException.require(httpVersion != HttpVersionChoice.H2C || baseUrl == null || baseUrl.startsWith("http://"),
        at + ".http_version h2c is HTTP/2 over plain TCP, for http:// base URLs; over https:// use auto (HTTP/2 is"
            + " negotiated by ALPN)");
  }
}
