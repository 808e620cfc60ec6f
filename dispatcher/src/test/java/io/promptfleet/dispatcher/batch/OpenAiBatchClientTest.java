package io.promptfleet.dispatcher.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.simulator.SimulatedProvider;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The batcher's OpenAI client against the simulated provider over loopback: the calls a batch's life makes. */
class OpenAiBatchClientTest {
  private static LoopbackProvider provider;
  private static SimulatedProvider sim;
  private static OpenAiBatchClient client;

  @BeforeAll
  static void start() throws Exception {
    provider = LoopbackProvider.start();
    sim = provider.sim();
    client = new OpenAiBatchClient(HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build(), sim.baseUrl(), "Bearer sk-test", Map.of());
  }

  @AfterAll
  static void stop() throws Exception {
    provider.close();
  }

  @Test
  void shouldUploadCreateFindPollAndReadTheOutputOfABatch() throws Exception {
    byte[] lines = ("{\"custom_id\":\"a\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"m\","
        + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}}\n").getBytes(StandardCharsets.UTF_8);
    String file = client.upload(lines, "k1.jsonl");
    JsonNode created = client.create(file, BatchLines.CHAT_URL, "k1");
    String id = created.path("id").asText();

    assertThat(client.find("k1").path("id").asText()).isEqualTo(id);
    assertThat(client.find("no-such-key")).isNull();
    JsonNode b = client.get(id);
    long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!OpenAiBatchClient.ENDED.contains(b.path("status").asText()) && System.nanoTime() < until) {
      Thread.sleep(20);
      b = client.get(id);
    }
    assertThat(b.path("status").asText()).isEqualTo("completed");
    List<JsonNode> out = client.lines(b.path("output_file_id").asText());
    assertThat(out).singleElement().satisfies(l -> {
      assertThat(l.path("custom_id").asText()).isEqualTo("a");
      assertThat(l.path("response").path("status_code").asInt()).isEqualTo(200);
    });
  }

  @Test
  void shouldNameTheCallAndKeepTheKeyOutOfAFailure() {
    assertThatThrownBy(() -> client.get("batch_missing")).isInstanceOf(BatchCallException.class)
        .hasMessageContaining("read batch batch_missing: HTTP 404").hasMessageNotContaining("sk-test");
  }
}
