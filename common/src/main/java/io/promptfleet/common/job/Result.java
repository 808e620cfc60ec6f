package io.promptfleet.common.job;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The one terminal record of a job on its reply topic.
 *
 * @param jobId        the job
 * @param attempt      the attempt that produced this result (0 when no attempt ran, e.g. rejected)
 * @param status       succeeded, failed, rejected, expired or cancelled
 * @param content      the text answer (the attempt's text deltas joined) when succeeded; the same as
 *                     {@code message.content}, kept for readers that predate {@code message}
 * @param finishReason the provider's finish reason (stop, length, tool_calls, content_filter, ...)
 * @param usage        token usage as reported by the provider, with its details
 * @param model        the upstream model actually used
 * @param route        the route actually used
 * @param attempts     how many attempts ran
 * @param timings      queue, first-token, first-content and total times
 * @param cost         cost in USD from the route's prices, or null when no price is configured
 * @param error        why it did not succeed, or null
 * @param metadata     the job's metadata, echoed
 * @param message      when succeeded: the assembled assistant message (content, tool calls, refusal, reasoning,
 *                     ...) in OpenAI's shape
 * @param logprobs     when the job asked for logprobs: {@code {"content": [...], "refusal": [...]}} assembled from
 *                     the stream, at most the worker's bound of entries per list
 * @param logprobsTruncated true when entries beyond the bound were left out of {@code logprobs} (each chunk still
 *                     carried its own)
 * @param systemFingerprint the provider's {@code system_fingerprint}, when sent
 * @param serviceTier  the provider's {@code service_tier} that served the request, when sent
 * @param completionId the provider's id of the completion ({@code chatcmpl-...}), when sent
 * @param data         an embeddings job's vectors when succeeded: OpenAI's {@code data} list, each entry's
 *                     {@code embedding} as the provider sent it (a float array, or a base64 string of little-endian
 *                     float32 for {@code encoding_format: base64}); null for a chat job
 */
public record Result(
    String jobId,
    int attempt,
    JobStatus status,
    @Nullable String content,
    @Nullable String finishReason,
    @Nullable Usage usage,
    @Nullable String model,
    @Nullable String route,
    int attempts,
    @Nullable Timings timings,
    @Nullable Double cost,
    @Nullable JobError error,
    @Nullable JsonNode metadata,
    @Nullable AssistantMessage message,
    @Nullable JsonNode logprobs,
    @Nullable Boolean logprobsTruncated,
    @Nullable String systemFingerprint,
    @Nullable String serviceTier,
    @Nullable String completionId,
    @Nullable List<Embedding> data) implements Reply {

  public Result {
    data = data == null ? null : List.copyOf(data);
  }

  /** A chat result (no embeddings). */
  public Result(String jobId, int attempt, JobStatus status, @Nullable String content, @Nullable String finishReason,
      @Nullable Usage usage, @Nullable String model, @Nullable String route, int attempts, @Nullable Timings timings,
      @Nullable Double cost, @Nullable JobError error, @Nullable JsonNode metadata, @Nullable AssistantMessage message,
      @Nullable JsonNode logprobs, @Nullable Boolean logprobsTruncated, @Nullable String systemFingerprint,
      @Nullable String serviceTier, @Nullable String completionId) {
    this(jobId, attempt, status, content, finishReason, usage, model, route, attempts, timings, cost, error, metadata,
        message, logprobs, logprobsTruncated, systemFingerprint, serviceTier, completionId, null);
  }

  /** A result without a message (failed, rejected, expired, cancelled; or written by older code). */
  public Result(String jobId, int attempt, JobStatus status, @Nullable String content, @Nullable String finishReason,
      @Nullable Usage usage, @Nullable String model, @Nullable String route, int attempts, @Nullable Timings timings,
      @Nullable Double cost, @Nullable JobError error, @Nullable JsonNode metadata) {
    this(jobId, attempt, status, content, finishReason, usage, model, route, attempts, timings, cost, error, metadata,
        null, null, null, null, null, null, null);
  }

  /** The text answer: {@code content}, else the message's, else "" (a result without text). */
  @JsonIgnore
  public String text() {
    if (content != null) {
      return content;
    }
    return message != null && message.content() != null ? message.content() : "";
  }

  /** The tool calls of the answer, each with its whole arguments string; empty when none. */
  @JsonIgnore
  public List<ToolCall> toolCalls() {
    return message == null || message.toolCalls() == null ? List.of() : message.toolCalls();
  }

  /** The model's refusal text, or null when it did not refuse. */
  @JsonIgnore
  public @Nullable String refusal() {
    return message == null ? null : message.refusal();
  }

  /** The reasoning text the provider streamed, or null. */
  @JsonIgnore
  public @Nullable String reasoning() {
    return message == null ? null : message.reasoning();
  }

  /** Whether the model refused (a succeeded result whose message carries a refusal). */
  @JsonIgnore
  public boolean isRefusal() {
    return refusal() != null;
  }

  /** A result for a job that never ran. */
  public static Result terminal(String jobId, JobStatus status, @Nullable JobError error, @Nullable JsonNode metadata,
      int attempts) {
    return new Result(jobId, attempts, status, null, null, null, null, null, attempts, null, null, error, metadata);
  }
}
