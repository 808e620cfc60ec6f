package io.promptfleet.worker.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.config.ProviderSettings;
import io.promptfleet.common.job.ProviderConnectionStats;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.RequestOptions;
import java.net.ServerSocket;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What a heartbeat reports of a provider's connections, counted over real loopback connects. */
class ProviderConnectionsStatsTest {
  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void shouldCountTheConnectsItTimedAndTheFailuresThatAreTheProvidersOwn() throws Exception {
    HttpServer server = vertx.createHttpServer().requestHandler(r -> r.response().end("ok"));
    int port = server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS)
        .actualPort();
    int closed;
    try (ServerSocket s = new ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    ProviderConnections up = ProviderClients.create(vertx, "up", provider(port), 4, Map.of(), null);
    ProviderConnections down = ProviderClients.create(vertx, "down", provider(closed), 4, Map.of(), null);

    assertThat(exchange(up, port).get(10, TimeUnit.SECONDS)).isEqualTo("ok");
    assertThat(exchange(up, port).get(10, TimeUnit.SECONDS)).as("on the same connection").isEqualTo("ok");
    assertThat(exchange(down, closed)).failsWithin(10, TimeUnit.SECONDS);

    ProviderConnectionStats u = up.stats();
    assertThat(u.provider()).isEqualTo("up");
    assertThat(u.open()).isEqualTo(1);
    assertThat(u.http2()).isZero();
    assertThat(u.opened()).isEqualTo(1);
    assertThat(u.connectsTimed()).isEqualTo(1);
    assertThat(u.connectTimeMicros()).isPositive().isEqualTo(TimeUnit.NANOSECONDS.toMicros(up.connectTimeNanos()));
    assertThat(u.connectFailures() + u.connectOverloaded()).isZero();
    ProviderConnectionStats d = down.stats();
    assertThat(d.opened()).isZero();
    assertThat(d.connectFailures()).as("refused: the provider's").isEqualTo(1).isEqualTo(down.connectFailures(false));
    assertThat(d.connectOverloaded()).isZero();
    up.close();
    down.close();
  }

  private CompletableFuture<String> exchange(ProviderConnections c, int port) {
    CompletableFuture<String> out = new CompletableFuture<>();
    vertx.getOrCreateContext().runOnContext(v -> c.request(new RequestOptions().setHost("127.0.0.1").setPort(port)
            .setURI("/v1/x"))
        .compose(req -> req.send())
        .compose(resp -> resp.body())
        .map(Object::toString)
        .onComplete(ar -> {
          if (ar.succeeded()) {
            out.complete(ar.result());
          } else {
            out.completeExceptionally(ar.cause());
          }
        }));
    return out;
  }

  private static ProviderSettings provider(int port) {
    return new ProviderSettings("http://127.0.0.1:" + port + "/v1", 2_000L, null, null, null, null, null, null, null,
        null);
  }
}
