package io.promptfleet.worker.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.promptfleet.common.config.ConnectionSettings;
import io.promptfleet.common.config.HttpVersionChoice;
import io.promptfleet.common.config.ProviderSettings;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.RequestOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link ProviderConnections} against a real HTTP server on loopback: the connect gate, the pool's cap, warm
 * connections reused, and whose failure a failed connect is.
 */
class ProviderConnectionsTest {
  private static Vertx vertx;
  private static HttpServer server;
  private static final AtomicInteger accepted = new AtomicInteger();

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(4));
    server = vertx.createHttpServer().connectionHandler(c -> accepted.incrementAndGet())
        .requestHandler(req -> vertx.setTimer(150, t -> req.response().end("ok")));
    server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static ProviderConnections connections(String url, ConnectionSettings c, int slots) {
    ProviderSettings p = new ProviderSettings(url, 2_000L, null, null, null).withConnections(c);
    return ProviderClients.create(vertx, "sim", p, slots, Map.of(), null);
  }

  /** {@code n} GETs, each from a context of its own (spread over the event loops), each read to its end. */
  private static List<CompletableFuture<String>> burst(ProviderConnections pc, String url, int n) {
    List<CompletableFuture<String>> all = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      CompletableFuture<String> done = new CompletableFuture<>();
      all.add(done);
      vertx.getOrCreateContext().runOnContext(v -> pc.request(new RequestOptions().setMethod(HttpMethod.GET)
          .setAbsoluteURI(url + "/x")).compose(HttpClientRequest::send).compose(r -> r.body())
          .onComplete(ar -> {
            if (ar.succeeded()) {
              done.complete(ar.result().toString());
            } else {
              done.completeExceptionally(ar.cause());
            }
          }));
    }
    return all;
  }

  private static void await(List<CompletableFuture<String>> all) throws Exception {
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
  }

  @Test
  void shouldPaceConnectsKeepThePoolCapAndReuseWarmConnections() throws Exception {
    String url = "http://127.0.0.1:" + server.actualPort();
    accepted.set(0);
    try (ProviderConnections pc = connections(url, new ConnectionSettings(HttpVersionChoice.HTTP1, 20, null, 3),
        1_000)) {
      List<CompletableFuture<String>> first = burst(pc, url, 120);
      await(first);

      assertThat(first).allSatisfy(f -> assertThat(f.join()).isEqualTo("ok"));
      assertThat(pc.peakPendingConnects()).as("connects in progress at once").isBetween(1, 3);
      assertThat(pc.connectionsOpened()).as("the pool's cap, not one per request").isLessThanOrEqualTo(20);
      assertThat(accepted.get()).as("what the server saw").isEqualTo((int) pc.connectionsOpened());
      assertThat(pc.waitingForConnection()).isZero();
      assertThat(pc.streams()).as("every exchange ended").isZero();

      long opened = pc.connectionsOpened();
      await(burst(pc, url, 10));
      assertThat(pc.connectionsOpened()).as("warm connections reused").isEqualTo(opened);
      assertThat(pc.openConnections()).isEqualTo((int) opened);
    }
  }

  @Test
  void shouldBlameTheProviderForARefusedConnect() throws Exception {
    int closed;
    try (var s = new java.net.ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    String url = "http://127.0.0.1:" + closed;
    try (ProviderConnections pc = connections(url, ConnectionSettings.defaults(), 10)) {
      Throwable failure = burst(pc, url, 1).get(0).handle((r, e) -> e).get(10, TimeUnit.SECONDS);

      assertThat(failure).isInstanceOf(ConnectFailure.class);
      ConnectFailure f = (ConnectFailure) failure;
      assertThat(f.cause()).isEqualTo(ConnectFailure.REFUSED);
      assertThat(f.local()).isFalse();
      assertThat(pc.waitingForConnection()).isZero();
    }
  }

  @Test
  void shouldRefuseARequestOffAVertxContext() {
    try (ProviderConnections pc = connections("http://127.0.0.1:1", ConnectionSettings.defaults(), 1)) {
      assertThatThrownBy(() -> pc.request(new RequestOptions())).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("Vert.x context");
    }
  }
}
