package io.promptfleet.worker.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.FunctionCall;
import io.promptfleet.common.job.ToolCallDelta;
import io.promptfleet.common.job.Usage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;

/**
 * Decodes an Anthropic Messages event stream into the fleet's chunk events: {@code message_start} gives the id,
 * model and input usage; {@code content_block_start}/{@code _delta} give text ({@code text_delta}), reasoning
 * ({@code thinking_delta}; the block's {@code signature_delta} becomes the delta field {@code reasoning_signature})
 * and tool calls ({@code tool_use} blocks numbered 0..n in the order they start, {@code input_json_delta} as
 * argument fragments); {@code message_delta} the finish reason and the cumulative usage; {@code message_stop} ends
 * the stream; {@code ping} and unknown event types are ignored; an {@code error} event fails the attempt. A block or
 * delta of another kind (a server tool, redacted thinking, citations) is kept, not dropped: as the delta field
 * {@code anthropic_blocks}, elements {@code {"index": i, ...the block}} and {@code {"index": i, "deltas": [...]}},
 * which the assembler merges by index.
 *
 * <p>Not thread-safe: one per attempt. {@link #message} reads a whole (non-streaming) message object the same way.
 */
final class AnthropicStream implements StreamDecoder {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  /** Content block index to tool-call index (tool_use blocks only). */
  private final Map<Integer, Integer> toolIndex = new HashMap<>();
  /** Content block index to block type. */
  private final Map<Integer, String> blockType = new HashMap<>();
  private final Tokens tokens = new Tokens();
  private boolean done;

  @Override
  public void decode(String type, String data, Events out) {
    JsonNode n = EventJson.object(data);
    if (n == null) {
      out.failure(EventJson.notAnObject(data));
      return;
    }
    decode(type, n, data, out);
  }

  /** Parses the bytes as they are; data that is no object, and error events, go by the text path above. */
  @Override
  public void decode(String type, byte[] utf8, int offset, int length, Events out) {
    JsonNode n = EventJson.object(utf8, offset, length);
    if (n == null || "error".equals(kind(n, type))) {
      decode(type, EventJson.text(utf8, offset, length), out);
      return;
    }
    decode(type, n, null, out);
  }

  /** The event's type: its data's {@code type}, else the SSE event type. */
  private static String kind(JsonNode n, String type) {
    return n.path("type").asText(type == null ? "" : type);
  }

  /** @param data the event's data as text; needed only for an {@code error} event */
  private void decode(String type, JsonNode n, String data, Events out) {
    switch (kind(n, type)) {
      case "message_start" -> {
        JsonNode m = n.path("message");
        ChunkEvent e = new ChunkEvent();
        e.id = text(m, "id");
        e.model = text(m, "model");
        e.usage = tokens.add(m.get("usage"));
        e.serviceTier = tokens.serviceTier;
        out.event(e);
      }
      case "content_block_start" -> {
        int index = n.path("index").asInt();
        JsonNode block = n.path("content_block");
        blockType.put(index, block.path("type").asText());
        if ("tool_use".equals(block.path("type").asText())) {
          toolIndex.put(index, toolIndex.size());
        }
        ChunkEvent e = new ChunkEvent();
        block(e, index, toolIndex.getOrDefault(index, -1), block, false);
        out.event(e);
      }
      case "content_block_delta" -> out.event(delta(n.path("index").asInt(), n.path("delta")));
      case "message_delta" -> {
        ChunkEvent e = new ChunkEvent();
        e.finishReason = finishReason(text(n.path("delta"), "stop_reason"));
        e.usage = tokens.add(n.get("usage"));
        e.serviceTier = tokens.serviceTier;
        out.event(e);
      }
      case "message_stop" -> done = true;
      case "error" -> out.failure(Failures.ofStreamError(data));
      default -> { } // content_block_stop, ping, and event types added after this was written
    }
  }

  @Override
  public boolean complete() {
    return done;
  }

  private ChunkEvent delta(int index, JsonNode d) {
    ChunkEvent e = new ChunkEvent();
    String kind = d.path("type").asText();
    String block = blockType.getOrDefault(index, "");
    if ("text_delta".equals(kind) && "text".equals(block)) {
      e.content = d.path("text").asText();
    } else if ("thinking_delta".equals(kind) && "thinking".equals(block)) {
      e.reasoning = d.path("thinking").asText();
    } else if ("signature_delta".equals(kind) && "thinking".equals(block)) {
      extra(e, "reasoning_signature", d.path("signature"));
    } else if ("input_json_delta".equals(kind) && toolIndex.containsKey(index)) {
      e.toolCalls = new ArrayList<>(1);
      e.toolCalls.add(new ToolCallDelta(toolIndex.get(index), null, null,
          new FunctionCall(null, d.path("partial_json").asText())));
    } else {
      ObjectNode kept = NODES.objectNode().put("index", index);
      kept.putArray("deltas").add(d);
      extra(e, "anthropic_blocks", NODES.arrayNode().add(kept));
    }
    return e;
  }

