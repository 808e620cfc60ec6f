package io.promptfleet.worker.upstream;

import io.promptfleet.common.config.ConfigException;
import io.promptfleet.common.config.ConnectionSettings;
import io.promptfleet.common.config.ProviderSettings;
import io.promptfleet.common.config.ProxySettings;
import io.promptfleet.common.config.TlsSettings;
import io.promptfleet.worker.metrics.WorkerMetrics;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.ProxyOptions;
import io.vertx.core.net.ProxyType;
import io.vertx.core.net.TrustOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pooled HTTP client of one provider, behind its {@link ProviderConnections} gate, with the provider's
 * connection settings:
 * <ul>
 *   <li>the HTTP version ({@code connections.http_version}): {@code auto} offers h2 and http/1.1 by ALPN over TLS
 *       and speaks HTTP/1.1 to a plain {@code http://} provider; {@code http1} only HTTP/1.1; {@code h2c} HTTP/2
 *       with prior knowledge over plain TCP (no upgrade round trip);</li>
 *   <li>pool sizes: at most {@code connections.max_connections} HTTP/1.1 keep-alive connections (default: the
 *       worker's slots) or HTTP/2 connections (default: enough for every slot at {@code
 *       max_streams_per_connection} streams each), each HTTP/2 connection carrying at most that many streams; no
 *       wait-queue bound (a request waits for a connection rather than failing);</li>
 *   <li>{@code connect_timeout_ms} bounds the TCP connect and, again, the TLS handshake: set on the client, not on
 *       the request, whose connect timeout Vert.x 5 also applies to the wait for a free pooled connection (a stream
 *       waiting at the pool's cap would fail although nothing is wrong with the provider);</li>
 *   <li>TLS for an {@code https://} base URL, trusting the JVM's CAs plus {@code tls.ca_file}
 *       ({@link ExtraTrust}), showing {@code tls.cert_file}/{@code key_file} when configured, or, with {@code
 *       tls.verify: false}, trusting any certificate and host name (a WARN at start);</li>
 *   <li>{@code proxy}: an HTTP proxy (CONNECT for https providers), its credentials from the environment.</li>
 * </ul>
 * Stateless; {@link #create} runs at worker start (it reads files and may block).
 */
public final class ProviderClients {
  private static final Logger LOG = LoggerFactory.getLogger(ProviderClients.class);

  private ProviderClients() {}

  /**
   * A client for provider {@code name}.
   *
   * @param env the environment the proxy's credential variables are read from (then the system properties)
   * @throws ConfigException naming the field when a TLS file cannot be read or a proxy variable is not set
   */
  public static ProviderConnections create(Vertx vertx, String name, ProviderSettings provider, int slots,
      Map<String, String> env, WorkerMetrics metrics) {
    HttpClientOptions options = options(name, provider, env);
    ConnectionSettings c = provider.connections();
    PoolOptions pool = pool(c, slots);
    int cap = options.getProtocolVersion() == HttpVersion.HTTP_2 ? pool.getHttp2MaxSize() : pool.getHttp1MaxSize();
    return new ProviderConnections(name, vertx, onConnect -> vertx.httpClientBuilder().with(options).with(pool)
        .withConnectHandler(onConnect).build(), c, cap, metrics, System::nanoTime);
  }

  /** The pool: see the class comment. */
  static PoolOptions pool(ConnectionSettings c, int slots) {
    return new PoolOptions().setHttp1MaxSize(c.http1Connections(slots)).setHttp2MaxSize(c.http2Connections(slots))
        .setMaxWaitQueueSize(-1);
  }

  /** The client options for provider {@code name}; see {@link #create}. */
  static HttpClientOptions options(String name, ProviderSettings provider, Map<String, String> env) {
    String at = "providers." + name;
    boolean https = provider.baseUrl().startsWith("https://");
    HttpClientOptions options = new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true)
        .setMaxInitialLineLength(8192).setSsl(https)
        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, provider.connectTimeoutMs()))
        .setSslHandshakeTimeout(provider.connectTimeoutMs()).setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS);
    ConnectionSettings connections = provider.connections();
    switch (connections.httpVersion()) {
      case AUTO -> {
        if (https) {
          options.setProtocolVersion(HttpVersion.HTTP_2).setUseAlpn(true)
              .setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1));
        } else {
          options.setProtocolVersion(HttpVersion.HTTP_1_1);
        }
      }
      case HTTP1 -> options.setProtocolVersion(HttpVersion.HTTP_1_1);
      case H2C -> options.setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false);
    }
    options.setHttp2MultiplexingLimit(connections.maxStreamsPerConnection());
    TlsSettings tls = provider.tls();
    if (tls != null) {
      if (!tls.verify()) {
        LOG.warn("provider {}: {}.tls.verify is false: its TLS certificate and host name are NOT checked, so anyone"
            + " on the path can read the keys and prompts sent to it; use tls.ca_file to trust a private CA instead",
            name, at);
        options.setTrustAll(true).setVerifyHost(false);
      } else if (tls.caFile() != null) {
        options.setTrustOptions(TrustOptions.wrap(ExtraTrust.of(at + ".tls.ca_file", Path.of(tls.caFile()))));
      }
      if (tls.certFile() != null) {
        readable(at + ".tls.cert_file", tls.certFile());
        readable(at + ".tls.key_file", tls.keyFile());
        options.setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.certFile()).setKeyPath(tls.keyFile()));
      }
    }
    ProxySettings proxy = provider.proxy();
    if (proxy != null) {
      ProxyOptions p = new ProxyOptions().setType(ProxyType.HTTP).setHost(proxy.host()).setPort(proxy.port());
      ProxySettings.Credentials c = proxy.credentials(at + ".proxy", env);
      if (c != null) {
        p.setUsername(c.username()).setPassword(c.password());
      }
      options.setProxyOptions(p);
    }
    return options;
  }

  private static void readable(String at, String file) {
    if (!Files.isReadable(Path.of(file))) {
      throw new ConfigException(at + ": cannot read " + file);
    }
  }
}
