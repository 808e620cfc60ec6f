package io.promptfleet.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.Result;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

/** The whole path on a real broker and a real HTTP provider: jobs in, streamed chunks and one result out. */
class WalkingSkeletonIT {

  @Test
  void shouldAnswerEveryJobOfEveryPriorityWithGapFreeChunksAndOneSucceededResult() throws Exception {
    try (TestFleet fleet = TestFleet.start(2)) {
      // Given 200 jobs spread over the three priority topics
      int n = 200;
      for (int i = 0; i < n; i++) {
        Priority p = Priority.values()[i % 3];
        String id = fleet.prefix + "-job-" + i;
        fleet.produceAsync(fleet.config.topics().jobs(p), id, fleet.job(id, "question number " + i, 8 + i % 17));
      }
      fleet.flush();

      // When the fleet has answered them
      Map<String, List<Reply>> byJob = fleet.awaitResults(n, Duration.ofSeconds(90));

      // Then every job has exactly one succeeded result whose content is its chunks joined, seq gap-free
      assertThat(byJob).hasSize(n);
      for (var e : byJob.entrySet()) {
        List<Result> results = TestFleet.results(e.getValue());
        assertThat(results).as("results of %s", e.getKey()).hasSize(1);
        Result r = results.get(0);
        assertThat(r.status()).as("status of %s: %s", e.getKey(), r.error()).isEqualTo(JobStatus.SUCCEEDED);
        List<Chunk> chunks = TestFleet.chunks(e.getValue());
        assertThat(chunks).isNotEmpty();
        assertThat(chunks).extracting(Chunk::attempt).containsOnly(r.attempt());
        for (int i = 0; i < chunks.size(); i++) {
          assertThat(chunks.get(i).seq()).as("seq of chunk %d of %s", i, e.getKey()).isEqualTo(i);
        }
        assertThat(r.content()).isEqualTo(chunks.stream().map(Chunk::delta).collect(Collectors.joining()));
        assertThat(r.usage()).isNotNull();
        int asked = 8 + Integer.parseInt(e.getKey().substring(e.getKey().lastIndexOf('-') + 1)) % 17;
        assertThat(r.usage().completionTokens()).isEqualTo(asked);
        // a chunk carries the text of one delta or, coalesced (worker.chunks_in_flight), of several; never none
        assertThat(chunks).hasSizeLessThanOrEqualTo(asked).allSatisfy(c -> assertThat(c.delta()).isNotEmpty());
        assertThat(r.attempts()).isEqualTo(1);
        assertThat(r.timings()).isNotNull();
        assertThat(r.cost()).isPositive();
        assertThat(r.metadata().get("test").asText()).isEqualTo(fleet.prefix);
      }
      // the last chunk is the last record of its attempt before the result (order within the partition)
      for (var replies : byJob.values()) {
        assertThat(replies.get(replies.size() - 1)).isInstanceOf(Result.class);
      }
    }
  }

  @Test
  void shouldDeadLetterBadRecordsAndRejectWhatHasAJobIdWithoutStopping() throws Exception {
    try (TestFleet fleet = TestFleet.start(1)) {
      String normal = fleet.config.topics().jobsNormal();
      String p = fleet.prefix;
      // Given bad records of every kind, then a good job
      fleet.produce(normal, "a", "this is not json".getBytes(StandardCharsets.UTF_8));
      fleet.produce(normal, "b", "[1,2,3]".getBytes(StandardCharsets.UTF_8));
      fleet.produce(normal, "c", ("{\"model\":\"sim\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")
          .getBytes(StandardCharsets.UTF_8));
      fleet.produce(normal, p + "-no-messages", ("{\"job_id\":\"" + p + "-no-messages\",\"model\":\"sim\","
          + "\"reply_to\":\"" + fleet.replies() + "\"}").getBytes(StandardCharsets.UTF_8));
      fleet.produce(normal, p + "-wrong-type", ("{\"job_id\":\"" + p + "-wrong-type\",\"model\":\"sim\","
          + "\"max_tokens\":\"many\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")
          .getBytes(StandardCharsets.UTF_8));
      fleet.produce(normal, p + "-elsewhere", ("{\"job_id\":\"" + p + "-elsewhere\",\"model\":\"sim\","
          + "\"reply_to\":\"somebody.elses.topic\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")
          .getBytes(StandardCharsets.UTF_8));
      fleet.produce(normal, p + "-unknown-model", ("{\"job_id\":\"" + p + "-unknown-model\",\"model\":\"gpt-9\","
          + "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}").getBytes(StandardCharsets.UTF_8));
      fleet.produce(normal, p + "-key", ("{\"job_id\":\"" + p + "-key\",\"model\":\"sim\",\"api_key\":\"sk-x\","
          + "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}").getBytes(StandardCharsets.UTF_8));
      fleet.produce(normal, p + "-good", fleet.job(p + "-good", "still working?", 5));

      // When the fleet has answered everything it can
      Map<String, List<Reply>> byJob = fleet.awaitResults(5, Duration.ofSeconds(60));

      // Then the good job succeeded after all the bad ones
      assertThat(TestFleet.results(byJob.get(p + "-good"))).singleElement()
          .extracting(Result::status).isEqualTo(JobStatus.SUCCEEDED);
      // and the ones with a readable job_id got one rejected result naming the problem
      assertRejected(byJob, p + "-no-messages", "messages is missing");
      assertRejected(byJob, p + "-wrong-type", "max_tokens must be a positive integer");
      assertRejected(byJob, p + "-unknown-model", "unknown model gpt-9");
      assertRejected(byJob, p + "-key", "api_key is not allowed");
      assertThat(byJob).doesNotContainKey(p + "-elsewhere");

      // and every unparseable record is in the dead-letter topic with its original bytes and the reason
      var dead = TestFleet.readUntil(fleet.config.kafka().bootstrapServers(), fleet.config.topics().deadLetters(),
          Duration.ofSeconds(30), all -> all.size() >= 7);
      assertThat(dead).hasSize(7);
      Map<String, String> reasonByKey = dead.stream().collect(Collectors.toMap(r -> r.key(),
          r -> header(r.headers().lastHeader("pf.dlq.reason"))));
      assertThat(reasonByKey.get("a")).startsWith("not JSON");
      assertThat(reasonByKey.get("b")).isEqualTo("a job must be a JSON object");
      assertThat(reasonByKey.get("c")).contains("job_id is missing");
      assertThat(reasonByKey.get(p + "-elsewhere")).contains("reply_to somebody.elses.topic is not allowed");
      var notJson = dead.stream().filter(r -> "a".equals(r.key())).findFirst().orElseThrow();
      assertThat(new String(notJson.value(), StandardCharsets.UTF_8)).isEqualTo("this is not json");
      assertThat(header(notJson.headers().lastHeader("pf.dlq.topic"))).isEqualTo(normal);
    }
  }

  private static void assertRejected(Map<String, List<Reply>> byJob, String jobId, String reason) {
    assertThat(byJob).containsKey(jobId);
    assertThat(TestFleet.results(byJob.get(jobId))).singleElement().satisfies(r -> {
      assertThat(r.status()).isEqualTo(JobStatus.REJECTED);
      assertThat(r.error().message()).contains(reason);
      assertThat(r.error().retryable()).isFalse();
    });
    assertThat(TestFleet.chunks(byJob.get(jobId))).isEmpty();
  }

  private static String header(Header h) {
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

}
