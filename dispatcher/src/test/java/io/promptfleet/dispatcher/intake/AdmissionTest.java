package io.promptfleet.dispatcher.intake;

import static io.promptfleet.dispatcher.testing.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.TopicSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.JobError;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.RetryRequest;
import io.promptfleet.dispatcher.capacity.TokenEstimator;
import io.promptfleet.dispatcher.schedule.Backoff;
import io.promptfleet.dispatcher.schedule.LaneTopics;
import io.promptfleet.dispatcher.schedule.ReadyQueues;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import io.promptfleet.dispatcher.testing.Fixtures;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class AdmissionTest {
  private static final FleetConfig CONFIG = Fixtures.config(Fixtures.TWO_KEYS + """
      dispatcher:
        retry: {base_ms: 100, cap_ms: 1000, max_attempts: 3}
      """);
  private static final TopicSettings T = CONFIG.topics();
  private static final long NOW = T0 + 1_000;

  private final ReadyQueues<Pending> queues = new ReadyQueues<>(CONFIG.dispatcher().priority(), Pending::readyAtMs);
  private final Outbox outbox = new Outbox();
  private final CancelledJobs cancelled = new CancelledJobs(100);
  private final Topics topics = new Topics();
  private String unservable;
  private final Admission admission = new Admission(CONFIG, new JobIntake(CONFIG), new LaneTopics(T), queues, outbox,
      cancelled, new Backoff(CONFIG.dispatcher().retry(), () -> 0.5), new TokenEstimator(), (d, p) -> unservable);

  /** A listing the test controls: names listed now, and answers for tickets. */
  private static final class Topics implements ReplyTopics {
    final Set<String> listed = new HashSet<>(Set.of("llm.replies"));
    final Map<String, Boolean> answers = new HashMap<>();
    long tickets;

    @Override
    public boolean listed(String topic) {
      return listed.contains(topic);
    }

    @Override
    public boolean ready() {
      return true;
    }

    @Override
    public long ticket() {
      return ++tickets;
    }

    @Override
    public Boolean answer(String topic, long ticket) {
      return answers.get(topic);
    }
  }

  {
    admission.replyTopics(topics);
  }

  private void offer(String topic, long offset, byte[] value) {
    Inbound r = Fixtures.record(topic, offset, T0, "k", value);
    admission.offer(r, r.topicPartition(), NOW);
  }

  private static byte[] retry(int nextAttempt, Instant notBefore, Instant deadline) {
    Job job = Json.read(Fixtures.job("j", "m", ""), Job.class).withReplyTo("llm.replies");
    Assignment a = new Assignment("lease", job, nextAttempt - 1, Priority.HIGH,
        CONFIG.models().get("m").routes().get(0).toRoute("m"), "k1", Instant.ofEpochMilli(T0),
        Instant.ofEpochMilli(T0), deadline, "llm.replies");
    return Json.bytes(new RetryRequest(a, nextAttempt, notBefore, new JobError(ErrorCodes.UPSTREAM_ERROR, "503",
        true)));
  }

  private Result onlyAnswer() {
    assertThat(queues.size()).isZero();
    assertThat(outbox.entries()).hasSize(1);
    return ((Decision.Answer) outbox.entries().get(0).decision()).result();
  }

  @Test
  void shouldQueueAValidJobInItsLaneReadyNow() {
    offer(T.jobsHigh(), 7, Fixtures.job("j", "m", ""));

    assertThat(queues.size(Lane.HIGH)).isEqualTo(1);
    Pending p = queues.removeIf(x -> true).get(0);
    assertThat(p.tp()).isEqualTo(new TopicPartition(T.jobsHigh(), 0));
    assertThat(p.offset()).isEqualTo(7);
    assertThat(p.priority()).isEqualTo(Priority.HIGH);
    assertThat(p.group()).isEqualTo("m");
    assertThat(p.readyAtMs()).isEqualTo(NOW);
    assertThat(p.dispatch().attempt()).isEqualTo(1);
    assertThat(outbox.isEmpty()).isTrue();
  }

  @Test
  void shouldDeadLetterARecordThatIsNotAJobAndCommitItsOffset() {
    offer(T.jobsNormal(), 3, "not a job".getBytes(StandardCharsets.UTF_8));

    assertThat(outbox.entries()).singleElement().satisfies(e -> {
      assertThat(e.tp()).isEqualTo(new TopicPartition(T.jobsNormal(), 0));
      assertThat(e.offset()).isEqualTo(3);
      assertThat(e.decision()).isInstanceOf(Decision.DeadLetter.class);
    });
  }

  @Test
  void shouldAnswerCancelledWhenTheCancelCameBeforeTheJob() {
    cancelled.add("j");

    offer(T.jobsNormal(), 0, Fixtures.job("j", "m", ""));

    Result r = onlyAnswer();
    assertThat(r.status()).isEqualTo(JobStatus.CANCELLED);
    assertThat(r.error().code()).isEqualTo(ErrorCodes.CANCELLED);
  }

  @Test
  void shouldWaitForTheLaterOfTheWorkersNotBeforeAndTheBackoffAndAvoidTheLastKey() {
    offer(T.jobsRetry(), 0, retry(2, Instant.ofEpochMilli(NOW + 5_000), Instant.ofEpochMilli(NOW + 60_000)));
    offer(T.jobsRetry(), 1, retry(3, null, Instant.ofEpochMilli(NOW + 60_000)));

    List<Pending> retries = queues.removeIf(x -> true).stream()
        .sorted(Comparator.comparingLong(Pending::offset)).toList();
    assertThat(retries).hasSize(2);
    assertThat(retries.get(0).readyAtMs()).as("the worker's not_before").isEqualTo(NOW + 5_000);
    assertThat(retries.get(1).readyAtMs()).as("half of the bound 200 ms + 1 before attempt 3").isEqualTo(NOW + 100);
    assertThat(retries.get(0).priority()).as("the assignment's priority").isEqualTo(Priority.HIGH);
    assertThat(retries.get(0).lastKey()).isEqualTo("k1");
    assertThat(retries.get(0).lastError().code()).isEqualTo(ErrorCodes.UPSTREAM_ERROR);
  }

  @Test
  void shouldFailARetryPastMaxAttempts() {
    offer(T.jobsRetry(), 0, retry(4, null, Instant.ofEpochMilli(NOW + 60_000)));

    Result r = onlyAnswer();
    assertThat(r.status()).isEqualTo(JobStatus.FAILED);
    assertThat(r.error().code()).isEqualTo(ErrorCodes.RETRIES_EXHAUSTED);
    assertThat(r.error().message()).isEqualTo("gave up after 3 attempt(s) (dispatcher.retry.max_attempts = 3); "
        + "last error: upstream_error: 503");
    assertThat(r.attempts()).isEqualTo(3);
  }

  @Test
  void shouldExpireARetryThatCouldNotStartBeforeItsDeadline() {
    offer(T.jobsRetry(), 0, retry(2, Instant.ofEpochMilli(NOW + 2_000), Instant.ofEpochMilli(NOW + 1_000)));

    Result r = onlyAnswer();
    assertThat(r.status()).isEqualTo(JobStatus.EXPIRED);
    assertThat(r.error().code()).isEqualTo(ErrorCodes.DEADLINE_EXCEEDED);
    assertThat(r.error().message()).startsWith("the next attempt could not start before the job's deadline");
  }

  @Test
  void shouldRejectAJobNoRouteCouldEverServeWithTheReasonsCode() {
    unservable = "no key serves model m for tenant acme";
    offer(T.jobsNormal(), 0, Fixtures.job("a", "m", ""));
    unservable = "the prompt (about 9 tokens) plus the completion limit needs 999 tokens, more than ...";
    offer(T.jobsNormal(), 1, Fixtures.job("b", "m", ""));

    assertThat(outbox.entries()).extracting(e -> ((Decision.Answer) e.decision()).result().error().code())
        .containsExactly(ErrorCodes.NO_KEY, ErrorCodes.PROMPT_TOO_LARGE);
    assertThat(queues.size()).isZero();
  }

  @Test
  void shouldParkAJobUntilAFreshListingSaysWhetherItsReplyTopicExists() {
    offer(T.jobsNormal(), 0, Fixtures.job("new", "m", ",\"reply_to\":\"llm.replies.new\""));
    offer(T.jobsNormal(), 1, Fixtures.job("gone", "m", ",\"reply_to\":\"llm.replies.gone\""));
    assertThat(admission.parked()).isEqualTo(2);

    admission.resolveParked(NOW);
    assertThat(admission.parked()).as("no listing since").isEqualTo(2);

    topics.answers.put("llm.replies.new", true);
    topics.answers.put("llm.replies.gone", false);
    admission.resolveParked(NOW);

    assertThat(admission.parked()).isZero();
    assertThat(queues.size(Lane.NORMAL)).isEqualTo(1);
    assertThat(outbox.entries()).singleElement().satisfies(e -> {
      assertThat(e.offset()).isEqualTo(1);
      assertThat(((Decision.DeadLetter) e.decision()).reason())
          .isEqualTo("reply_to topic llm.replies.gone does not exist");
    });
  }

  @Test
  void shouldSweepExpiredAndCancelledJobsOutOfTheQueuesWithOneAnswerEach() {
    offer(T.jobsNormal(), 0, Fixtures.job("soon", "m", ",\"ttl_ms\":2000"));
    offer(T.jobsNormal(), 1, Fixtures.job("later", "m", ""));
    offer(T.jobsNormal(), 2, Fixtures.job("stays", "m", ""));
    cancelled.add("later");

    admission.sweep(T0 + 2_000);

    assertThat(queues.size()).isEqualTo(1);
    assertThat(outbox.entries()).extracting(e -> ((Decision.Answer) e.decision()).result())
        .extracting(Result::jobId, Result::status)
        .containsExactlyInAnyOrder(tuple("soon", JobStatus.EXPIRED),
            tuple("later", JobStatus.CANCELLED));
    assertThat(outbox.entries()).allSatisfy(e -> assertThat(e.tp()).isNotNull());
  }

  @Test
  void shouldForgetParkedRecordsOfRevokedPartitions() {
    offer(T.jobsNormal(), 0, Fixtures.job("new", "m", ",\"reply_to\":\"llm.replies.new\""));

    admission.revoked(List.of(new TopicPartition(T.jobsNormal(), 0)));

    assertThat(admission.parked()).isZero();
  }
}
