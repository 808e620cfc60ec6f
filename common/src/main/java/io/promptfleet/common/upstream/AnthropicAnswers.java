package io.promptfleet.common.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.job.FunctionCall;
import io.promptfleet.common.job.ToolCallDelta;
import io.promptfleet.common.job.Usage;
import java.util.ArrayList;
import java.util.List;

/**
 * What an Anthropic Messages answer means in the fleet's terms, in one place for the worker's live calls (each
 * streamed content block, or a whole message) and the dispatcher's Message Batches (each {@code succeeded} result's
 * message): content blocks as text, reasoning, tool calls and kept blocks ({@link Parts}), {@code stop_reason} as a
 * finish reason ({@link #finishReason}), {@code usage} as the fleet's usage ({@link Tokens}).
 */
public final class AnthropicAnswers {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private AnthropicAnswers() {}

  /**
   * A whole message object ({@code {"type": "message", "content": [...], "stop_reason": ..., "usage": ...}}): every
   * content block in order, the finish reason and the usage.
   *
   * @param id           the message's id, or null
   * @param model        the model that answered, or null
   * @param parts        what its content blocks hold
   * @param finishReason {@link #finishReason} of its {@code stop_reason}, or null
   * @param usage        its usage, or null when it has none
   * @param serviceTier  {@code usage.service_tier}, or null
   */
  public record Message(String id, String model, Parts parts, String finishReason, Usage usage,
      String serviceTier) {}

  /** Reads a whole message object (not an {@code error} object: the caller tells them apart). */
  public static Message message(JsonNode m) {
    Parts parts = new Parts();
    JsonNode content = m.path("content");
    int tools = 0;
    for (int i = 0; i < content.size(); i++) {
      JsonNode b = content.get(i);
      boolean tool = "tool_use".equals(b.path("type").asText());
      parts.block(i, tool ? tools++ : -1, b, true);
    }
    Tokens t = new Tokens();
    Usage usage = t.add(m.get("usage"));
    return new Message(text(m, "id"), text(m, "model"), parts, finishReason(text(m, "stop_reason")), usage,
        t.serviceTier());
  }

  /**
   * Anthropic's stop reason in OpenAI's terms: {@code end_turn}/{@code stop_sequence} stop, {@code max_tokens} and
   * {@code model_context_window_exceeded} length, {@code tool_use} tool_calls, {@code refusal} content_filter; any
   * other ({@code pause_turn}, reasons added later) as Anthropic sent it.
   */
  public static String finishReason(String stopReason) {
    if (stopReason == null) {
      return null;
    }
    return switch (stopReason) {
      case "end_turn", "stop_sequence" -> "stop";
      case "max_tokens", "model_context_window_exceeded" -> "length";
      case "tool_use" -> "tool_calls";
      case "refusal" -> "content_filter";
      default -> stopReason;
    };
  }

  /**
   * What content blocks hold: text ({@code text} blocks), reasoning ({@code thinking} blocks; a block's {@code
   * signature} as the field {@code reasoning_signature} of {@link #extra}), tool calls ({@code tool_use} blocks, the
   * input's JSON as the arguments) and, kept rather than dropped, any other block (a server tool, redacted thinking,
   * ...) as {@code extra.anthropic_blocks}, elements {@code {"index": i, ...the block}}. Not thread-safe.
   */
  public static final class Parts {
    private String content;
    private String reasoning;
    private List<ToolCallDelta> toolCalls;
    private ObjectNode extra;

    /**
     * Appends what block {@code b} at {@code index} holds; {@code tool} numbers it among the tool calls. In a stream
     * ({@code whole} false) a block starts empty: an empty text is nothing yet, an empty tool input is no argument
     * fragment (its {@code input_json_delta}s follow).
     */
    public void block(int index, int tool, JsonNode b, boolean whole) {
      switch (b.path("type").asText()) {
        case "text" -> {
          String t = b.path("text").asText("");
          if (!t.isEmpty() || whole) {
            content = content == null ? t : content + t;
          }
        }
        case "thinking" -> {
          String t = b.path("thinking").asText("");
          if (!t.isEmpty()) {
            reasoning = reasoning == null ? t : reasoning + t;
          }
          if (b.hasNonNull("signature") && !b.path("signature").asText().isEmpty()) {
            extra("reasoning_signature", b.get("signature"));
          }
        }
        case "tool_use" -> {
          JsonNode input = b.path("input");
          String args = whole || (input.isObject() && !input.isEmpty()) ? input.toString() : "";
          if (toolCalls == null) {
            toolCalls = new ArrayList<>(1);
          }
          toolCalls.add(new ToolCallDelta(tool, text(b, "id"), "function", new FunctionCall(text(b, "name"), args)));
        }
        default -> {
          ObjectNode kept = NODES.objectNode().put("index", index);
          kept.setAll((ObjectNode) b.deepCopy());
          extra("anthropic_blocks", NODES.arrayNode().add(kept));
        }
      }
    }

