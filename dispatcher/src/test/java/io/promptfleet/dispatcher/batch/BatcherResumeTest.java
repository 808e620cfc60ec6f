package io.promptfleet.dispatcher.batch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.codec.JobParser;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.Result;
import io.promptfleet.dispatcher.capacity.TokenEstimator;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.intake.Inbound;
import io.promptfleet.dispatcher.intake.Pending;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.transaction.Outbound;
import io.promptfleet.dispatcher.transaction.RecordSink;
import io.promptfleet.simulator.SimulatedProvider;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Predicate;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The crash between a batch's create at the provider and its record in Kafka, driven exactly: a batcher submits a
 * batch against the simulated provider and its record of the create is lost (the successor reads only what was
 * written before: the batch as collecting, its members); the successor looks the batch up (OpenAI: by {@code
 * metadata.promptfleet_batch_key}; Anthropic: by its shape), records the same provider batch, creates none, and
 * answers every member from it. No Kafka here: the records a round writes are kept and read back by hand.
 */
class BatcherResumeTest {
  private static final TopicPartition TP = new TopicPartition("llm.jobs.low", 0);
  private static final TokenEstimator TOKENS = new TokenEstimator();
  private static LoopbackProvider provider;
  private static SimulatedProvider sim;

  @BeforeAll
  static void start() throws Exception {
    provider = LoopbackProvider.start();
    sim = provider.sim();
    System.setProperty("PF_BATCHER_RESUME_TEST_KEY", "sk-resume-test");
  }

  @AfterAll
  static void stop() throws Exception {
    provider.close();
  }

  @ParameterizedTest
  @ValueSource(strings = {"openai", "anthropic"})
  void shouldFindTheBatchWhoseCreateWasNotRecordedAndNeverCreateASecond(String protocol) throws Exception {
    FleetConfig config = config(protocol);
    String model = "m-" + protocol;
    List<Outbound> durable = new ArrayList<>();
    String createdId;
    try (Batcher first = new Batcher(config, new DispatcherMetrics(new SimpleMeterRegistry()))) {
      long now = System.currentTimeMillis();
      for (int i = 0; i < 3; i++) {
        assertThat(first.divert(pending(config, model, protocol + "-job-" + i, now), now)).isTrue();
      }
      durable.addAll(write(first));
      first.committed();
      // the window passes: the batch is submitted; its create returns and its record is staged, then lost
      List<Outbound> lost = new ArrayList<>();
      long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (lost.isEmpty() && System.nanoTime() < until) {
        first.settle(System.currentTimeMillis() + 1_000, id -> false, false);
        lost.addAll(write(first));
        Thread.sleep(10);
      }
      assertThat(lost).as("the record of the create").singleElement()
          .satisfies(o -> assertThat(BatchRecords.batch(o.value()).state()).isEqualTo(BatchRecords.State.SUBMITTED));
      createdId = BatchRecords.batch(lost.get(0).value()).providerBatchId();
    }
    assertThat(providerBatches(protocol)).contains(createdId);

    try (Batcher successor = new Batcher(config, new DispatcherMetrics(new SimpleMeterRegistry()))) {
      long offset = 0;
      for (Outbound o : durable) {
        successor.restore(new Inbound(o.topic(), 0, offset++, 0, o.key(), o.value()));
      }
      assertThat(successor.restored(System.currentTimeMillis())).isEqualTo(1);
      List<Outbound> written = new ArrayList<>();
      Predicate<String> none = id -> false;
      long until = System.nanoTime() + Duration.ofSeconds(15).toNanos();
      while (written.stream().filter(o -> !o.topic().endsWith(".batches")).count() < 6
          && System.nanoTime() < until) {
        successor.settle(System.currentTimeMillis() + 1_000, none, false);
        written.addAll(write(successor));
        successor.committed();
        Thread.sleep(20);
      }

      assertThat(written.stream().filter(o -> o.key().startsWith(BatchRecords.BATCH_PREFIX) && o.value() != null)
          .map(o -> BatchRecords.batch(o.value()).providerBatchId())).as("the successor recorded the same batch")
          .containsExactly(createdId);
      assertThat(providerBatches(protocol)).as("one create only").containsOnlyOnce(createdId)
          .hasSize(1);
      List<Result> results = written.stream().filter(o -> o.topic().equals("llm.replies"))
          .map(o -> Json.read(o.value(), Reply.class)).filter(Result.class::isInstance).map(Result.class::cast)
          .toList();
      assertThat(results).extracting(Result::jobId).containsExactlyInAnyOrder(protocol + "-job-0",
          protocol + "-job-1", protocol + "-job-2");
      assertThat(results).allSatisfy(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED));
    }
  }

  private static FleetConfig config(String protocol) {
    return ConfigLoader.parse("""
        providers: {p: {base_url: "%1$s", protocol: %2$s}}
        keys: {k: {provider: p, secret_env: PF_BATCHER_RESUME_TEST_KEY}}
        topics: {prefix: resume-%2$s}
        models:
          m-%2$s:
            routes:
              - {provider: p, model: m, price_input_per_mtok: 1.0, price_output_per_mtok: 2.0,
                 batch: {protocol: %2$s, min_slack_ms: 3600000, window_ms: 1}}
        dispatcher:
          batch: {poll_initial_ms: 20, poll_max_ms: 50}
        """.formatted(sim.baseUrl(), protocol), Map.of(), new Properties());
  }

  /** The ids of the simulator's batches of {@code protocol}'s API (every key sees them all). */
  private static List<String> providerBatches(String protocol) throws Exception {
    HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(sim.baseUrl()
        + (protocol.equals("openai") ? "/batches?limit=100" : "/messages/batches?limit=100")));
    r = protocol.equals("openai") ? r.header("authorization", "Bearer sk-resume-test")
        : r.header("x-api-key", "sk-resume-test");
    JsonNode page = Json.mapper().readTree(HttpClient.newHttpClient().send(r.build(),
        HttpResponse.BodyHandlers.ofString()).body());
    List<String> ids = new ArrayList<>();
    page.path("data").forEach(b -> ids.add(b.path("id").asText()));
    return ids;
  }

  private static Pending pending(FleetConfig config, String model, String id, long now) {
    Job job = ((JobParser.Accepted) new JobParser(1 << 20).parse(("{\"job_id\": \"" + id + "\", \"model\": \""
        + model + "\", \"max_tokens\": 50, \"batch\": \"allow\", \"messages\": [{\"role\": \"user\", \"content\":"
        + " \"Hello " + id + "\"}]}").getBytes(StandardCharsets.UTF_8))).job().withReplyTo("llm.replies");
    Decision.Dispatch d = new Decision.Dispatch(job, 1, List.of(config.models().get(model).routes().get(0)),
        Instant.ofEpochMilli(now), Instant.ofEpochMilli(now + 7_200_000));
    return new Pending(TP, now % 1_000_000, Lane.LOW, model, d, Priority.LOW, now, TOKENS.estimate(job), null,
        null);
  }

  private static List<Outbound> write(Batcher b) {
    List<Outbound> out = new ArrayList<>();
    b.write(new RecordSink() {
      @Override
      public void begin() {}

      @Override
      public void send(Outbound o) {
        out.add(o);
      }
    }, (tp, off) -> { });
    return out;
  }
}
