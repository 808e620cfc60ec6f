package io.promptfleet.dispatcher.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.codec.JobParser;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.RetryRequest;
import io.promptfleet.dispatcher.capacity.TokenEstimator;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.intake.Pending;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.transaction.Outbound;
import io.promptfleet.dispatcher.transaction.RecordSink;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The batcher's decisions without Kafka or a provider (no batch is ever due for submission here: the window is long
 * and nothing closes it but its limits): which jobs it takes, how it splits them into batches within the route's
 * limits, and what it writes when a member is cancelled, a batch nears its members' deadlines, or a transaction
 * aborts.
 */
class BatcherTest {
  private static final long NOW = 1_800_000_000_000L;
  private static final long HOUR = 3_600_000;
  private static final TopicPartition TP = new TopicPartition("llm.jobs.low", 0);
  private static final TokenEstimator TOKENS = new TokenEstimator();

  private final List<Batcher> made = new ArrayList<>();
  private FleetConfig config;
  private long offset;

  @AfterEach
  void close() {
    made.forEach(Batcher::close);
  }

  @Test
  void shouldSplitJobsIntoBatchesOfAtMostTheRoutesRequestsPerFile() {
    Batcher b = batcher("max_requests_per_file: 3");
    for (int i = 0; i < 7; i++) {
      assertThat(b.divert(pending("j" + i, 2 * HOUR, true), NOW)).isTrue();
    }
    Written w = write(b);

    assertThat(w.membersByBatch().values()).extracting(List::size).containsExactly(3, 3, 1);
    assertThat(w.offsets).as("every job record's offset goes with its member record").hasSize(7);
    assertThat(w.batchRecords).hasSize(3);
  }

  @Test
  void shouldSplitEmbeddingsJobsIntoBatchesOfAtMostTheRoutesEmbeddingsPerFileApartFromChatJobs() {
    Batcher b = batcher("max_requests_per_file: 5, max_embeddings_per_file: 2");
    for (int i = 0; i < 5; i++) {
      assertThat(b.divert(pendingEmbeddings("e" + i), NOW)).isTrue();
    }
    for (int i = 0; i < 5; i++) {
      assertThat(b.divert(pending("j" + i, 2 * HOUR, true), NOW)).isTrue();
    }
    Written w = write(b);

    assertThat(w.membersByBatch().values()).extracting(List::size)
        .as("embeddings results are read whole: small batches of them; chat up to max_requests_per_file")
        .containsExactlyInAnyOrder(2, 2, 1, 5);
  }

  @Test
  void shouldCloseABatchBeforeItsInputFileWouldPassTheRoutesByteLimit() {
    batcher("");
    Pending probe = pending("j0", 2 * HOUR, true);
    int line = BatchLines.openAi(new BatchRecords.Member("", probe.dispatch().job(), Priority.LOW, Instant.now(),
        Instant.now(), 0), BatchLines.CHAT_URL, probe.dispatch().routes().get(0), "k").length;
    Batcher b = batcher("max_file_bytes: " + (2 * line + line / 2)); // two lines fit, not three
    offset = 0;
    for (int i = 0; i < 4; i++) {
      b.divert(pending("j" + i, 2 * HOUR, true), NOW);
    }
    assertThat(write(b).membersByBatch().values()).extracting(List::size).containsExactly(2, 2);
  }

  @Test
  void shouldRunLiveAtOnceWhatMayNotOrCannotWait() {
    Batcher b = batcher("max_enqueued_tokens: 150");
    assertThat(b.divert(pending("no-field", 2 * HOUR, false), NOW)).as("no batch: allow").isFalse();
    assertThat(b.divert(pending("too-soon", HOUR - 1, true), NOW)).as("deadline inside min_slack_ms").isFalse();
    assertThat(b.divert(pending("fits", 2 * HOUR, true), NOW)).as("~20 prompt + 100 completion tokens").isTrue();
    assertThat(b.divert(pending("over-budget", 2 * HOUR, true), NOW)).as("max_enqueued_tokens full").isFalse();
  }

  @Test
  void shouldAnswerACancelledMemberAtOnceAndForgetIt() {
    Batcher b = batcher("");
    b.divert(pending("keep", 2 * HOUR, true), NOW);
    b.divert(pending("drop", 2 * HOUR, true), NOW);
    write(b);
    b.committed();

    b.settle(NOW + 1, Set.of("drop")::contains, true);
    Written w = write(b);

    assertThat(w.results).singleElement().satisfies(r -> {
      assertThat(r.jobId()).isEqualTo("drop");
      assertThat(r.status()).isEqualTo(JobStatus.CANCELLED);
    });
    assertThat(w.tombstones).containsExactly(BatchRecords.MEMBER_PREFIX + w.batchOf("drop") + "/drop");
  }

  @Test
  void shouldHandEveryMemberToTheLivePathWhenTheEarliestDeadlineIsWithinTheMargin() {
    Batcher b = batcher(""); // margin 10 min (the default)
    b.divert(pending("early", 2 * HOUR, true), NOW);
    b.divert(pending("late", 20 * HOUR, true), NOW);
    write(b);
    b.committed();

    b.settle(NOW + 2 * HOUR - 601_000, id -> false, false);
    assertThat(write(b).retries).as("not yet").isEmpty();
    b.settle(NOW + 2 * HOUR - 600_000, id -> false, false);
    Written w = write(b);

    assertThat(w.retries).extracting(r -> r.assignment().job().jobId()).containsExactlyInAnyOrder("early", "late");
    assertThat(w.retries).allSatisfy(r -> {
      assertThat(r.nextAttempt()).isEqualTo(2);
      assertThat(r.reason().code()).isEqualTo(Batcher.BATCH_NOT_ANSWERED);
    });
    assertThat(w.tombstones).hasSize(3); // both members, then the batch
  }