  /**
   * What a content block holds when it starts (or, in a whole message, all of it) into {@code e}, appended to what
   * {@code e} holds: text, thinking and its signature, a tool call (arguments: the input's JSON; at the start of a
   * stream an empty input is no fragment, its {@code input_json_delta}s follow), any other block as {@code
   * anthropic_blocks}.
   */
  private static void block(ChunkEvent e, int index, int tool, JsonNode b, boolean whole) {
    switch (b.path("type").asText()) {
      case "text" -> {
        String t = b.path("text").asText("");
        if (!t.isEmpty() || whole) {
          e.content = e.content == null ? t : e.content + t;
        }
      }
      case "thinking" -> {
        String t = b.path("thinking").asText("");
        if (!t.isEmpty()) {
          e.reasoning = e.reasoning == null ? t : e.reasoning + t;
        }
        if (b.hasNonNull("signature") && !b.path("signature").asText().isEmpty()) {
          extra(e, "reasoning_signature", b.get("signature"));
        }
      }
      case "tool_use" -> {
        JsonNode input = b.path("input");
        String args = whole || (input.isObject() && !input.isEmpty()) ? input.toString() : "";
        if (e.toolCalls == null) {
          e.toolCalls = new ArrayList<>(1);
        }
        e.toolCalls.add(new ToolCallDelta(tool, text(b, "id"), "function", new FunctionCall(text(b, "name"), args)));
      }
      default -> {
        ObjectNode kept = NODES.objectNode().put("index", index);
        kept.setAll((ObjectNode) b.deepCopy());
        extra(e, "anthropic_blocks", NODES.arrayNode().add(kept));
      }
    }
  }

  /** Adds a delta field: strings concatenated, arrays appended. */
  private static void extra(ChunkEvent e, String field, JsonNode value) {
    if (e.extra == null) {
      e.extra = NODES.objectNode();
    }
    JsonNode have = e.extra.get(field);
    if (have != null && have.isTextual() && value.isTextual()) {
      e.extra.put(field, have.textValue() + value.textValue());
    } else if (have != null && have.isArray() && value.isArray()) {
      ((ArrayNode) have).addAll((ArrayNode) value);
    } else {
      e.extra.set(field, value);
    }
  }

  /**
   * Anthropic's stop reason in OpenAI's terms: {@code end_turn}/{@code stop_sequence} stop, {@code max_tokens} and
   * {@code model_context_window_exceeded} length, {@code tool_use} tool_calls, {@code refusal} content_filter; any
   * other ({@code pause_turn}, reasons added later) as Anthropic sent it.
   */
  static String finishReason(String stopReason) {
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
   * A whole Anthropic message object (a route that does not stream) as one event: id, model, every content block in
   * order, the finish reason and usage; a body of type {@code error} is an error event.
   *
   * @throws IOException when the body is not a JSON object
   */
  static ChunkEvent message(String body) throws IOException {
    JsonNode m = Json.mapper().readTree(body);
    if (m == null || !m.isObject()) {
      throw new IOException("not a JSON object");
    }
    ChunkEvent e = new ChunkEvent();
    if ("error".equals(m.path("type").asText()) || m.hasNonNull("error")) {
      e.hasError = true;
      return e;
    }
    e.id = text(m, "id");
    e.model = text(m, "model");
    JsonNode content = m.path("content");
    int tools = 0;
    for (int i = 0; i < content.size(); i++) {
      JsonNode b = content.get(i);
      boolean tool = "tool_use".equals(b.path("type").asText());
      block(e, i, tool ? tools++ : -1, b, true);
    }
    e.finishReason = finishReason(text(m, "stop_reason"));
    Tokens t = new Tokens();
    e.usage = t.add(m.get("usage"));
    e.serviceTier = t.serviceTier;
    return e;
  }

  private static String text(JsonNode o, String field) {
    JsonNode v = o.get(field);
    return v != null && v.isTextual() && !v.textValue().isEmpty() ? v.textValue() : null;
  }

  /**
   * Anthropic's usage as it accumulates over a stream (each report replaces the counts it carries), in the fleet's
   * shape: prompt tokens are input + cache reads + cache writes, {@code prompt_tokens_details} holds {@code
   * cached_tokens} (the cache reads) and Anthropic's own {@code cache_read_input_tokens}, {@code
   * cache_creation_input_tokens} and {@code cache_creation} breakdown; completion tokens are the output tokens.
   */
  private static final class Tokens {
    long input;
    long output;
    Long cacheRead;
    Long cacheCreation;
    JsonNode cacheBreakdown;
    String serviceTier;
    boolean seen;

    /** The usage so far after {@code u}, or null when no usage was ever reported. */
    Usage add(JsonNode u) {
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

    private static long count(JsonNode u, String field, long before) {
      JsonNode v = u.get(field);
      return v != null && v.canConvertToLong() ? v.longValue() : before;
    }
  }
}
