package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.kafka.embedded.LogCapture;
import io.promptfleet.simulator.RecordedRequest;
import io.promptfleet.simulator.SimulatorOptions;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

/**
 * How a worker connects to a provider, end to end on the broker: an Azure OpenAI provider served over HTTPS by the
 * simulator (its self-signed certificate trusted through {@code tls.ca_file}), reached through an authenticating
 * HTTP CONNECT proxy on loopback, with an extra header whose value comes from a variable; and a second provider on
 * the same server without the CA, whose job fails with a message naming the certificate problem and its fix.
 */
class ProviderTransportIT {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  void shouldSpeakAzureOverHttpsThroughAProxyAndNameAnUntrustedCertificate() throws Exception {
    String run = UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    String userVar = "PF_PROXY_USER_" + run;
    String passwordVar = "PF_PROXY_PASSWORD_" + run;
    String canaryVar = "PF_GATEWAY_TOKEN_" + run;
    String canary = "canary-header-" + run;
    System.setProperty(userVar, "fleet");
    System.setProperty(passwordVar, "proxy-pass-" + run);
    System.setProperty(canaryVar, canary);
    LogCapture logs = LogCapture.start();
    Vertx proxyVertx = Vertx.vertx();
    ConnectProxy proxy = ConnectProxy.start(proxyVertx, "fleet:proxy-pass-" + run);
    Map<String, String> keys = new LinkedHashMap<>();
    keys.put("k1", "{max_concurrency: 4}");
    keys.put("k2", "{provider: bare, max_concurrency: 4}");
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withTls().withFirstTokenDelayMs(5)
            .withTokensPerSecond(0).withDefaultCompletionTokens(3),
        """
        base_url: "${origin}", protocol: azure-openai, api_version: "2024-10-21",
        tls: {ca_file: "${ca_file}"},
        proxy: {url: "http://127.0.0.1:%d", username_env: %s, password_env: %s},
        headers: {x-gateway-token: {value_env: %s}}""".formatted(proxy.port(), userVar, passwordVar, canaryVar)
            .replace("\n", " "),
        keys, """
        providers:
          bare: {base_url: "${origin}", protocol: azure-openai, api_version: "2024-10-21"}
        models:
          chat:
            routes:
              - {provider: sim, model: gpt-4o-deploy}
          untrusted:
            routes:
              - {provider: bare, model: gpt-4o-deploy}
        dispatcher:
          retry: {base_ms: 20, cap_ms: 100, max_attempts: 2}
          breaker: {minimum_calls: 100}
        """)) {
      fleet.startDispatcher("d1");
      fleet.startWorkers(1);
      var t = fleet.config.topics();
      fleet.produce(t.jobsNormal(), "azure", fleet.job("azure", "chat", "hello azure", 8));
      fleet.produce(t.jobsNormal(), "untrusted", fleet.job("untrusted", "untrusted", "hello", 8));
      fleet.flush();
      Map<String, List<Result>> results = fleet.awaitResults(2, WAIT);
      assertThat(results.get("azure")).singleElement()
          .satisfies(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED));
      assertThat(results.get("untrusted")).singleElement().satisfies(r -> {
        assertThat(r.status()).isEqualTo(JobStatus.FAILED);
        assertThat(r.error().message()).contains(ErrorCodes.CONNECT_FAILED)
            .contains("the provider's TLS certificate is not trusted")
            .contains("add the CA that issued it to providers.bare.tls.ca_file");
      });
      // Azure's deployment URL, query and key header, exactly as Azure documents them.
      List<RecordedRequest> azure = fleet.sim.recentRequests().stream()
          .filter(r -> r.path().startsWith("/openai/")).toList();
      assertThat(azure).singleElement().satisfies(r -> {
        assertThat(r.method()).isEqualTo("POST");
        assertThat(r.path()).isEqualTo("/openai/deployments/gpt-4o-deploy/chat/completions");
        assertThat(r.query()).isEqualTo("api-version=2024-10-21");
        assertThat(r.header("api-key")).contains("sk-" + fleet.prefix + "-k1");
        assertThat(r.header("authorization")).as("Azure takes the key in api-key, not Authorization").isEmpty();
        assertThat(r.header("x-gateway-token")).contains(canary);
        assertThat(r.header("accept")).contains("text/event-stream");
      });

      // Through the proxy: one authenticated CONNECT tunnel to the simulator, none refused.
      assertThat(proxy.tunnels).containsExactly("127.0.0.1:" + fleet.sim.port());
      assertThat(proxy.refused).isEmpty();
      // Azure's x-ratelimit-* headers reach the dispatcher as OpenAI's do.
      java.util.function.Predicate<FleetEvent> azureReleased = e -> e.type() == FleetEvent.Type.LEASE_RELEASED
          && "azure".equals(e.jobId());
      var released = fleet.readUntil(t.fleetEvents(), WAIT, all -> all.stream()
          .map(r -> Json.read(r.value(), FleetEvent.class)).anyMatch(azureReleased));
      assertThat(released.stream().map(r -> Json.read(r.value(), FleetEvent.class))
          .filter(azureReleased).findFirst().orElseThrow().rateLimit())
          .containsKeys("x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens");
      // The header's value is a secret: in no record of the fleet's topics and in no log line.
      List<String> leaks = new ArrayList<>();
      var records = fleet.everyRecord();
      assertThat(records).as("the fleet's records").hasSizeGreaterThan(10);
      for (var r : records) {
        StringBuilder all = new StringBuilder(r.key() == null ? "" : r.key())
            .append(new String(r.value(), StandardCharsets.UTF_8));
        for (Header h : r.headers()) {
          all.append(h.key()).append(new String(h.value(), StandardCharsets.UTF_8));
        }
        if (all.indexOf(canary) >= 0) {
          leaks.add(r.topic() + "@" + r.offset());
        }
      }
      assertThat(leaks).as("records holding the header's value").isEmpty();
      assertThat(logs.text()).as("captured logs").contains(fleet.prefix).doesNotContain(canary)
          .doesNotContain("proxy-pass-" + run);
    } finally {
      logs.close();
      proxyVertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      List.of(userVar, passwordVar, canaryVar).forEach(System::clearProperty);
    }
  }

  /**
   * A minimal HTTP CONNECT proxy on loopback: checks {@code Proxy-Authorization: Basic}, opens the tunnel and
   * records its target; answers 407 to a request without the right credentials and 405 to anything but CONNECT.
   */
  private static final class ConnectProxy {
    final ConcurrentLinkedQueue<String> tunnels = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<String> refused = new ConcurrentLinkedQueue<>();
    private final NetServer server;

    private ConnectProxy(NetServer server) {
      this.server = server;
    }

    int port() {
      return server.actualPort();
    }

    static ConnectProxy start(Vertx vertx, String credentials) throws Exception {
      String expected = "Basic " + Base64.getEncoder().encodeToString(credentials.getBytes(StandardCharsets.UTF_8));
      ConnectProxy[] self = new ConnectProxy[1];
      NetServer server = vertx.createNetServer().connectHandler(client -> {
        Buffer head = Buffer.buffer();
        client.handler(data -> {
          head.appendBuffer(data);
          String text = head.toString(StandardCharsets.ISO_8859_1);
          int end = text.indexOf("\r\n\r\n");
          if (end < 0) {
            return;
          }
          client.handler(null);
          client.pause();
          self[0].open(vertx, client, text.substring(0, end), expected);
        });
      });
      server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      self[0] = new ConnectProxy(server);
      return self[0];
    }

    private void open(Vertx vertx, NetSocket client, String head, String expected) {
      String[] lines = head.split("\r\n");
      String[] requestLine = lines[0].split(" ");
      String auth = null;
      for (String line : lines) {
        if (line.regionMatches(true, 0, "proxy-authorization:", 0, 20)) {
          auth = line.substring(20).trim();
        }
      }
      if (!"CONNECT".equals(requestLine[0])) {
        refused.add(lines[0]);
        client.end(Buffer.buffer("HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n"));
        return;
      }
      if (!Objects.equals(expected, auth)) {
        refused.add(lines[0] + " (" + (auth == null ? "no" : "wrong") + " Proxy-Authorization)");
        client.end(Buffer.buffer("HTTP/1.1 407 Proxy Authentication Required\r\n"
            + "proxy-authenticate: Basic realm=\"test\"\r\ncontent-length: 0\r\n\r\n"));
        return;
      }
      String target = requestLine[1];
      int colon = target.lastIndexOf(':');
      vertx.createNetClient().connect(Integer.parseInt(target.substring(colon + 1)), target.substring(0, colon))
          .onFailure(e -> client.end(Buffer.buffer("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")))
          .onSuccess(upstream -> {
            tunnels.add(target);
            client.write(Buffer.buffer("HTTP/1.1 200 Connection established\r\n\r\n"));
            client.handler(upstream::write);
            upstream.handler(client::write);
            client.closeHandler(v -> upstream.close());
            upstream.closeHandler(v -> client.close());
            client.resume();
          });
    }
  }
}
