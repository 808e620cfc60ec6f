package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.Result;
import io.promptfleet.simulator.Fault;
import io.promptfleet.simulator.SimulatorOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Embeddings jobs ({@code "endpoint": "/v1/embeddings"}) through a real broker, dispatcher and worker to the
 * simulated provider: the result carries the vectors and usage and no chunk is written; a transient 5xx is retried
 * as a new attempt, a 400 fails once; the key's requests per window hold; the route's default completion limit is
 * not reserved for them (it alone would exceed the key's tokens per window).
 */
class EmbeddingsIT {
  private static final long WINDOW_MS = 2_000;
  private static final int REQUESTS_PER_WINDOW = 8;
  private static final int BULK = 24;

  @Test
  void shouldAnswerEmbeddingsJobsWithVectorsRetryingTransientFailuresWithinTheKeysLimits() throws Exception {
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(5),
        Map.of("k", "{max_concurrency: 4, requests_per_minute: %d, tokens_per_minute: 300000}"
            .formatted(REQUESTS_PER_WINDOW * 60_000 / WINDOW_MS)), """
        models:
          emb:
            routes:
              - {provider: sim, model: text-embedding-3-small, default_max_tokens: 50000, max_tokens_cap: 100000}
        dispatcher:
          rate_window_ms: 2000
          retry: {base_ms: 50, cap_ms: 100, max_attempts: 3}
          breaker: {minimum_calls: 100}
        """)) {
      fleet.startDispatcher("d1");
      fleet.startWorkers(1);
      String jobs = fleet.config.topics().jobsNormal();
      // Warm up: the worker has joined the share group once one job went through; then count from zero.
      fleet.produce(jobs, "warm-up", embeddings(fleet, "warm-up", input("hi"), null));
      fleet.flush();
      assertThat(fleet.awaitResults(1, Duration.ofSeconds(60))).containsKey("warm-up");
      Thread.sleep(WINDOW_MS);
      fleet.sim.stats().reset();
      fleet.produce(jobs, "vec", embeddings(fleet, "vec", input("hello", "world"), "float"));
      fleet.produce(jobs, "b64", embeddings(fleet, "b64", input("hello"), "base64"));
      fleet.produce(jobs, "flaky", embeddings(fleet, "flaky",
          input("flaky " + Fault.status(503).times(1).toDirective()), null));
      fleet.produce(jobs, "bad", embeddings(fleet, "bad", input("bad " + Fault.status(400).toDirective()), null));
      for (int i = 0; i < BULK; i++) {
        fleet.produce(jobs, "bulk-" + i, embeddings(fleet, "bulk-" + i, input("text " + i), null));
      }
      fleet.flush();

      Map<String, List<Result>> results = fleet.awaitResults(BULK + 5, Duration.ofSeconds(60));
      results.remove("warm-up");

      assertThat(results).hasSize(BULK + 4).allSatisfy((job, rs) -> assertThat(rs).as(job).hasSize(1));
      Result vec = results.get("vec").get(0);
      assertThat(vec.status()).isEqualTo(JobStatus.SUCCEEDED);
      assertThat(vec.data()).hasSize(2).allSatisfy(e -> assertThat(e.embedding().size()).isEqualTo(8));
      assertThat(vec.data().get(1).index()).isEqualTo(1);
      assertThat(vec.usage().promptTokens()).as("the simulator's count: 2 + 2").isEqualTo(4);
      assertThat(vec.usage().totalTokens()).isEqualTo(4);
      assertThat(vec.usage().completionTokens()).isZero();
      assertThat(vec.model()).isEqualTo("text-embedding-3-small");
      assertThat(vec.content()).isNull();
      assertThat(vec.message()).isNull();
      ByteBuffer floats = ByteBuffer.wrap(Base64.getDecoder().decode(results.get("b64").get(0).data().get(0)
          .embedding().textValue())).order(ByteOrder.LITTLE_ENDIAN);
      assertThat(floats.getFloat()).as("base64 as sent: the same vector as the float answer for the same input")
          .isEqualTo(vec.data().get(0).embedding().get(0).floatValue());

      Result flaky = results.get("flaky").get(0);
      assertThat(flaky.status()).isEqualTo(JobStatus.SUCCEEDED);
      assertThat(flaky.attempt()).as("the 503 was retried as a new attempt").isEqualTo(2);
      Result bad = results.get("bad").get(0);
      assertThat(bad.status()).isEqualTo(JobStatus.FAILED);
      assertThat(bad.error().code()).isEqualTo(ErrorCodes.UPSTREAM_REJECTED);
      assertThat(bad.attempts()).isEqualTo(1);
      List<Assignment> assignments = fleet.assignments(BULK + 6, Duration.ofSeconds(10));
      assertThat(assignments).filteredOn(a -> a.job().jobId().equals("bad")).as("a 400 is answered once")
          .hasSize(1);
      assertThat(assignments).allSatisfy(a -> assertThat(a.job().isEmbeddings()).isTrue());

      List<Reply> replies = new ArrayList<>();
      fleet.readUntil(fleet.config.topics().defaultReplyTo(), Duration.ofSeconds(1), all -> false)
          .forEach(r -> replies.add(Json.read(r.value(), Reply.class)));
      assertThat(replies).hasSize(BULK + 5).noneMatch(r -> r instanceof Chunk);

      // Dispatch time is the authority (a worker's pickup adds jitter between dispatch and arrival): at most the
      // key's requests in any window, and the provider saw them spread over the windows that takes.
      List<Long> times = assignments.stream().filter(a -> !a.job().jobId().equals("warm-up"))
          .map(a -> a.dispatchedAt().toEpochMilli()).sorted().toList();
      int max = 0;
      for (int i = 0, j = 0; i < times.size(); i++) {
        while (times.get(i) - times.get(j) >= WINDOW_MS) {
          j++;
        }
        max = Math.max(max, i - j + 1);
      }
      assertThat(max).as("assignments of k dispatched in any window").isEqualTo(REQUESTS_PER_WINDOW);
      List<java.time.Instant> arrivals = fleet.sim.stats().requestStarts(fleet.auth("k")).stream().sorted().toList();
      assertThat(arrivals).hasSize(BULK + 5);
      int fullWindows = (BULK + 5 - 1) / REQUESTS_PER_WINDOW;
      assertThat(Duration.between(arrivals.get(0), arrivals.get(arrivals.size() - 1)))
          .as("%d requests at %d per window", BULK + 5, REQUESTS_PER_WINDOW)
          .isGreaterThan(Duration.ofMillis(fullWindows * WINDOW_MS - 1_000));
    }
  }

  private static ArrayNode input(String... texts) {
    ArrayNode a = Json.mapper().createArrayNode();
    for (String t : texts) {
      a.add(t);
    }
    return a;
  }

  /** An embeddings job as a producer in any language would write it. */
  private static byte[] embeddings(Fleet fleet, String jobId, ArrayNode input, String encoding) {
    ObjectNode o = Json.mapper().createObjectNode();
    o.put("job_id", jobId).put("model", "emb").put("endpoint", "/v1/embeddings")
        .put("reply_to", fleet.config.topics().defaultReplyTo()).put("dimensions", 8);
    o.set("input", input);
    if (encoding != null) {
      o.put("encoding_format", encoding);
    }
    return Json.bytes(o);
  }
}
