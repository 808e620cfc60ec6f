package io.promptfleet.dispatcher.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the batch clients send where, against a provider that echoes what it got: the key and the provider's header
 * values never reach a failure's message, and the key goes only to the provider's base URL, whatever URL a batch
 * object names for its results.
 */
class BatchHttpTest {
  private static final String SECRET = "sk-ant-echoed-secret";
  private static final String GATEWAY_TOKEN = "gw-token-0123456789";

  private HttpServer server;
  private final List<String> paths = new CopyOnWriteArrayList<>();
  private String base;

  @BeforeEach
  void start() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", exchange -> {
      paths.add(exchange.getRequestURI().getPath());
      byte[] body = ("{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"you sent x-api-key "
          + exchange.getRequestHeaders().getFirst("x-api-key") + " and x-gateway-token "
          + exchange.getRequestHeaders().getFirst("x-gateway-token") + "\"}}").getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(500, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
    base = "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  @Test
  void shouldKeepTheKeyAndTheProvidersHeaderValuesOutOfAFailureThatEchoesThem() {
    AnthropicBatchClient client = client();

    assertThatThrownBy(() -> client.poll("msgbatch_1")).isInstanceOf(BatchCallException.class)
        .satisfies(e -> assertThat(((BatchCallException) e).retriable()).isTrue())
        .hasMessageContaining("read message batch msgbatch_1: HTTP 500")
        .hasMessageContaining("you sent x-api-key *** and x-gateway-token ***")
        .hasMessageNotContaining(SECRET).hasMessageNotContaining(GATEWAY_TOKEN);
  }

  @Test
  void shouldReadResultsOnlyUnderTheProvidersBaseUrl() {
    AnthropicBatchClient client = client();

    assertThatThrownBy(() -> client.results("msgbatch_1", base + "/messages/batches/msgbatch_1/results?page=2"))
        .isInstanceOf(BatchCallException.class);
    assertThatThrownBy(() -> client.results("msgbatch_2", "http://127.0.0.2:1/v1/messages/batches/msgbatch_2/results"))
        .isInstanceOf(BatchCallException.class);

    assertThat(paths).as("a results_url elsewhere is not called: the base URL's results path is")
        .containsExactly("/v1/messages/batches/msgbatch_1/results", "/v1/messages/batches/msgbatch_2/results");
  }

  private AnthropicBatchClient client() {
    return new AnthropicBatchClient(HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build(), base,
        SECRET, "2023-06-01", Map.of("x-gateway-token", GATEWAY_TOKEN));
  }
}
