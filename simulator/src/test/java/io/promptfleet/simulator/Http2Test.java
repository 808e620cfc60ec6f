package io.promptfleet.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.PemTrustOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The simulator over HTTP/2, as Vert.x clients (the worker's) speak it: h2c with prior knowledge in the clear, h2 by
 * ALPN over TLS (HTTP/1.1 to a client that offers only that), SSE unchanged, the announced stream limit, a reset
 * that ends one stream and not its connection's others, and the connection counters.
 */
class Http2Test {
  private static Vertx vertx;
  private static SimulatedProvider plain;
  private static SimulatedProvider tls;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    plain = SimulatedProvider.start(vertx, SimulatorHarness.fastOptions().withHttp2MaxStreams(7))
        .await(10, TimeUnit.SECONDS);
    tls = SimulatedProvider.start(vertx, SimulatorHarness.fastOptions().withTls()).await(30, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    plain.close().await(10, TimeUnit.SECONDS);
    tls.close().await(10, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void shouldStreamOverH2cWithPriorKnowledgeWithoutTransferEncoding() throws Exception {
    plain.stats().reset();
    HttpClientAgent client = client(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
        .setHttp2ClearTextUpgrade(false), 1);
    try {
      Exchange e = exchange(client, plain, "hello over h2c");

      assertThat(e.version).isEqualTo(HttpVersion.HTTP_2);
      assertThat(e.headers).containsEntry("content-type", "text/event-stream").doesNotContainKey("transfer-encoding");
      assertThat(SimulatorHarness.contentChunks(e.body)).isEqualTo(5);
      assertThat(e.body).endsWith("data: [DONE]\n\n");
      assertThat(plain.stats().connectionsOpened(SimulatorStats.H2)).isEqualTo(1);
      assertThat(plain.stats().connectionsOpened(SimulatorStats.HTTP_1_1)).isZero();
      assertThat(plain.stats().openConnections(SimulatorStats.H2)).isEqualTo(1);
      assertThat(plain.stats().completedStreams()).isEqualTo(1);
    } finally {
      client.close().await(10, TimeUnit.SECONDS);
    }
    SimulatorHarness.awaitCondition("the h2c connection is counted closed", () -> plain.stats().openConnections() == 0);
  }

  @Test
  void shouldAnnounceItsStreamLimitInItsHttp2Settings() throws Exception {
    HttpClientAgent client = client(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
        .setHttp2ClearTextUpgrade(false), 1);
    try {
      // One chain on the client's context (no request handled from the test's thread between steps), with room for
      // a loaded 2-core box: a request sent from the test thread after awaiting it timed out twice at 10 s there.
      long announced = client.request(new RequestOptions().setAbsoluteURI(plain.origin() + "/health"))
          .compose(request -> request.send().compose(response -> response.body())
              .map(body -> request.connection().remoteSettings().getMaxConcurrentStreams()))
          .await(30, TimeUnit.SECONDS);

      assertThat(announced).isEqualTo(7);
    } finally {
      client.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void shouldNegotiateH2ByAlpnOverTlsAndHttp11WithAClientThatOffersOnlyThat() throws Exception {
    tls.stats().reset();
    HttpClientAgent h2 = client(trusting(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
        .setUseAlpn(true).setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1))), 1);
    HttpClientAgent http1 = client(trusting(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_1_1)), 1);
    try {
      Exchange overH2 = exchange(h2, tls, "hello over h2");
      Exchange overHttp1 = exchange(http1, tls, "hello over http/1.1");

      assertThat(overH2.version).isEqualTo(HttpVersion.HTTP_2);
      assertThat(overH2.headers).doesNotContainKey("transfer-encoding");
      assertThat(overH2.body).endsWith("data: [DONE]\n\n");
      assertThat(overHttp1.version).isEqualTo(HttpVersion.HTTP_1_1);
      assertThat(overHttp1.headers).containsEntry("transfer-encoding", "chunked");
      assertThat(SimulatorHarness.contentChunks(overHttp1.body)).isEqualTo(SimulatorHarness.contentChunks(overH2.body));
      assertThat(tls.stats().connectionsOpened(SimulatorStats.H2)).isEqualTo(1);
      assertThat(tls.stats().connectionsOpened(SimulatorStats.HTTP_1_1)).isEqualTo(1);
      assertThat(tls.stats().connectionsOpened()).isEqualTo(2);
      assertThat(tls.stats().maxOpenConnections()).isEqualTo(2);
    } finally {
      h2.close().await(10, TimeUnit.SECONDS);
      http1.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void shouldResetOnlyTheFaultedStreamOfAnHttp2Connection() throws Exception {
    plain.stats().reset();
    HttpClientAgent client = client(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
        .setHttp2ClearTextUpgrade(false), 1);
    try {
      CompletableFuture<Exchange> slow = async(client, plain, "slow [[sim:slow ttft_ms=300 tps=0]]");
      Thread.sleep(100);

      assertThatThrownBy(() -> exchange(client, plain, "[[sim:reset]]")).hasMessageContaining("reset");
      Exchange survivor = slow.get(10, TimeUnit.SECONDS);

      assertThat(survivor.body).endsWith("data: [DONE]\n\n");
      assertThat(plain.stats().connectionsOpened()).as("both streams on one connection, which survived").isEqualTo(1);
      // the server counts a request done when its response ended on the server, which may be just after the
      // client read the end (seen once in a full run)
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (plain.stats().concurrentRequests(SimulatorHarness.KEY) > 0 && System.nanoTime() < until) {
        Thread.sleep(10);
      }
      assertThat(plain.stats().concurrentRequests(SimulatorHarness.KEY)).isZero();
    } finally {
      client.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void shouldCountTheMostConnectionsOpenAtOnceUntilReset() throws Exception {
    plain.stats().reset();
    HttpClientAgent client = client(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_1_1), 3);
    try {
      List<CompletableFuture<Exchange>> exchanges = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        exchanges.add(async(client, plain, "held " + i + " [[sim:slow ttft_ms=300 tps=0]]"));
      }
      for (CompletableFuture<Exchange> e : exchanges) {
        assertThat(e.get(10, TimeUnit.SECONDS).version).isEqualTo(HttpVersion.HTTP_1_1);
      }
      assertThat(plain.stats().maxOpenConnections()).isEqualTo(3);
      assertThat(plain.stats().openConnections(SimulatorStats.HTTP_1_1)).isEqualTo(3);
    } finally {
      client.close().await(10, TimeUnit.SECONDS);
    }
    SimulatorHarness.awaitCondition("the connections are counted closed", () -> plain.stats().openConnections() == 0);
    assertThat(plain.stats().maxOpenConnections()).as("a peak until reset").isEqualTo(3);
    plain.stats().reset();
    assertThat(plain.stats().maxOpenConnections()).isZero();
    assertThat(plain.stats().connectionsOpened()).isZero();
    assertThatThrownBy(() -> plain.stats().openConnections("h3"))
        .hasMessage("protocol must be \"h2\" or \"http/1.1\", was \"h3\"");
  }

  private record Exchange(HttpVersion version, Map<String, String> headers, String body) {}

  /** A streamed chat completion, blocking the test thread (never an event loop). */
  private static Exchange exchange(HttpClientAgent client, SimulatedProvider sim, String prompt) throws Exception {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setAbsoluteURI(sim.baseUrl()
        + "/chat/completions").putHeader("authorization", SimulatorHarness.KEY)
        .putHeader("content-type", "application/json");
    // the body is read in the same event-loop turn as the response arrives: a handler set later may miss its end
    return client.request(options)
        .compose(r -> r.send(Buffer.buffer(SimulatorHarness.chat(prompt, true).encode())))
        .compose(response -> response.body().map(body -> {
          Map<String, String> headers = new java.util.TreeMap<>();
          response.headers().forEach(h -> headers.put(h.getKey().toLowerCase(java.util.Locale.ROOT), h.getValue()));
          return new Exchange(response.version(), headers, body.toString());
        }))
        .await(30, TimeUnit.SECONDS); // a client's first TLS connection builds its SSL context: slow on a busy machine
  }

  private static CompletableFuture<Exchange> async(HttpClientAgent client, SimulatedProvider sim, String prompt) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return exchange(client, sim, prompt);
      } catch (Exception e) {
        throw new CompletionException(e);
      }
    });
  }

  private static HttpClientAgent client(HttpClientOptions options, int connections) {
    return vertx.httpClientBuilder().with(options)
        .with(new PoolOptions().setHttp1MaxSize(connections).setHttp2MaxSize(connections)).build();
  }

  private static HttpClientOptions trusting(HttpClientOptions options) {
    return options.setSsl(true).setTrustOptions(new PemTrustOptions().addCertPath(tls.caFile().toString()));
  }
}
