package io.promptfleet.common.job;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The one terminal record of a job on its reply topic.
 *
 * @param jobId        the job
 * @param attempt      the attempt that produced this result (0 when no attempt ran, e.g. rejected)
 * @param status       succeeded, failed, rejected, expired or cancelled
 * @param content      the whole answer (the attempt's chunks joined) when succeeded
 * @param finishReason the provider's finish reason (stop, length, content_filter, ...)
 * @param usage        token usage as reported by the provider
 * @param model        the upstream model actually used
 * @param route        the route actually used
 * @param attempts     how many attempts ran
 * @param timings      queue, first-token and total times
 * @param cost         cost in USD from the route's prices, or null when no price is configured
 * @param error        why it did not succeed, or null
 * @param metadata     the job's metadata, echoed
 */
public record Result(
    String jobId,
    int attempt,
    JobStatus status,
    String content,
    String finishReason,
    Usage usage,
    String model,
    String route,
    int attempts,
    Timings timings,
    Double cost,
    JobError error,
    JsonNode metadata) implements Reply {

  /** A result for a job that never ran. */
  public static Result terminal(String jobId, JobStatus status, JobError error, JsonNode metadata, int attempts) {
    return new Result(jobId, attempts, status, null, null, null, null, null, attempts, null, null, error, metadata);
  }
}
