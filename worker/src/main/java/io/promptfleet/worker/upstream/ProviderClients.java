package io.promptfleet.worker.upstream;

import io.promptfleet.common.config.ProviderSettings;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;

/**
 * The pooled HTTP client of one provider: keep-alive connections, at most {@code slots} of them (a worker streams at
 * most that many answers at once), no wait-queue bound (a request waits for a connection rather than failing).
 */
public final class ProviderClients {
  private ProviderClients() {}

  /** A client for {@code provider}; called once per provider at worker start (blocking is fine there). */
  public static HttpClient create(Vertx vertx, ProviderSettings provider, int slots) {
    HttpClientOptions options = new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true)
        .setMaxInitialLineLength(8192);
    return vertx.createHttpClient(options, new PoolOptions().setHttp1MaxSize(slots).setMaxWaitQueueSize(-1));
  }
}
