package io.promptfleet.common.job;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * A job that failed transiently and goes back to the dispatcher on {@code llm.jobs.retry} for another attempt.
 *
 * @param assignment the assignment that failed
 * @param nextAttempt the attempt number to run next
 * @param notBefore  the earliest time for the next attempt (backoff, or the provider's retry-after)
 * @param reason     why the attempt failed
 */
public record RetryRequest(Assignment assignment, int nextAttempt, @Nullable Instant notBefore,
    @Nullable JobError reason) {}
