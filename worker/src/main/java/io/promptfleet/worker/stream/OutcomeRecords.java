package io.promptfleet.worker.stream;

import io.promptfleet.common.job.Usage;
import io.promptfleet.common.upstream.EmbeddingsAnswer;
import io.promptfleet.worker.upstream.Failure;
import io.promptfleet.worker.upstream.FailureClass;
import io.promptfleet.worker.upstream.RateLimitHeaders;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.JobError;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.RetryRequest;
import io.promptfleet.common.job.Route;
import io.promptfleet.common.job.Timings;
import java.time.Clock;
import java.time.Instant;
import java.util.function.UnaryOperator;

/**
 * Builds the records that tell how one attempt ended: its terminal record (a {@code succeeded}, {@code failed} or
 * {@code cancelled} {@link Result}, or a {@link RetryRequest} for a transient or key-fatal failure) and its
 * {@code lease_released} {@link FleetEvent}, with their timings. Owns what the attempt learnt along the way for
 * them: when the request went out, when the first delta and the first text arrived, whether the provider answered
 * 200, and its rate-limit headers; the answer itself comes from the attempt's {@link MessageAssembler}, or for an
 * embeddings job from its {@link EmbeddingsAnswer}.
 *
 * <p>Not thread-safe: confined to the attempt's event loop.
 */
final class OutcomeRecords {

  /**
   * The record an attempt ends with: exactly one of {@code result} and {@code retry}.
   *
   * @param outcome as the {@code lease_released} event names it: succeeded, failed, retry or cancelled
   * @param failure why the attempt did not succeed (its message redacted), or null
   */
  record Terminal(LeaseOutcome outcome, Failure failure, Result result, RetryRequest retry) {}

  private final Assignment assignment;
  private final Route route;
  private final MessageAssembler answer;
  private final Clock clock;
  private final UnaryOperator<String> redact;
  private Instant requestAt;
  /** When the request got its connection and went out (null before): first-token times count from here. */
  private Instant sentAt;
  private Instant firstDeltaAt;
  private Instant firstTextAt;
  private boolean answering;
  private RateLimitHeaders headers = RateLimitHeaders.NONE;
  private EmbeddingsAnswer embeddings;

  /**
   * @param clock  the wall clock of every time in the records (a delta reads it only while a first is awaited)
   * @param redact removes the key's secret from provider text (failure messages)
   */
  OutcomeRecords(Assignment assignment, MessageAssembler answer, Clock clock, UnaryOperator<String> redact) {
    this.assignment = assignment;
    this.route = assignment.route();
    this.answer = answer;
    this.clock = clock;
    this.redact = redact;
  }

  /** The attempt started at {@code at} (the request, or the end of an attempt that never made one); first call wins. */
  void started(Instant at) {
    if (requestAt == null) {
      requestAt = at;
    }
  }

  /**
   * The request got its connection at {@code at} and went out: time to the first delta counts from here, so the
   * worker's own wait for a connection ({@code ProviderConnections}) is not the provider's slowness (it is queueing:
   * {@link #timings} counts it there). First call wins.
   */
  void sent(Instant at) {
    if (sentAt == null) {
      sentAt = at;
    }
  }

  private Instant sentOrStarted() {
    return sentAt != null ? sentAt : requestAt;
  }

  /** What the response's headers said about limits. */
  void headers(RateLimitHeaders h) {
    this.headers = h;
  }

  /** An embeddings job's answer: the result carries its vectors, model and usage instead of a message. */
  void embeddings(EmbeddingsAnswer answer) {
    this.embeddings = answer;
  }

  /** The usage the provider reported: the embeddings answer's, else the streamed answer's; null when none. */
  Usage usage() {
    return embeddings != null ? embeddings.usage() : answer.usage();
  }

  /** The provider answered 200. */
  void answering() {
    answering = true;
  }

  /**
   * A delta arrived; {@code text} when it carries content text. Reads the clock only for the first delta and the
   * first text (this runs once per token).
   *
   * @return whether it is the attempt's first delta
   */
  boolean delta(boolean text) {
    if (firstDeltaAt == null) {
      firstDeltaAt = clock.instant();
      if (text) {
        firstTextAt = firstDeltaAt;
      }
      return true;
    }
    if (text && firstTextAt == null) {
      firstTextAt = clock.instant();
    }
    return false;
  }

  /** From the request going out to the first delta of any kind, or null before one arrived. */
  Long timeToFirstDeltaMs() {
    return firstDeltaAt == null ? null : firstDeltaAt.toEpochMilli() - sentOrStarted().toEpochMilli();
  }

