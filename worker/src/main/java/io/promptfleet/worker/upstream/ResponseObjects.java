package io.promptfleet.worker.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.FunctionCall;
import io.promptfleet.common.job.ToolCallDelta;
import io.promptfleet.common.job.Usage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a Responses API {@code Response} object (a plain answer, or the one a {@code response.completed} / {@code
 * response.incomplete} event carries) into the fleet's contract: its usage, its finish reason and, for a plain
 * answer, the whole message. Stateless and thread-safe.
 *
 * <p>Usage: {@code input_tokens} → {@code prompt_tokens}, {@code output_tokens} → {@code completion_tokens}, {@code
 * total_tokens} as sent, {@code input_tokens_details} → {@code prompt_tokens_details} (with {@code cached_tokens})
 * and {@code output_tokens_details} → {@code completion_tokens_details} (with {@code reasoning_tokens}), passed
 * through as sent. Finish reason: {@code incomplete} with {@code incomplete_details.reason: content_filter} →
 * {@code content_filter}, any other incomplete → {@code length}; a complete answer with a function call →
 * {@code tool_calls}, else {@code stop}.
 */
final class ResponseObjects {
  /** Between two reasoning summary parts (each a paragraph that opens with its own bold title). */
  static final String PART_SEPARATOR = "\n\n";

  private ResponseObjects() {}

  static Usage usage(JsonNode u) {
    if (u == null || !u.isObject()) {
      return null;
    }
    long in = u.path("input_tokens").asLong(0);
    long out = u.path("output_tokens").asLong(0);
    JsonNode total = u.get("total_tokens");
    JsonNode inDetails = u.get("input_tokens_details");
    JsonNode outDetails = u.get("output_tokens_details");
    return new Usage(in, out, total != null && total.canConvertToLong() ? total.longValue() : in + out,
        inDetails != null && inDetails.isObject() ? inDetails : null,
        outDetails != null && outDetails.isObject() ? outDetails : null);
  }

  /** The finish reason of a response that ended ({@code completed} or {@code incomplete}). */
  static String finishReason(JsonNode response, boolean calledFunctions) {
    if ("incomplete".equals(response.path("status").asText())) {
      return "content_filter".equals(response.path("incomplete_details").path("reason").asText())
          ? "content_filter" : "length";
    }
    return calledFunctions || hasFunctionCall(response.path("output")) ? "tool_calls" : "stop";
  }

  private static boolean hasFunctionCall(JsonNode output) {
    for (JsonNode item : output) {
      if ("function_call".equals(item.path("type").asText())) {
        return true;
      }
    }
    return false;
  }

  /** Id, model and service tier of the response an event carries. */
  static void meta(JsonNode response, ChunkEvent e) {
    e.id = nonEmpty(response, "id");
    e.model = nonEmpty(response, "model");
    e.serviceTier = nonEmpty(response, "service_tier");
  }

  /**
   * A whole {@code Response} object as one event: output text and refusals of its messages in output order,
   * reasoning summaries (and reasoning text) joined by {@link #PART_SEPARATOR}, function calls as tool calls.
   *
   * @throws IOException when {@code body} is not a JSON object with an {@code output} array and a status
   */
  static ChunkEvent plain(String body) throws IOException {
    JsonNode r = Json.mapper().readTree(body);
    if (r == null || !r.isObject()) {
      throw new IOException("not a JSON object");
    }
    ChunkEvent e = new ChunkEvent();
    String status = r.path("status").asText();
    if (r.hasNonNull("error") || "failed".equals(status)) {
      e.hasError = true; // classified by failure(body)
      return e;
    }
    if (!r.path("output").isArray() || !("completed".equals(status) || "incomplete".equals(status))) {
      throw new IOException("not a finished Responses API response object (status " + status + ")");
    }
    meta(r, e);
    StringBuilder text = null;
    StringBuilder refusal = null;
    StringBuilder reasoning = null;
    List<ToolCallDelta> calls = new ArrayList<>();
    for (JsonNode item : r.get("output")) {
      switch (item.path("type").asText()) {
        case "message" -> {
          for (JsonNode part : item.path("content")) {
            if ("output_text".equals(part.path("type").asText()) && part.path("text").isTextual()) {
              text = (text == null ? new StringBuilder() : text).append(part.get("text").textValue());
            } else if ("refusal".equals(part.path("type").asText())) {
              refusal = (refusal == null ? new StringBuilder() : refusal).append(part.path("refusal").asText());
            }
          }
        }
        case "reasoning" -> {
          for (String field : new String[] {"summary", "content"}) {
            for (JsonNode part : item.path(field)) {
              if (part.path("text").isTextual()) {
                reasoning = reasoning == null ? new StringBuilder() : reasoning.append(PART_SEPARATOR);
                reasoning.append(part.get("text").textValue());
              }
            }
          }
        }
        case "function_call" -> calls.add(new ToolCallDelta(calls.size(), item.path("call_id").asText(null),
            "function", new FunctionCall(item.path("name").asText(null), item.path("arguments").asText(""))));
        default -> { } // hosted tool calls and other items: the fleet requests none
      }
    }
    e.content = text == null ? (calls.isEmpty() && refusal == null ? "" : null) : text.toString();
    e.refusal = refusal == null ? null : refusal.toString();
    e.reasoning = reasoning == null ? null : reasoning.toString();
    e.toolCalls = calls.isEmpty() ? null : calls;
    e.usage = usage(r.get("usage"));
    e.finishReason = finishReason(r, !calls.isEmpty());
    return e;
  }

  /**
   * The failure a plain answer reports ({@link ChunkEvent#hasError()} of {@link #plain}): its {@code error} ({@code
   * {"code", "message"}} of a {@code status: failed} response, or an error body's object), classified by {@link
   * Failures#ofResponseError} as the stream's {@code response.failed} is.
   */
  static Failure failure(String body) {
    JsonNode error;
    try {
      JsonNode r = Json.mapper().readTree(body);
      error = r == null ? null : r.get("error");
    } catch (IOException e) {
      error = null;
    }
    return error != null && error.isObject() ? Failures.ofResponseError(error) : Failures.ofStreamError(body);
  }

  private static String nonEmpty(JsonNode o, String field) {
    JsonNode v = o.get(field);
    return v != null && v.isTextual() && !v.textValue().isEmpty() ? v.textValue() : null;
  }
}