  @Test
  void shouldLetJobsOfAnAbortedTransactionJoinAgainWhenTheirRecordsAreReadAgain() {
    Batcher b = batcher("max_requests_per_file: 2");
    b.divert(pending("a", 2 * HOUR, true), NOW);
    write(b);
    b.aborted();
    assertThat(write(b).members).as("only the batch's own record is written again").isEmpty();

    offset = 0;
    b.divert(pending("a", 2 * HOUR, true), NOW);
    b.divert(pending("b", 2 * HOUR, true), NOW);
    assertThat(write(b).membersByBatch().values()).extracting(List::size).containsExactly(2);
  }

  // ------------------------------------------------------------------ harness

  private Batcher batcher(String batchFields) {
    System.setProperty("PF_BATCHER_TEST_KEY", "sk-test");
    config = ConfigLoader.parse("""
        providers: {p: {base_url: "http://127.0.0.1:9/v1"}}
        keys: {k: {provider: p, secret_env: PF_BATCHER_TEST_KEY}}
        models:
          m:
            routes:
              - {provider: p, model: m, price_input_per_mtok: 1.0, price_output_per_mtok: 2.0,
                 batch: {protocol: openai, min_slack_ms: 3600000, window_ms: 1800000%s}}
        """.formatted(batchFields.isEmpty() ? "" : ", " + batchFields), Map.of(), new Properties());
    Batcher b = new Batcher(config, new DispatcherMetrics(new SimpleMeterRegistry()));
    made.add(b);
    return b;
  }

  private Pending pending(String id, long ttlMs, boolean batch) {
    Job job = ((JobParser.Accepted) new JobParser(1 << 20).parse(("{\"job_id\": \"" + id + "\", \"model\": \"m\","
        + " \"max_tokens\": 100" + (batch ? ", \"batch\": \"allow\"" : "") + ", \"messages\": [{\"role\": \"user\","
        + " \"content\": \"Say hello to the whole wide world, please.\"}]}").getBytes(StandardCharsets.UTF_8)))
        .job().withReplyTo("llm.replies");
    var routes = List.of(config.models().get("m").routes().get(0));
    Decision.Dispatch d = new Decision.Dispatch(job, 1, routes, Instant.ofEpochMilli(NOW),
        Instant.ofEpochMilli(NOW + ttlMs));
    return new Pending(TP, offset++, Lane.LOW, "m", d, Priority.LOW, NOW, TOKENS.estimate(job), null,
        null);
  }

  private Pending pendingEmbeddings(String id) {
    Job job = ((JobParser.Accepted) new JobParser(1 << 20).parse(("{\"job_id\": \"" + id + "\", \"model\": \"m\","
        + " \"endpoint\": \"/v1/embeddings\", \"input\": \"a line to embed\", \"batch\": \"allow\"}")
        .getBytes(StandardCharsets.UTF_8))).job().withReplyTo("llm.replies");
    var routes = List.of(config.models().get("m").routes().get(0));
    Decision.Dispatch d = new Decision.Dispatch(job, 1, routes, Instant.ofEpochMilli(NOW),
        Instant.ofEpochMilli(NOW + 2 * HOUR));
    return new Pending(TP, offset++, Lane.LOW, "m", d, Priority.LOW, NOW, TOKENS.estimate(job), null, null);
  }

  /** What one round wrote. */
  private record Written(List<Outbound> members, List<Outbound> batchRecords, List<String> tombstones,
      List<Result> results, List<RetryRequest> retries, List<Long> offsets) {

    Map<String, List<String>> membersByBatch() {
      Map<String, List<String>> out = new java.util.LinkedHashMap<>();
      for (Outbound o : members) {
        BatchRecords.Member m = BatchRecords.member(o.value());
        out.computeIfAbsent(m.batchKey(), k -> new ArrayList<>()).add(m.job().jobId());
      }
      return out;
    }

    String batchOf(String jobId) {
      return tombstones.stream().filter(t -> t.endsWith("/" + jobId)).map(t -> t.substring(2, t.lastIndexOf('/')))
          .findFirst().orElseThrow();
    }
  }

  private static Written write(Batcher b) {
    Written w = new Written(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(),
        new ArrayList<>(), new ArrayList<>());
    b.write(new RecordSink() {
      @Override
      public void begin() {}

      @Override
      public void send(Outbound o) {
        if (o.topic().endsWith(".batches")) {
          if (o.value() == null) {
            w.tombstones().add(o.key());
          } else if (o.key().startsWith(BatchRecords.MEMBER_PREFIX)) {
            w.members().add(o);
          } else {
            w.batchRecords().add(o);
          }
        } else if (o.topic().endsWith(".jobs.retry")) {
          w.retries().add(Json.read(o.value(), RetryRequest.class));
        } else {
          w.results().add(Json.read(o.value(), Result.class));
        }
      }
    }, (tp, off) -> w.offsets().add(off));
    return w;
  }
}
