package io.promptfleet.simulator.internal;

import io.promptfleet.simulator.Fault;
import java.util.List;

/**
 * Writes one response in Anthropic's Messages format: the named events of its stream ({@code message_start}, one
 * {@code content_block_start} / {@code content_block_delta}... / {@code content_block_stop} per block, {@code
 * message_delta} with the stop reason and usage, {@code message_stop}; {@code ping} as keep-alive; {@code error}) and
 * the non-stream message object. The answer's steps become blocks: reasoning a {@code thinking} block (closed by a
 * {@code signature_delta}), content and refusal text a {@code text} block, each call a {@code tool_use} block whose
 * arguments stream as {@code input_json_delta}. Usage: the prompt is split into {@code input_tokens}, {@code
 * cache_read_input_tokens} (the answer's cached tokens) and {@code cache_creation_input_tokens} (the request's
 * cacheable prefix not read from the cache).
 *
 * <p>Not thread-safe; owned by one response on its event loop. Built by hand, like {@link ChunkEncoder}.
 */
final class MessagesEncoder implements AnswerEncoder {
  /** The signature every simulated thinking block carries. */
  static final String SIGNATURE = "c2ltdWxhdGVkLXNpZ25hdHVyZQ==";

  private final String id;
  private final String model;
  private final int cachePrefixTokens;
  private Answer answer;
  /** The kind of the open block, or null; its index is {@code blocks - 1}. */
  private Answer.Step open;
  private int blocks;

  /**
   * @param cachePrefixTokens the prompt tokens up to the request's last {@code cache_control} breakpoint (0 when it
   *                          has none): what a cache would hold
   */
  MessagesEncoder(String id, String model, int cachePrefixTokens) {
    this.id = id;
    this.model = model;
    this.cachePrefixTokens = cachePrefixTokens;
  }

