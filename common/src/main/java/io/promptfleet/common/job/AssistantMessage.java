package io.promptfleet.common.job;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonAnySetter;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The assistant message of a result, assembled from an attempt's deltas, in OpenAI's {@code choices[0].message}
 * shape: append it to the conversation as is for the next turn.
 *
 * @param role         always {@code assistant}
 * @param content      the text answer, or null when the model only called tools or refused
 * @param refusal      the model's refusal text, or null (OpenAI structured outputs and safety refusals)
 * @param reasoning    the reasoning text the provider streamed ({@code reasoning_content} of DeepSeek, vLLM,
 *                     Qwen; {@code reasoning} of newer vLLM and OpenRouter), or null. Not OpenAI's: drop it
 *                     before sending the message back to a provider that rejects unknown fields
 * @param toolCalls    the tool calls, in index order, each with its whole arguments string; null when none
 * @param functionCall the legacy {@code function_call}, or null
 * @param extra        any other field the provider's deltas carried (for example {@code audio}, {@code
 *                     annotations}), merged by the rule the OpenAI SDKs use: strings concatenated, objects
 *                     merged field by field, arrays appended; written at the top level of the message
 */
public record AssistantMessage(
    String role,
    @Nullable String content,
    @Nullable String refusal,
    @Nullable String reasoning,
    @Nullable List<ToolCall> toolCalls,
    @Nullable FunctionCall functionCall,
    @JsonAnySetter @JsonAnyGetter Map<String, JsonNode> extra) {

  public AssistantMessage {
    toolCalls = toolCalls == null || toolCalls.isEmpty() ? null : List.copyOf(toolCalls);
    extra = extra == null ? new LinkedHashMap<>() : extra;
  }

  /** A plain text answer. */
  public static AssistantMessage text(String content) {
    return new AssistantMessage("assistant", content, null, null, null, null, null);
  }
}
