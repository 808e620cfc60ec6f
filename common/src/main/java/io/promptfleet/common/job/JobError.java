package io.promptfleet.common.job;

/**
 * Why a job did not succeed.
 *
 * @param code      a stable, machine-readable code (see {@link ErrorCodes})
 * @param message   a human-readable explanation; never contains a secret
 * @param retryable whether the same job may succeed if resubmitted later
 */
public record JobError(String code, String message, boolean retryable) {}
