package io.promptfleet.dispatcher.batch;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.AssistantMessage;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FunctionCall;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.JobError;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.Route;
import io.promptfleet.common.job.Timings;
import io.promptfleet.common.job.ToolCall;
import io.promptfleet.common.job.ToolCallDelta;
import io.promptfleet.common.job.Usage;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Turns one line of an OpenAI batch's output or error file into what its job gets: a {@code succeeded} answer (one
 * chunk with the whole message, then the result in the shape a live non-streamed call has, its cost at the batch
 * price), a {@code failed} result with the provider's error, or nothing yet (the request never ran: the batch
 * expired or was cancelled first; the job then runs live). Pure; thread-safe.
 */
final class BatchAnswers {
  /** Error-line codes of requests the batch never ran. */
  static final Set<String> NOT_RUN = Set.of("batch_expired", "batch_cancelled", "batch_failed");

  private BatchAnswers() {}

  /** What a line means for its job. */
  sealed interface Outcome {}

  /** The provider answered: the one chunk and the result. */
  record Answered(Chunk chunk, Result result) implements Outcome {}

  /** The provider refused or failed the request: the {@code failed} result. */
  record Failed(Result result) implements Outcome {}

  /** The request never ran: the job goes live. */
  record NotRun(String reason) implements Outcome {}

  /**
   * The outcome of {@code line} for {@code member}.
   *
   * @param priced the route with the batch's prices (its name is the result's {@code route})
   * @param endedAt when the batch's end was read
   */
  static Outcome of(JsonNode line, BatchRecords.Member member, Route priced, Instant endedAt) {
    Job job = member.job();
    JsonNode response = line.path("response");
    JsonNode error = line.path("error");
    if (response.isObject() && response.path("status_code").asInt() == 200 && response.path("body").isObject()) {
      return answered(response.path("body"), member, priced, endedAt);
    }
    if (error.isObject() && NOT_RUN.contains(error.path("code").asText())) {
      return new NotRun(error.path("code").asText() + ": " + error.path("message").asText());
    }
    String message;
    String code;
    if (response.isObject()) {
      int status = response.path("status_code").asInt();
      JsonNode e = response.path("body").path("error");
      message = "the provider answered the batch request with HTTP " + status + ": "
          + (e.isObject() ? e.path("message").asText(e.toString()) : response.path("body").toString());
      code = status == 429 ? ErrorCodes.UPSTREAM_RATE_LIMITED
          : status >= 400 && status < 500 ? ErrorCodes.UPSTREAM_REJECTED : ErrorCodes.UPSTREAM_ERROR;
    } else if (error.isObject()) {
      message = "the provider failed the batch request: " + error.path("code").asText() + ": "
          + error.path("message").asText();
      code = ErrorCodes.UPSTREAM_ERROR;
    } else {
      message = "the batch's line for this job has neither a response nor an error: " + line;
      code = ErrorCodes.STREAM_INVALID;
    }
    return new Failed(new Result(job.jobId(), 1, JobStatus.FAILED, null, null, null, null, priced.name(), 1,
        timings(member, endedAt), null, new JobError(code, message, false), job.metadata()));
  }

  private static Outcome answered(JsonNode body, BatchRecords.Member member, Route priced, Instant endedAt) {
    Job job = member.job();
    JsonNode choice = body.path("choices").path(0);
    AssistantMessage message = choice.path("message").isObject()
        ? Json.mapper().convertValue(choice.path("message"), AssistantMessage.class)
        : AssistantMessage.text("");
    String finish = choice.path("finish_reason").isTextual() ? choice.path("finish_reason").asText() : null;
    JsonNode logprobs = choice.path("logprobs").isObject() ? choice.path("logprobs") : null;
    JsonNode u = body.path("usage");
    Usage usage = u.isObject() ? new Usage(u.path("prompt_tokens").asLong(), u.path("completion_tokens").asLong(),
        u.path("total_tokens").asLong(), nullIfMissing(u.path("prompt_tokens_details")),
        nullIfMissing(u.path("completion_tokens_details"))) : null;
    String text = message.content() == null ? "" : message.content();
    Chunk chunk = new Chunk(job.jobId(), 1, 0, text, finish, message.reasoning(), message.refusal(),
        deltas(message.toolCalls()), message.functionCall(), null, logprobs);
    Result result = new Result(job.jobId(), 1, JobStatus.SUCCEEDED, text, finish, usage,
        body.path("model").asText(priced.model()), priced.name(), 1, timings(member, endedAt), priced.cost(usage),
        null, job.metadata(), message, logprobs, null, textOrNull(body, "system_fingerprint"),
        textOrNull(body, "service_tier"), textOrNull(body, "id"));
    return new Answered(chunk, result);
  }

  /** The whole tool calls as the fragments a stream would have sent, one per call. */
  private static List<ToolCallDelta> deltas(List<ToolCall> calls) {
    if (calls == null) {
      return null;
    }
    List<ToolCallDelta> out = new ArrayList<>(calls.size());
    for (int i = 0; i < calls.size(); i++) {
      ToolCall c = calls.get(i);
      out.add(new ToolCallDelta(i, c.id(), c.type(), c.function() == null ? null
          : new FunctionCall(c.function().name(), c.function().arguments())));
    }
    return out;
  }

  /** Queued: from entering Kafka to the batch's end being read; no first token (one answer, all at once). */
  private static Timings timings(BatchRecords.Member member, Instant endedAt) {
    long total = Math.max(0, endedAt.toEpochMilli() - member.enqueuedAt().toEpochMilli());
    return new Timings(total, null, total);
  }

  private static JsonNode nullIfMissing(JsonNode n) {
    return n.isMissingNode() || n.isNull() ? null : n;
  }

  private static String textOrNull(JsonNode body, String field) {
    JsonNode v = body.get(field);
    return v == null || !v.isTextual() ? null : v.asText();
  }
}
