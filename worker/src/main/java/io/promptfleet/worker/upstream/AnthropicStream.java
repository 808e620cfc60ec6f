package io.promptfleet.worker.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.upstream.AnthropicAnswers;
import io.promptfleet.common.job.FunctionCall;
import io.promptfleet.common.job.ToolCallDelta;
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
  private final AnthropicAnswers.Tokens tokens = new AnthropicAnswers.Tokens();
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
        e.serviceTier = tokens.serviceTier();
        out.event(e);
      }
      case "content_block_start" -> {
        int index = n.path("index").asInt();
        JsonNode block = n.path("content_block");
        blockType.put(index, block.path("type").asText());
        if ("tool_use".equals(block.path("type").asText())) {
          toolIndex.put(index, toolIndex.size());
        }
        AnthropicAnswers.Parts parts = new AnthropicAnswers.Parts();
        parts.block(index, toolIndex.getOrDefault(index, -1), block, false);
        out.event(event(parts));
      }
      case "content_block_delta" -> out.event(delta(n.path("index").asInt(), n.path("delta")));
      case "message_delta" -> {
        ChunkEvent e = new ChunkEvent();
        e.finishReason = AnthropicAnswers.finishReason(text(n.path("delta"), "stop_reason"));
        e.usage = tokens.add(n.get("usage"));
        e.serviceTier = tokens.serviceTier();
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
      e.extra = NODES.objectNode().set("reasoning_signature", d.path("signature"));
    } else if ("input_json_delta".equals(kind) && toolIndex.containsKey(index)) {
      e.toolCalls = new ArrayList<>(1);
      e.toolCalls.add(new ToolCallDelta(toolIndex.get(index), null, null,
          new FunctionCall(null, d.path("partial_json").asText())));
    } else {
      ObjectNode kept = NODES.objectNode().put("index", index);
      kept.putArray("deltas").add(d);
      e.extra = NODES.objectNode().set("anthropic_blocks", NODES.arrayNode().add(kept));
    }
    return e;
  }

  /** A fresh event holding what {@code parts} hold. */
  private static ChunkEvent event(AnthropicAnswers.Parts parts) {
    ChunkEvent e = new ChunkEvent();
    e.content = parts.content();
    e.reasoning = parts.reasoning();
    e.toolCalls = parts.toolCalls();
    e.extra = parts.extra();
    return e;
  }

  /**
   * A whole Anthropic message object (a route that does not stream) as one event ({@link AnthropicAnswers#message}):
   * id, model, every content block in order, the finish reason and usage; a body of type {@code error} is an error
   * event.
   *
   * @throws IOException when the body is not a JSON object
   */
  static ChunkEvent message(String body) throws IOException {
    JsonNode m = Json.mapper().readTree(body);
    if (m == null || !m.isObject()) {
      throw new IOException("not a JSON object");
    }
    if ("error".equals(m.path("type").asText()) || m.hasNonNull("error")) {
      ChunkEvent e = new ChunkEvent();
      e.hasError = true;
      return e;
    }
    AnthropicAnswers.Message message = AnthropicAnswers.message(m);
    ChunkEvent e = event(message.parts());
    e.id = message.id();
    e.model = message.model();
    e.finishReason = message.finishReason();
    e.usage = message.usage();
    e.serviceTier = message.serviceTier();
    return e;
  }

  private static String text(JsonNode o, String field) {
    JsonNode v = o.get(field);
    return v != null && v.isTextual() && !v.textValue().isEmpty() ? v.textValue() : null;
  }
}
