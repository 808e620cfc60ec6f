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
import io.promptfleet.common.upstream.AnthropicAnswers;
import io.promptfleet.common.upstream.EmbeddingsAnswer;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns one result line of a provider batch (a line of an OpenAI batch's output or error file, or of an Anthropic
 * Message Batch's results) into what its job gets: a {@code succeeded} answer (for a chat job one chunk with the
 * whole message, then the result in the shape a live non-streamed call has; for an embeddings job the result with
 * its vectors, as live; its cost at the batch price), a {@code failed} result with the provider's error, or nothing
 * yet (the request never ran: the batch expired or was cancelled first; the job then runs live). Pure; thread-safe.
 */
final class BatchAnswers {
  /** Error-line codes of requests the batch never ran. */
  static final Set<String> NOT_RUN = Set.of("batch_expired", "batch_cancelled", "batch_failed");

  private BatchAnswers() {}

  /** What a line means for its job. */
  sealed interface Outcome {}

  /** The provider answered: the one chunk (none for an embeddings job, as live) and the result. */
  record Answered(Chunk chunk, Result result) implements Outcome {}

  /** The provider refused or failed the request: the {@code failed} result. */
  record Failed(Result result) implements Outcome {}

  /** The request never ran: the job goes live. */
  record NotRun(String reason) implements Outcome {}

  /**
   * The outcome of an OpenAI output or error line for {@code member}.
   *
   * @param priced the route with the batch's prices (its name is the result's {@code route})
   * @param endedAt when the batch's end was read
   */
  static Outcome openAi(JsonNode line, BatchRecords.Member member, Route priced, Instant endedAt) {
    Job job = member.job();
    JsonNode response = line.path("response");
    JsonNode error = line.path("error");
    if (response.isObject() && response.path("status_code").asInt() == 200 && response.path("body").isObject()) {
      return job.isEmbeddings() ? embedded(response.path("body"), member, priced, endedAt)
          : answered(response.path("body"), member, priced, endedAt);
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
    return failed(member, priced, endedAt, new JobError(code, message, false));
  }

  /**
   * The outcome of an Anthropic Message Batch result line for {@code member}: {@code succeeded} answers it as a
   * non-streamed live call would ({@link AnthropicAnswers#message}), {@code errored} fails it with the provider's
   * error, {@code canceled} and {@code expired} never ran.
   */
  static Outcome anthropic(JsonNode line, BatchRecords.Member member, Route priced, Instant endedAt) {
    Job job = member.job();
    JsonNode result = line.path("result");
    String type = result.path("type").asText();
    switch (type) {
      case "succeeded" -> {
        if (!result.path("message").isObject()) {
          break;
        }
        AnthropicAnswers.Message m = AnthropicAnswers.message(result.path("message"));
        AnthropicAnswers.Parts parts = m.parts();
        String text = parts.content() == null ? "" : parts.content();
        Map<String, JsonNode> extra = new LinkedHashMap<>();
        if (parts.extra() != null) {
          parts.extra().fields().forEachRemaining(f -> extra.put(f.getKey(), f.getValue()));
        }
        AssistantMessage message = new AssistantMessage("assistant", parts.content(), null, parts.reasoning(),
            calls(parts.toolCalls()), null, extra);
        Chunk chunk = new Chunk(job.jobId(), 1, 0, text, m.finishReason(), parts.reasoning(), null, parts.toolCalls(),
            null, parts.extra(), null);
        Result r = new Result(job.jobId(), 1, JobStatus.SUCCEEDED, text, m.finishReason(), m.usage(),
            m.model() != null ? m.model() : priced.model(), priced.name(), 1, timings(member, endedAt),
            priced.cost(m.usage()), null, job.metadata(), message, null, null, null, m.serviceTier(), m.id());
        return new Answered(chunk, r);
      }
      case "errored" -> {
        JsonNode e = result.path("error").path("error").isObject() ? result.path("error").path("error")
            : result.path("error");
        String kind = e.path("type").asText("");
        String code = switch (kind) {
          case "rate_limit_error" -> ErrorCodes.UPSTREAM_RATE_LIMITED;
          case "api_error", "overloaded_error", "timeout_error" -> ErrorCodes.UPSTREAM_ERROR;
          default -> ErrorCodes.UPSTREAM_REJECTED;
        };
        return failed(member, priced, endedAt, new JobError(code, "the provider failed the batch request: " + kind
            + ": " + e.path("message").asText(e.toString()), false));
      }
      case "canceled", "expired" -> {
        return new NotRun("message batch request " + type);
      }
      default -> { }
    }
    return failed(member, priced, endedAt, new JobError(ErrorCodes.STREAM_INVALID,
        "the batch's result for this job is neither succeeded (with a message), errored, canceled nor expired: "
            + line, false));
  }

  /** An embeddings answer, read as the worker reads a live one: the vectors, model and usage; no chunk. */
  private static Outcome embedded(JsonNode body, BatchRecords.Member member, Route priced, Instant endedAt) {
    Job job = member.job();
    EmbeddingsAnswer a;
    try {
      a = EmbeddingsAnswer.parse(body.toString());
    } catch (IOException e) {
      return failed(member, priced, endedAt, new JobError(ErrorCodes.STREAM_INVALID,
          "the batch's embeddings answer for this job is invalid (" + e.getMessage() + ")", false));
    }
    int expected = EmbeddingsAnswer.expectedVectors(job.input());
    if (a.data().size() != expected) {
      return failed(member, priced, endedAt, new JobError(ErrorCodes.STREAM_INVALID, "the batch's embeddings answer"
          + " has " + a.data().size() + " vectors for " + expected + " inputs", false));
    }
    return new Answered(null, new Result(job.jobId(), 1, JobStatus.SUCCEEDED, null, null, a.usage(),
        a.model() != null ? a.model() : priced.model(), priced.name(), 1, timings(member, endedAt),
        priced.cost(a.usage()), null, job.metadata(), null, null, null, null, null, null, a.data()));
  }

  private static Failed failed(BatchRecords.Member member, Route priced, Instant endedAt, JobError error) {
    Job job = member.job();
    return new Failed(new Result(job.jobId(), 1, JobStatus.FAILED, null, null, null, null, priced.name(), 1,
        timings(member, endedAt), null, error, job.metadata()));
  }

  /** Whole tool-call fragments as the message's tool calls. */
  private static List<ToolCall> calls(List<ToolCallDelta> deltas) {
    if (deltas == null) {
      return null;
    }
    List<ToolCall> out = new ArrayList<>(deltas.size());
    for (ToolCallDelta d : deltas) {
      out.add(new ToolCall(d.id(), d.type(), d.function()));
    }
    return out;
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
