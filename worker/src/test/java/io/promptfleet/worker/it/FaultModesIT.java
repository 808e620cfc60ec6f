package io.promptfleet.worker.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.RetryRequest;
import io.promptfleet.simulator.SimulatorOptions;
import io.promptfleet.worker.WorkerOptions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every fault mode of the simulated provider against one real worker and the shared broker: the outcome on the
 * retry and reply topics, and, for transient faults, a re-dispatch (as the dispatcher would do it) that succeeds as
 * attempt 2. And the chunks of a paced and of an instant provider, with the worker's default adaptive coalescing.
 */
class FaultModesIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static WorkerHarness h;

  @BeforeAll
  static void startWorker() throws Exception {
    h = WorkerHarness.start(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0),
        "idle_timeout_ms: 1000, first_token_timeout_ms: 1500", "slots: 16, lanes: 2", Map.of());
    h.addWorker(WorkerOptions.defaults());
  }

  @AfterAll
  static void stop() throws Exception {
    h.close();
  }

  static Stream<Arguments> transientFaults() {
    return Stream.of(
        Arguments.of("[[sim:status code=429 retry_after_ms=1500 times=1]]", ErrorCodes.UPSTREAM_RATE_LIMITED, 429),
        Arguments.of("[[sim:status code=429 retry_after=2 times=1]]", ErrorCodes.UPSTREAM_RATE_LIMITED, 429),
        Arguments.of("[[sim:status code=429 retry_after_date=3 times=1]]", ErrorCodes.UPSTREAM_RATE_LIMITED, 429),
        Arguments.of("[[sim:status code=500 times=1]]", ErrorCodes.UPSTREAM_ERROR, 500),
        Arguments.of("[[sim:status code=503 times=1]]", ErrorCodes.UPSTREAM_ERROR, 503),
        Arguments.of("[[sim:status code=529 times=1]]", ErrorCodes.UPSTREAM_ERROR, 529),
        Arguments.of("[[sim:reset times=1]]", ErrorCodes.UPSTREAM_ERROR, null),
        Arguments.of("[[sim:cut after=2 times=1]]", ErrorCodes.STREAM_CUT, 200),
        Arguments.of("[[sim:stall after=1 times=1]]", ErrorCodes.TIMEOUT, 200),
        Arguments.of("[[sim:slow ttft_ms=3000 times=1]]", ErrorCodes.TIMEOUT, 200),
        Arguments.of("[[sim:error_event after=1 times=1]]", ErrorCodes.UPSTREAM_ERROR, 200),
        Arguments.of("[[sim:error_event after=1 form=event times=1]]", ErrorCodes.UPSTREAM_ERROR, 200),
        Arguments.of("[[sim:no_done times=1]]", ErrorCodes.STREAM_CUT, 200),
        Arguments.of("[[sim:bad_json after=1 times=1]]", ErrorCodes.STREAM_INVALID, 200),
        Arguments.of("[[sim:giant_line bytes=2097152 times=1]]", ErrorCodes.STREAM_INVALID, 200),
        // key-fatal: retried (on another key, by the dispatcher), never a result from the worker
        Arguments.of("[[sim:status code=401 times=1]]", ErrorCodes.UPSTREAM_AUTH, 401),
        Arguments.of("[[sim:status code=429 quota=true times=1]]", ErrorCodes.UPSTREAM_QUOTA, 429));
  }

  @ParameterizedTest(name = "{0} -> retry {1}, then succeeded as attempt 2")
  @MethodSource("transientFaults")
  void shouldSendATransientFaultToTheRetryTopicAndSucceedOnTheNextAttempt(String directive, String code,
      Integer status) throws Exception {
    String jobId = h.jobId();
    Assignment a = h.assignment(jobId, "tell me something " + directive, 1);

    h.send(a);
    RetryRequest retry = h.awaitRetry(jobId, WAIT);

    assertThat(retry.nextAttempt()).isEqualTo(2);
    assertThat(retry.assignment().attempt()).isEqualTo(1);
    assertThat(retry.reason().code()).isEqualTo(code);
    assertThat(retry.reason().message()).isNotBlank();
    assertThat(h.results(jobId)).as("no result for an attempt that goes back for retry").isEmpty();
    FleetEvent released = h.awaitReleased(jobId, 1, WAIT).get(0);
    assertThat(released.outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.RETRY);
    assertThat(released.errorCode()).isEqualTo(code);
    assertThat(released.statusCode()).isEqualTo(status);
    assertThat(released.leaseId()).isEqualTo(a.leaseId());
    if (directive.contains("retry_after")) {
      assertThat(released.retryAfterMs()).isBetween(900L, 3000L);
      assertThat(Duration.between(released.at(), retry.notBefore()).toMillis()).isBetween(500L, 3100L);
      assertThat(released.rateLimit()).containsKey("x-ratelimit-remaining-requests");
    }

    h.redispatch(retry);
    Result result = h.awaitResult(jobId, WAIT);

    assertThat(result.status()).isEqualTo(JobStatus.SUCCEEDED);
    assertThat(result.attempt()).isEqualTo(2);
    assertThat(result.attempts()).isEqualTo(2);
    assertGapFreeChunksBeforeTheResult(jobId, 2, result);
  }

  static Stream<Arguments> permanentFaults() {
    return Stream.of(Arguments.of(400), Arguments.of(404), Arguments.of(413), Arguments.of(422));
  }

  @ParameterizedTest(name = "HTTP {0} -> one failed result")
  @MethodSource("permanentFaults")
  void shouldEndARejectedRequestInOneFailedResult(int status) throws Exception {
    String jobId = h.jobId();

    h.send(h.assignment(jobId, "x [[sim:status code=" + status + "]]", 1));
    Result result = h.awaitResult(jobId, WAIT);

    assertThat(result.status()).isEqualTo(JobStatus.FAILED);
    assertThat(result.error().code()).isEqualTo(ErrorCodes.UPSTREAM_REJECTED);
    assertThat(result.error().message()).startsWith("provider answered HTTP " + status + ": ");
    assertThat(result.error().retryable()).isFalse();
    assertThat(result.attempts()).isEqualTo(1);
    FleetEvent released = h.awaitReleased(jobId, 1, WAIT).get(0);
    assertThat(released.outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.FAILED);
    assertThat(released.statusCode()).isEqualTo(status);
    assertThat(h.retries(jobId)).isEmpty();
  }

  @Test
  void shouldPublishChunksThenOneSucceededResultAndReleaseTheLeaseWithUsage() throws Exception {
    String jobId = h.jobId();

    h.send(h.assignment(jobId, "hello [[sim:keepalive every=2]] [[sim:crlf]]", 1));
    Result result = h.awaitResult(jobId, WAIT);

    assertThat(result.status()).isEqualTo(JobStatus.SUCCEEDED);
    assertThat(result.finishReason()).isNotNull();
    assertThat(result.usage().completionTokens()).isPositive();
    assertThat(result.attempt()).isEqualTo(1);
    assertGapFreeChunksBeforeTheResult(jobId, 1, result);
    FleetEvent released = h.awaitReleased(jobId, 1, WAIT).get(0);
    assertThat(released.outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.SUCCEEDED);
    assertThat(released.usage()).isEqualTo(result.usage());
    assertThat(released.timeToFirstTokenMs()).isNotNull();
    assertThat(released.keyId()).isEqualTo("k1");
  }

  @Test
  void shouldStopAtTheJobsDeadlineAndLeaveTheVerdictToTheDispatcher() throws Exception {
    String jobId = h.jobId();
    Assignment a = h.assignment(jobId, "a long answer [[sim:slow ttft_ms=10 tps=4]]", 1);
    Assignment withDeadline = new Assignment(a.leaseId(), a.job(), 1, a.priority(), a.route(), a.keyId(),
        a.enqueuedAt(), a.dispatchedAt(), java.time.Instant.now().plusMillis(1200), a.replyTo());

    h.send(withDeadline);
    RetryRequest retry = h.awaitRetry(jobId, WAIT);

    assertThat(retry.reason().code()).isEqualTo(ErrorCodes.DEADLINE_EXCEEDED);
    assertThat(h.results(jobId)).isEmpty();
    assertThat(h.chunks(jobId, 1).size()).isBetween(1, 15);
  }

  /**
   * A provider's pace: deltas 125 ms apart, far longer than Kafka takes to ack a chunk (a few ms), so adaptive
   * coalescing (worker.chunks_in_flight: 1, the default) never holds one: each delta goes out at once, as its own
   * chunk, while the stream goes on.
   */
  @Test
  void shouldSendEachDeltaOfAStreamSlowerThanKafkasAcksAtOnceAsItsOwnChunk() throws Exception {
    String jobId = h.jobId();

    Result result = answered(jobId, "at a provider's pace [[sim:slow ttft_ms=10 tps=8]]");

    int tokens = Math.toIntExact(result.usage().completionTokens());
    // One chunk per token, but for a few: an ack slower than 125 ms (a loaded CI box) lets two deltas share a chunk.
    List<Chunk> chunks = h.chunks(jobId, 1);
    assertThat(chunks.size()).as("chunks of %d paced tokens: each sent at once, not held", tokens)
        .isGreaterThanOrEqualTo(tokens * 3 / 4);
    assertThat(chunks.stream().filter(c -> c.delta().matches(" ?\\S+")).count())
        .as("chunks of one word each").isGreaterThanOrEqualTo(tokens / 2);
    List<Long> sentAt = h.replies.snapshot().stream().filter(r -> jobId.equals(r.key()))
        .map(org.apache.kafka.clients.consumer.ConsumerRecord::timestamp).toList();
    assertThat(sentAt.get(sentAt.size() - 1) - sentAt.get(0)).as("the first chunk was written ~1.9 s before the"
        + " result, not held until the stream ended").isGreaterThan(1_000L);
  }

  /**
   * An instant provider: the whole answer arrives while the first chunk waits for its ack. The first delta still goes
   * out at once and alone; what comes behind it while a chunk is unacked is held and sent as one chunk at the ack, so
   * the stream costs fewer records than tokens (the default, worker.chunks_in_flight: 1), none lost or reordered.
   */
  @Test
  void shouldSendTheFirstDeltaOfABurstAloneAndCoalesceTheRest() throws Exception {
    String jobId = h.jobId();

    Result result = answered(jobId, "all at once");

    List<Chunk> chunks = h.chunks(jobId, 1);
    assertThat(chunks.get(0).delta()).as("the first token alone").matches("\\S+");
    int tokens = Math.toIntExact(result.usage().completionTokens());
    assertThat(chunks).as("fewer records than the %d tokens", tokens).hasSizeLessThan(tokens);
  }

  /** Runs a job as attempt 1 and checks that it succeeded with gap-free chunks before its one result. */
  private static Result answered(String jobId, String prompt) throws InterruptedException {
    h.send(h.assignment(jobId, prompt, 1));
    Result result = h.awaitResult(jobId, WAIT);
    assertThat(result.status()).isEqualTo(JobStatus.SUCCEEDED);
    assertGapFreeChunksBeforeTheResult(jobId, 1, result);
    return result;
  }

  private static void assertGapFreeChunksBeforeTheResult(String jobId, int attempt, Result result) {
    h.assertStreamedAnswer(jobId, attempt, result);
    List<Reply> all = WorkerHarness.repliesOf(h.replies.snapshot(), jobId);
    int resultAt = all.indexOf(result);
    assertThat(all.subList(resultAt + 1, all.size())).as("nothing after the result").isEmpty();
    assertThat(all.stream().filter(Result.class::isInstance)).hasSize(1);
  }
}