  /** From the request to {@code end}. */
  long elapsedMs(Instant end) {
    return end.toEpochMilli() - requestAt.toEpochMilli();
  }

  /** A complete answer: its message, text, logprobs and usage. */
  Terminal succeeded(Instant end) {
    return new Terminal(LeaseOutcome.SUCCEEDED, null, result(JobStatus.SUCCEEDED, end, null), null);
  }

  /** Cancelled by a record on the cancels topic. */
  Terminal cancelled(Instant end) {
    return new Terminal(LeaseOutcome.CANCELLED, null, result(JobStatus.CANCELLED, end,
        new JobError(ErrorCodes.CANCELLED, "cancelled by a record on the cancels topic", false)), null);
  }

  /**
   * A failure: a permanent one is a {@code failed} result; any other goes to the retry topic as the next attempt,
   * not before the wait the provider asked for. The terminal's failure is {@code raw} with its message redacted.
   */
  Terminal failed(Failure raw, Instant end) {
    Failure failure = new Failure(raw.kind(), raw.code(), redact.apply(raw.message()), raw.statusCode());
    JobError error = new JobError(failure.code(), failure.message(), failure.kind() != FailureClass.PERMANENT);
    if (failure.goesToRetryTopic()) {
      Long wait = headers.retryAfterMs();
      Instant notBefore = wait == null ? end : end.plusMillis(wait);
      return new Terminal(LeaseOutcome.RETRY, failure, null,
          new RetryRequest(assignment, assignment.attempt() + 1, notBefore, error));
    }
    return new Terminal(LeaseOutcome.FAILED, failure, result(JobStatus.FAILED, end, error), null);
  }

  /**
   * The {@code lease_released} event: outcome, the provider's status, the error code, usage, retry-after, the
   * rate-limit headers and the time to the first delta.
   *
   * @param outcome one of the outcomes above, {@link LeaseOutcome#HANDED_BACK} included
   * @param failure why the attempt did not succeed, or null
   */
  FleetEvent leaseReleased(LeaseOutcome outcome, Failure failure, String workerId, Instant at) {
    return FleetEvent.leaseReleased(assignment.leaseId(), assignment.job().jobId(), assignment.keyId(), route.name(),
        outcome)
        .status(failure == null ? status() : failure.statusCode())
        .error(errorCode(outcome, failure))
        .usage(usage())
        .rateLimit(headers.retryAfterMs(), headers.rateLimit())
        .timeToFirstTokenMs(timeToFirstDeltaMs())
        .by(workerId, at);
  }

  /** The error code an outcome reports: the failure's, {@code cancelled} for a cancel, else null. */
  static String errorCode(LeaseOutcome outcome, Failure failure) {
    return failure != null ? failure.code() : outcome == LeaseOutcome.CANCELLED ? ErrorCodes.CANCELLED : null;
  }

  /** Queued (enqueue to request), to first delta, total (enqueue to end) and to first text. */
  Timings timings(Instant end) {
    Instant enq = assignment.enqueuedAt() == null ? requestAt : assignment.enqueuedAt();
    return new Timings(Math.max(0, sentOrStarted().toEpochMilli() - enq.toEpochMilli()), timeToFirstDeltaMs(),
        Math.max(0, end.toEpochMilli() - enq.toEpochMilli()),
        firstTextAt == null ? null : firstTextAt.toEpochMilli() - sentOrStarted().toEpochMilli());
  }

  private Integer status() {
    return answering ? Integer.valueOf(200) : null;
  }

  private Result result(JobStatus status, Instant end, JobError error) {
    boolean ok = status == JobStatus.SUCCEEDED;
    if (embeddings != null) {
      Usage u = embeddings.usage();
      return new Result(assignment.job().jobId(), assignment.attempt(), status, null, null, u,
          embeddings.model() != null ? embeddings.model() : route.model(), route.name(), assignment.attempt(),
          timings(end), route.cost(u), error, assignment.job().metadata(), null, null, null, null, null, null,
          ok ? embeddings.data() : null);
    }
    return new Result(assignment.job().jobId(), assignment.attempt(), status, ok ? answer.text() : null,
        answer.finishReason(), answer.usage(), answer.model() != null ? answer.model() : route.model(),
        route.name(), assignment.attempt(), timings(end), route.cost(answer.usage()), error,
        assignment.job().metadata(),
        ok ? answer.message() : null, ok ? answer.logprobs() : null, ok && answer.logprobsTruncated() ? true : null,
        answer.systemFingerprint(), answer.serviceTier(), answer.completionId());
  }
}
