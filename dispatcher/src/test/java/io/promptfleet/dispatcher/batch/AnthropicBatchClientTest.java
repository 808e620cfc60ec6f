package io.promptfleet.dispatcher.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.codec.JobParser;
import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Route;
import io.promptfleet.common.upstream.UnsupportedJobException;
import io.promptfleet.simulator.SimulatedProvider;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The batcher's Anthropic client against the simulated provider's Message Batches over loopback: the calls a
 * batch's life makes, the request each job becomes, and the lookup of a batch whose create was not recorded.
 */
class AnthropicBatchClientTest {
  private static final Instant ENQUEUED = Instant.parse("2026-01-01T00:00:00Z");
  private static LoopbackProvider provider;
  private static SimulatedProvider sim;
  private static AnthropicBatchClient client;
  private static RouteSettings route;

  @BeforeAll
  static void start() throws Exception {
    provider = LoopbackProvider.start();
    sim = provider.sim();
    client = new AnthropicBatchClient(HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build(), sim.baseUrl(), "sk-ant-test", "2023-06-01", Map.of());
    System.setProperty("PF_ANTHROPIC_BATCH_TEST_KEY", "sk-ant-test");
    route = ConfigLoader.parse("""
        providers: {a: {base_url: "%s", protocol: anthropic}}
        keys: {k: {provider: a, secret_env: PF_ANTHROPIC_BATCH_TEST_KEY}}
        models:
          m:
            routes:
              - {provider: a, model: claude-test, price_input_per_mtok: 3.0, price_output_per_mtok: 15.0,
                 batch: {protocol: anthropic}}
        """.formatted(sim.baseUrl()), Map.of(), new Properties()).models().get("m").routes().get(0);
  }

  @AfterAll
  static void stop() throws Exception {
    provider.close();
  }

  @Test
  void shouldCreatePollAndReadTheResultsOfAMessageBatchAndMapThemBackToTheJobs() throws Exception {
    BatchRecords.Member plain = member("job-1", "");
    BatchRecords.Member dotted = member("tenant.a/job:2", "");
    BatchRecords.Batch record = record("k1", Instant.now().minusSeconds(1));

    BatchApi.Created created = client.create(record, List.of(client.line(plain, BatchLines.MESSAGES_URL, route, "k"),
        client.line(dotted, BatchLines.MESSAGES_URL, route, "k")));
    BatchApi.Polled p = client.poll(created.providerBatchId());
    long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!p.ended() && System.nanoTime() < until) {
      Thread.sleep(20);
      p = client.poll(created.providerBatchId());
    }

    assertThat(created.providerBatchId()).startsWith("msgbatch_");
    assertThat(p.status()).isEqualTo("ended");
    assertThat(p.lines()).extracting(l -> l.path("custom_id").asText())
        .containsExactlyInAnyOrder("job-1", client.customId("tenant.a/job:2"));
    assertThat(client.customId("tenant.a/job:2")).as("Anthropic's custom_id rule").matches("[a-zA-Z0-9_-]{1,64}");
    Route priced = new Route("a/claude-test", "a", "claude-test", 1.5, 7.5);
    for (JsonNode line : p.lines()) {
      BatchRecords.Member m = line.path("custom_id").asText().equals("job-1") ? plain : dotted;
      assertThat(client.answer(line, m, priced, Instant.now())).isInstanceOfSatisfying(BatchAnswers.Answered.class,
          a -> {
            assertThat(a.result().jobId()).isEqualTo(m.job().jobId());
            assertThat(a.result().usage().completionTokens()).isEqualTo(3);
            assertThat(a.result().cost()).isEqualTo(priced.cost(a.result().usage()));
          });
    }
  }

  @Test
  void shouldSendTheBodyOfTheLiveCallWithoutStreamAsTheRequestsParams() throws Exception {
    JsonNode line = Json.mapper().readTree(new String(client.line(member("j", ", \"stream\": true, \"stop\": \"END\""),
        BatchLines.MESSAGES_URL, route, "k"), StandardCharsets.UTF_8).replaceAll(",$", ""));

    assertThat(line.path("custom_id").asText()).isEqualTo("j");
    assertThat(line.path("params").path("model").asText()).isEqualTo("claude-test");
    assertThat(line.path("params").path("max_tokens").asInt()).isEqualTo(100);
    assertThat(line.path("params").path("stop_sequences").get(0).asText()).isEqualTo("END");
    assertThat(line.path("params").has("stream")).as("a batch request is never streamed").isFalse();
    assertThatThrownBy(() -> client.line(member("j", ", \"logit_bias\": {\"1\": 5}"), BatchLines.MESSAGES_URL, route,
        "k")).isInstanceOf(UnsupportedJobException.class).hasMessageContaining("logit_bias");
  }

  @Test
  void shouldFindTheBatchWhoseCreateWasNotRecordedByItsShapeAndNotABatchRecordedForAnother() throws Exception {
    Instant opened = Instant.now().minusMillis(5);
    BatchRecords.Batch record = record("k2", opened);
    List<byte[]> lines = List.of(client.line(member("f1", ""), BatchLines.MESSAGES_URL, route, "k"),
        client.line(member("f2", ""), BatchLines.MESSAGES_URL, route, "k"),
        client.line(member("f3", ""), BatchLines.MESSAGES_URL, route, "k"));
    String id = client.create(record, lines).providerBatchId();

    assertThat(client.find(record, 3, Set.of())).extracting(BatchApi.Created::providerBatchId).isEqualTo(id);
    assertThat(client.find(record, 3, Set.of(id))).as("recorded for another batch").isNull();
    assertThat(client.find(record, 2, Set.of())).as("another size").isNull();
    assertThat(client.find(record("k3", Instant.now().plusSeconds(60)), 3, Set.of()))
        .as("created before the batch opened").isNull();
  }

  @Test
  void shouldNameTheCallAndKeepTheKeyOutOfAFailure() {
    assertThatThrownBy(() -> client.poll("msgbatch_missing")).isInstanceOf(BatchCallException.class)
        .hasMessageContaining("read message batch msgbatch_missing: HTTP 404").hasMessageNotContaining("sk-ant-test");
  }

  private static BatchRecords.Batch record(String key, Instant opened) {
    return new BatchRecords.Batch(key, "a/claude-test", "m", "k", BatchRecords.State.COLLECTING, opened, null, null,
        null, BatchLines.MESSAGES_URL);
  }

  private static BatchRecords.Member member(String jobId, String fields) {
    Job job = ((JobParser.Accepted) new JobParser(1 << 20).parse(("{\"job_id\": \"" + jobId + "\", \"model\": \"m\","
        + " \"max_tokens\": 100, \"batch\": \"allow\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]"
        + fields + "}").getBytes(StandardCharsets.UTF_8))).job();
    return new BatchRecords.Member("k", job.withReplyTo("llm.replies"), Priority.LOW, ENQUEUED,
        ENQUEUED.plusSeconds(86_400), 100);
  }
}
