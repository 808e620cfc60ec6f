package io.promptfleet.common.job;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * The dispatcher's decision for one attempt of a job, written to {@code llm.assignments} and taken by one
 * worker through the share group. Carries the key's <em>name</em>, never its secret.
 *
 * @param leaseId     unique per assignment; the worker releases it with a fleet event
 * @param job         the job
 * @param attempt     1 for the first attempt
 * @param priority    the job's priority
 * @param route       provider and upstream model
 * @param keyId       the configured name of the API key to use
 * @param enqueuedAt  when the job first entered Kafka (timestamp of its job record)
 * @param dispatchedAt when this assignment was written
 * @param deadline    the job's effective deadline, or null
 * @param replyTo     the resolved reply topic
 * @param lastError   why the previous attempt failed, for a retried job (null on a first attempt); the worker
 *                    retries an invalid structured output only once
 * @param reservedTokens the tokens the dispatcher reserved for it in its key's tokens-per-minute window (prompt
 *                    estimate plus completion limit), so a dispatcher taking over counts it without re-tokenising
 *                    the prompt; null in assignments of older dispatchers
 * @param afterLease  a successor assignment (issue 13, {@code dispatcher.successors}): the lease whose key slot this
 *                    one takes over when it ends. A worker must not start this assignment's call before that lease's
 *                    call has ended: at once when it ran that lease itself, else once it has read that lease's
 *                    {@code lease_released} with an outcome (not {@code handed_back}) or this lease's
 *                    {@code lease_granted}. Null for an ordinary assignment (and in those of older dispatchers)
 */
public record Assignment(
    String leaseId,
    Job job,
    int attempt,
    @Nullable Priority priority,
    @Nullable Route route,
    String keyId,
    @Nullable Instant enqueuedAt,
    @Nullable Instant dispatchedAt,
    @Nullable Instant deadline,
    String replyTo,
    @Nullable JobError lastError,
    @Nullable Long reservedTokens,
    @Nullable String afterLease) {

  public Assignment(String leaseId, Job job, int attempt, @Nullable Priority priority, @Nullable Route route,
      String keyId, @Nullable Instant enqueuedAt, @Nullable Instant dispatchedAt, @Nullable Instant deadline,
      String replyTo, @Nullable JobError lastError, @Nullable Long reservedTokens) {
    this(leaseId, job, attempt, priority, route, keyId, enqueuedAt, dispatchedAt, deadline, replyTo, lastError,
        reservedTokens, null);
  }

  public Assignment(String leaseId, Job job, int attempt, @Nullable Priority priority, @Nullable Route route,
      String keyId, @Nullable Instant enqueuedAt, @Nullable Instant dispatchedAt, @Nullable Instant deadline,
      String replyTo, @Nullable JobError lastError) {
    this(leaseId, job, attempt, priority, route, keyId, enqueuedAt, dispatchedAt, deadline, replyTo, lastError, null,
        null);
  }

  public Assignment(String leaseId, Job job, int attempt, @Nullable Priority priority, @Nullable Route route,
      String keyId, @Nullable Instant enqueuedAt, @Nullable Instant dispatchedAt, @Nullable Instant deadline,
      String replyTo) {
    this(leaseId, job, attempt, priority, route, keyId, enqueuedAt, dispatchedAt, deadline, replyTo, null, null,
        null);
  }

  /** Whether this is a successor assignment, started only after {@link #afterLease} ended. */
  public boolean isSuccessor() {
    return afterLease != null;
  }
}
