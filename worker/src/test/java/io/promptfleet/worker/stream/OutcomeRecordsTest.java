package io.promptfleet.worker.stream;

import io.promptfleet.worker.upstream.ChunkEvent;
import io.promptfleet.worker.upstream.Failures;
import io.promptfleet.worker.upstream.RateLimitHeaders;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.TextNode;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ChatMessage;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.RetryRequest;
import io.promptfleet.common.job.Route;
import io.promptfleet.common.job.Timings;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The records that tell how an attempt ended, built without Kafka or HTTP. */
class OutcomeRecordsTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  private final MovableClock clock = new MovableClock();
  private final MessageAssembler answer = new MessageAssembler(1 << 20);
  private final Assignment assignment = assignment();
  private final OutcomeRecords records = new OutcomeRecords(assignment, answer, clock,
      s -> s.replace("sk-secret", "***"));

  @Test
  void shouldReportASucceededResultWithTheAnswerAndTimeToFirstDeltaAndToFirstTextApart() throws IOException {
    records.started(T0);
    records.answering();
    clock.at(T0.plusMillis(100));
    assertThat(records.delta(false)).as("a reasoning delta is the first delta").isTrue();
    answer.reasoning("hmm");
    clock.at(T0.plusMillis(150));
    assertThat(records.delta(true)).isFalse();
    answer.content("Hi");
    answer.meta(ChunkEvent.parse("{\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o-2024\",\"choices\":[{\"index\":0,"
        + "\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}"));

    OutcomeRecords.Terminal t = records.succeeded(T0.plusMillis(400));

    assertThat(t.outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.SUCCEEDED);
    assertThat(t.retry()).isNull();
    Result r = t.result();
    assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
    assertThat(r.content()).isEqualTo("Hi");
    assertThat(r.message().reasoning()).isEqualTo("hmm");
    assertThat(r.finishReason()).isEqualTo("stop");
    assertThat(r.model()).isEqualTo("gpt-4o-2024");
    assertThat(r.completionId()).isEqualTo("chatcmpl-1");
    assertThat(r.usage().completionTokens()).isEqualTo(2);
    assertThat(r.attempt()).isEqualTo(3);
    assertThat(r.timings()).isEqualTo(new Timings(50, 100L, 450, 150L));
    assertThat(r.error()).isNull();
  }

  @Test
  void shouldSendATransientFailureToTheRetryTopicNotBeforeTheWaitTheProviderAskedFor() {
    records.started(T0);
    records.headers(RateLimitHeaders.of(Map.of("Retry-After-Ms", "2000", "X-RateLimit-Remaining-Requests", "0",
        "Content-Type", "application/json").entrySet(), s -> s, T0));
    Instant end = T0.plusMillis(30);

    OutcomeRecords.Terminal t = records.failed(Failures.ofHttp(429, "slow down"), end);

    assertThat(t.outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.RETRY);
    assertThat(t.result()).isNull();
    RetryRequest retry = t.retry();
    assertThat(retry.assignment()).isSameAs(assignment);
    assertThat(retry.nextAttempt()).isEqualTo(4);
    assertThat(retry.notBefore()).isEqualTo(end.plusMillis(2_000));
    assertThat(retry.reason().code()).isEqualTo(ErrorCodes.UPSTREAM_RATE_LIMITED);
    assertThat(retry.reason().retryable()).isTrue();

    FleetEvent e = records.leaseReleased(t.outcome(), t.failure(), "w1", end);
    assertThat(e.type()).isEqualTo(FleetEvent.Type.LEASE_RELEASED);
    assertThat(e.outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.RETRY);
    assertThat(e.statusCode()).isEqualTo(429);
    assertThat(e.errorCode()).isEqualTo(ErrorCodes.UPSTREAM_RATE_LIMITED);
    assertThat(e.retryAfterMs()).isEqualTo(2_000L);
    assertThat(e.rateLimit()).isEqualTo(Map.of("x-ratelimit-remaining-requests", "0"));
    assertThat(e.leaseId()).isEqualTo("lease-1");
    assertThat(e.keyId()).isEqualTo("k1");
    assertThat(e.route()).isEqualTo("openai/gpt");
    assertThat(e.timeToFirstTokenMs()).as("no delta arrived").isNull();
  }

  @Test
  void shouldAnswerAPermanentFailureWithAFailedResultThatCarriesNoAnswer() {
    records.started(T0);
    records.answering();
    records.delta(true);
    answer.content("partial");

    OutcomeRecords.Terminal t = records.failed(Failures.ofHttp(400, "{\"error\":{\"message\":\"bad\"}}"), T0);

    assertThat(t.outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.FAILED);
    assertThat(t.retry()).isNull();
    assertThat(t.result().status()).isEqualTo(JobStatus.FAILED);
    assertThat(t.result().content()).isNull();
    assertThat(t.result().message()).isNull();
    assertThat(t.result().error().code()).isEqualTo(ErrorCodes.UPSTREAM_REJECTED);
    assertThat(t.result().error().retryable()).isFalse();
  }

  @Test
  void shouldRedactTheKeysSecretFromWhatTheProviderSaid() {
    records.started(T0);

    OutcomeRecords.Terminal t = records.failed(Failures.ofHttp(401,
        "{\"error\":{\"message\":\"Incorrect API key provided: sk-secret\"}}"), T0);

    assertThat(t.failure().message()).contains("***").doesNotContain("sk-secret");
    assertThat(t.retry().reason().message()).doesNotContain("sk-secret");
  }

  @Test
  void shouldReportACancelWithItsCodeAndTheStatusSeenSoFar() {
    records.started(T0);

    OutcomeRecords.Terminal t = records.cancelled(T0.plusMillis(5));

    assertThat(t.outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.CANCELLED);
    assertThat(t.result().status()).isEqualTo(JobStatus.CANCELLED);
    assertThat(t.result().error().code()).isEqualTo(ErrorCodes.CANCELLED);
    FleetEvent before = records.leaseReleased(t.outcome(), null, "w1", T0);
    assertThat(before.errorCode()).isEqualTo(ErrorCodes.CANCELLED);
    assertThat(before.statusCode()).as("no response yet").isNull();
    records.answering();
    assertThat(records.leaseReleased(t.outcome(), null, "w1", T0).statusCode()).isEqualTo(200);
  }

  @Test
  void shouldReportAHandBackWithoutAnErrorCode() {
    records.started(T0);

    FleetEvent e = records.leaseReleased(io.promptfleet.common.job.LeaseOutcome.HANDED_BACK, null, "w1", T0);

    assertThat(e.outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.HANDED_BACK);
    assertThat(e.errorCode()).isNull();
    assertThat(OutcomeRecords.errorCode(io.promptfleet.common.job.LeaseOutcome.HANDED_BACK, null)).isNull();
  }

  @Test
  void shouldKeepRateLimitHeadersLowerCasedAndRedactedAndReadRetryAfterInSeconds() {
    RateLimitHeaders h = RateLimitHeaders.of(List.of(Map.entry("Retry-After", "3"),
        Map.entry("x-ratelimit-limit-requests", "60"), Map.entry("X-RateLimit-Key", "key sk-secret"),
        Map.entry("server", "x")), s -> s.replace("sk-secret", "***"), T0);

    assertThat(h.retryAfterMs()).isEqualTo(3_000L);
    assertThat(h.rateLimit()).containsExactly(Map.entry("x-ratelimit-key", "key ***"),
        Map.entry("x-ratelimit-limit-requests", "60"));
  }

  private static Assignment assignment() {
    Job job = new Job("job-1", "gpt", List.of(new ChatMessage("user", TextNode.valueOf("Hi"), null, null, null)),
        null, null, null, null, null, null, Map.of());
    return new Assignment("lease-1", job, 3, Priority.NORMAL, new Route("openai/gpt", "openai", "gpt", null, null),
        "k1", T0.minusMillis(50), T0, null, "llm.replies");
  }

  /** A wall clock the test moves. */
  private static final class MovableClock extends Clock {
    private Instant now = T0;

    void at(Instant t) {
      now = t;
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }
}