    /** Adds a field to {@link #extra}: strings concatenated, arrays appended, anything else replaced. */
    public void extra(String field, JsonNode value) {
      if (extra == null) {
        extra = NODES.objectNode();
      }
      JsonNode have = extra.get(field);
      if (have != null && have.isTextual() && value.isTextual()) {
        extra.put(field, have.textValue() + value.textValue());
      } else if (have != null && have.isArray() && value.isArray()) {
        ((ArrayNode) have).addAll((ArrayNode) value);
      } else {
        extra.set(field, value);
      }
    }

    /** The text blocks joined, or null when there was none. */
    public String content() {
      return content;
    }

    /** The thinking blocks' text joined, or null. */
    public String reasoning() {
      return reasoning;
    }

    /** The tool calls (whole, in a whole message), or null. */
    public List<ToolCallDelta> toolCalls() {
      return toolCalls;
    }

    /** {@code reasoning_signature} and {@code anthropic_blocks}, or null. */
    public ObjectNode extra() {
      return extra;
    }
  }

  /**
   * Anthropic's usage as it accumulates over a stream (each report replaces the counts it carries; a whole message
   * reports once), in the fleet's shape: prompt tokens are input + cache reads + cache writes, {@code
   * prompt_tokens_details} holds {@code cached_tokens} (the cache reads) and Anthropic's own {@code
   * cache_read_input_tokens}, {@code cache_creation_input_tokens} and {@code cache_creation} breakdown; completion
   * tokens are the output tokens. Not thread-safe.
   */
  public static final class Tokens {
    private long input;
    private long output;
    private Long cacheRead;
    private Long cacheCreation;
    private JsonNode cacheBreakdown;
    private String serviceTier;
    private boolean seen;

    /** The usage so far after {@code u}, or null when no usage was ever reported. */
    public Usage add(JsonNode u) {
      if (u != null && u.isObject()) {
        seen = true;
        input = count(u, "input_tokens", input);
        output = count(u, "output_tokens", output);
        cacheRead = u.path("cache_read_input_tokens").canConvertToLong()
            ? Long.valueOf(u.get("cache_read_input_tokens").longValue()) : cacheRead;
        cacheCreation = u.path("cache_creation_input_tokens").canConvertToLong()
            ? Long.valueOf(u.get("cache_creation_input_tokens").longValue()) : cacheCreation;
        cacheBreakdown = u.path("cache_creation").isObject() ? u.get("cache_creation") : cacheBreakdown;
        serviceTier = text(u, "service_tier") != null ? text(u, "service_tier") : serviceTier;
      }
      if (!seen) {
        return null;
      }
      long read = cacheRead == null ? 0 : cacheRead;
      long written = cacheCreation == null ? 0 : cacheCreation;
      long prompt = input + read + written;
      ObjectNode details = null;
      if (cacheRead != null || cacheCreation != null) {
        details = NODES.objectNode().put("cached_tokens", read).put("cache_read_input_tokens", read)
            .put("cache_creation_input_tokens", written);
        if (cacheBreakdown != null) {
          details.set("cache_creation", cacheBreakdown);
        }
      }
      return new Usage(prompt, output, prompt + output, details, null);
    }

    /** The {@code service_tier} the usage last named, or null. */
    public String serviceTier() {
      return serviceTier;
    }

    private static long count(JsonNode u, String field, long before) {
      JsonNode v = u.get(field);
      return v != null && v.canConvertToLong() ? v.longValue() : before;
    }
  }

  private static String text(JsonNode o, String field) {
    JsonNode v = o.get(field);
    return v != null && v.isTextual() && !v.textValue().isEmpty() ? v.textValue() : null;
  }
}