  @Override
  public StringBuilder opening(StringBuilder out, Answer a) {
    this.answer = a;
    event(out, "message_start").append("{\"type\":\"message_start\",\"message\":{\"id\":");
    Json.appendString(out, id).append(",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":");
    Json.appendString(out, model).append(",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":");
    appendInputUsage(out, a.usage()).append(",\"output_tokens\":1}}}\n\n");
    if (a.opening() == Answer.Opening.CALL) {
      toolUse(out, 0);
    }
    return out;
  }

  @Override
  public StringBuilder step(StringBuilder out, Answer a, int i) {
    Answer.Step step = a.step(i);
    String text = a.text(i);
    switch (step) {
      case CONTENT, REFUSAL -> {
        if (open != Answer.Step.CONTENT) {
          start(out, Answer.Step.CONTENT, "{\"type\":\"text\",\"text\":\"\"}");
        }
        delta(out).append("{\"type\":\"text_delta\",\"text\":");
        Json.appendString(out, text).append("}}\n\n");
      }
      case REASONING -> {
        if (open != Answer.Step.REASONING) {
          start(out, Answer.Step.REASONING, "{\"type\":\"thinking\",\"thinking\":\"\"}");
        }
        delta(out).append("{\"type\":\"thinking_delta\",\"thinking\":");
        Json.appendString(out, text).append("}}\n\n");
      }
      case CALL -> toolUse(out, a.callIndex(i));
      case ARGUMENTS -> {
        delta(out).append("{\"type\":\"input_json_delta\",\"partial_json\":");
        Json.appendString(out, text).append("}}\n\n");
      }
    }
    return out;
  }

  private void toolUse(StringBuilder out, int call) {
    Answer.Call c = answer.calls().get(call);
    StringBuilder block = new StringBuilder(96).append("{\"type\":\"tool_use\",\"id\":");
    Json.appendString(block, c.id()).append(",\"name\":");
    Json.appendString(block, c.name()).append(",\"input\":{}}");
    start(out, Answer.Step.CALL, block.toString());
  }

  /** Closes the open block (a thinking block with its signature) and starts one of {@code kind}. */
  private void start(StringBuilder out, Answer.Step kind, String block) {
    stop(out);
    event(out, "content_block_start").append("{\"type\":\"content_block_start\",\"index\":").append(blocks)
        .append(",\"content_block\":").append(block).append("}\n\n");
    blocks++;
    open = kind;
  }

  private void stop(StringBuilder out) {
    if (open == null) {
      return;
    }
    if (open == Answer.Step.REASONING) {
      delta(out).append("{\"type\":\"signature_delta\",\"signature\":\"").append(SIGNATURE).append("\"}}\n\n");
    }
    event(out, "content_block_stop").append("{\"type\":\"content_block_stop\",\"index\":").append(blocks - 1)
        .append("}\n\n");
    open = null;
  }

  private StringBuilder delta(StringBuilder out) {
    return event(out, "content_block_delta").append("{\"type\":\"content_block_delta\",\"index\":")
        .append(blocks - 1).append(",\"delta\":");
  }

  /**
   * Closes the open block; {@code message_delta} with the stop reason and output tokens (the input tokens went in
   * {@code message_start}); {@code message_stop} when {@code terminated}.
   */
  @Override
  public StringBuilder end(StringBuilder out, Answer a, boolean terminated) {
    stop(out);
    event(out, "message_delta").append("{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":");
    Json.appendString(out, stopReason(a.finishReason())).append(",\"stop_sequence\":null},")
        .append("\"usage\":{\"output_tokens\":").append(a.usage().completionTokens()).append("}}\n\n");
    return terminated ? event(out, "message_stop").append("{\"type\":\"message_stop\"}\n\n") : out;
  }

  private String stopReason(String finishReason) {
    if (answer.refused()) {
      return "refusal";
    }
    return switch (finishReason) {
      case "length" -> "max_tokens";
      case "tool_calls", "function_call" -> "tool_use";
      default -> "end_turn";
    };
  }

  @Override
  public StringBuilder keepalive(StringBuilder out) {
    return event(out, "ping").append("{\"type\": \"ping\"}\n\n");
  }

  @Override
  public StringBuilder badJson(StringBuilder out) {
    return event(out, "content_block_delta").append("{not json\n\n");
  }

  /** Anthropic's documented mid-stream error: {@code overloaded_error} (the form of the directive does not apply). */
  @Override
  public StringBuilder error(StringBuilder out, Fault.ErrorEventForm form) {
    return event(out, "error").append(AnthropicErrors.body("overloaded_error", "Overloaded")).append("\n\n");
  }

  @Override
  public String serverError() {
    return AnthropicErrors.body("api_error", "Internal server error (simulated).");
  }

  @Override
  public String completion(Answer a) {
    this.answer = a;
    StringBuilder sb = new StringBuilder(256).append("{\"id\":");
    Json.appendString(sb, id).append(",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
    Json.appendString(sb, model).append(",\"content\":[");
    boolean first = true;
    String reasoning = a.reasoning();
    if (reasoning != null) {
      sb.append("{\"type\":\"thinking\",\"thinking\":");
      Json.appendString(sb, reasoning).append(",\"signature\":\"").append(SIGNATURE).append("\"}");
      first = false;
    }
    String text = a.refused() ? a.refusal() : a.content();
    if (text != null && !text.isEmpty()) {
      sb.append(first ? "" : ",").append("{\"type\":\"text\",\"text\":");
      Json.appendString(sb, text).append('}');
      first = false;
    }
    List<Answer.Call> calls = a.sentCalls();
    for (Answer.Call c : calls) {
      sb.append(first ? "" : ",").append("{\"type\":\"tool_use\",\"id\":");
      Json.appendString(sb, c.id()).append(",\"name\":");
      Json.appendString(sb, c.name()).append(",\"input\":").append(c.arguments().isBlank() ? "{}" : c.arguments())
          .append('}');
      first = false;
    }
    sb.append("],\"stop_reason\":");
    Json.appendString(sb, stopReason(a.finishReason())).append(",\"stop_sequence\":null,\"usage\":");
    appendInputUsage(sb, a.usage()).append(",\"output_tokens\":").append(a.usage().completionTokens()).append("}}");
    return sb.toString();
  }

  /** {@code {"input_tokens":…,"cache_creation_input_tokens":…,"cache_read_input_tokens":…} without its brace. */
  private StringBuilder appendInputUsage(StringBuilder out, Usage u) {
    int read = u.cachedTokens();
    int written = Math.max(0, Math.min(cachePrefixTokens, u.promptTokens()) - read);
    return out.append("{\"input_tokens\":").append(Math.max(0, u.promptTokens() - read - written))
        .append(",\"cache_creation_input_tokens\":").append(written)
        .append(",\"cache_read_input_tokens\":").append(read);
  }

  private static StringBuilder event(StringBuilder out, String name) {
    return out.append("event: ").append(name).append("\ndata: ");
  }
}
