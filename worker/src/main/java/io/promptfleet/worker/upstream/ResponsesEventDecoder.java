package io.promptfleet.worker.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FunctionCall;
import io.promptfleet.common.job.ToolCallDelta;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the Responses API event stream of one attempt into chunk events (the event type is read from the data's
 * {@code type}, so a relay that drops the {@code event:} lines is read the same):
 *
 * <ul>
 *   <li>{@code response.created}, {@code response.in_progress}, {@code response.queued}: id, model, service tier;</li>
 *   <li>{@code response.output_item.added} of a {@code function_call}: a tool-call fragment with the item's {@code
 *       call_id} as id, its name, and the index of the call among the response's function calls in output order;
 *       {@code response.function_call_arguments.delta}: an arguments fragment of that call;</li>
 *   <li>{@code response.output_text.delta}: content; {@code response.refusal.delta}: refusal; {@code
 *       response.reasoning_summary_text.delta} and {@code response.reasoning_text.delta}: reasoning, with
 *       {@link ResponseObjects#PART_SEPARATOR} between two summary parts or reasoning items;</li>
 *   <li>{@code response.completed}: usage, finish reason {@code stop} or {@code tool_calls}, and the stream is
 *       complete; {@code response.incomplete}: finish reason {@code length} or {@code content_filter}, usage,
 *       complete;</li>
 *   <li>{@code response.failed} and {@code error}: the attempt fails ({@link Failures#ofResponseError}).</li>
 * </ul>
 *
 * <p>Other events (content part, annotation, hosted tool progress, events a later API version adds) are ignored.
 * The {@code *.done} events repeat what the deltas said and are ignored too, except that they cannot lose text: when
 * the whole text a {@code .done} event carries ({@code output_text.done}, {@code refusal.done}, {@code
 * reasoning_summary_text.done}, {@code reasoning_text.done}, {@code function_call_arguments.done}, {@code
 * output_item.done} of a function call) extends what the deltas of that part sent, the rest is emitted as one more
 * delta. A {@code .done} text that contradicts the deltas is ignored: the streamed chunks are already published and
 * the deltas are what the provider streamed. Not thread-safe: one per attempt, driven on its event loop.
 */
final class ResponsesEventDecoder implements StreamDecoder {
  private boolean complete;
  private boolean failed;
  /** Function calls: the index of each, by item id and by output index. */
  private final Map<String, Integer> callByItem = new HashMap<>();
  private final Map<Integer, Integer> callByOutput = new HashMap<>();
  private int calls;
  /** What the deltas of each part sent so far, by part key; for the {@code .done} events. */
  private final Map<String, StringBuilder> streamed = new HashMap<>();
  private String lastReasoningPart;

  @Override
  public void decode(String type, String data, Events out) {
    if (complete || failed) {
      return;
    }
    JsonNode e = EventJson.object(data);
    if (e == null) {
      failed = true;
      out.failure(EventJson.notAnObject(data));
      return;
    }
    String kind = e.path("type").asText(type == null ? "" : type);
    switch (kind) {
      case "response.created", "response.in_progress", "response.queued" -> {
        ChunkEvent c = new ChunkEvent();
        ResponseObjects.meta(e.path("response"), c);
        out.event(c);
      }
      case "response.output_item.added" -> itemAdded(e, out);
      case "response.output_text.delta" -> text(e, "text:", e.path("delta").asText(""), out);
      case "response.output_text.done" -> done(e, "text:", e.path("text"), out);
      case "response.refusal.delta" -> text(e, "refusal:", e.path("delta").asText(""), out);
      case "response.refusal.done" -> done(e, "refusal:", e.path("refusal"), out);
      case "response.reasoning_summary_text.delta", "response.reasoning_text.delta" ->
          text(e, reasoningKind(kind), e.path("delta").asText(""), out);
      case "response.reasoning_summary_text.done", "response.reasoning_text.done" ->
          done(e, reasoningKind(kind), e.path("text"), out);
      case "response.function_call_arguments.delta" -> arguments(e, e.path("delta").asText(""), out);
      case "response.function_call_arguments.done" -> argumentsDone(e, e.path("arguments"), out);
      case "response.output_item.done" -> {
        if ("function_call".equals(e.path("item").path("type").asText())) {
          itemAdded(e, out); // a call whose added event never came gets its header now; else a no-op
          argumentsDone(e, e.path("item").path("arguments"), out);
        }
      }
      case "response.completed", "response.incomplete" -> {
        JsonNode r = e.path("response");
        ChunkEvent c = new ChunkEvent();
        ResponseObjects.meta(r, c);
        c.usage = ResponseObjects.usage(r.get("usage"));
        c.finishReason = ResponseObjects.finishReason(r, calls > 0);
        complete = true;
        out.event(c);
      }
      case "response.failed" -> fail(e.path("response").path("error"), out);
      case "error" -> fail(e.path("error").isObject() ? e.get("error") : e, out);
      default -> { } // ignored: see the class comment
    }
  }

  @Override
  public boolean complete() {
    return complete;
  }

  private void fail(JsonNode error, Events out) {
    failed = true;
    out.failure(Failures.ofResponseError(error));
  }

  private static String reasoningKind(String eventType) {
    return eventType.startsWith("response.reasoning_summary") ? "summary:" : "reasoning:";
  }

  /** The key of one part: its kind, item and content (or summary) index. */
  private static String part(JsonNode e, String kind) {
    JsonNode index = e.has("summary_index") ? e.get("summary_index") : e.get("content_index");
    return kind + e.path("item_id").asText(e.path("output_index").asText("")) + ":"
        + (index == null ? "0" : index.asText());
  }

  private void text(JsonNode e, String kind, String delta, Events out) {
    emit(part(e, kind), kind, delta, out);
  }

  private void done(JsonNode e, String kind, JsonNode whole, Events out) {
    String key = part(e, kind);
    String rest = rest(key, whole);
    if (rest != null) {
      emit(key, kind, rest, out);
    }
  }

  /** What {@code whole} adds to what the part's deltas sent; null when nothing or when it contradicts them. */
  private String rest(String key, JsonNode whole) {
    if (whole == null || !whole.isTextual()) {
      return null;
    }
    StringBuilder have = streamed.get(key);
    String sent = have == null ? "" : have.toString();
    String all = whole.textValue();
    return all.length() > sent.length() && all.startsWith(sent) ? all.substring(sent.length()) : null;
  }

  private void emit(String key, String kind, String delta, Events out) {
    if (delta.isEmpty()) {
      return;
    }
    streamed.computeIfAbsent(key, k -> new StringBuilder()).append(delta);
    ChunkEvent c = new ChunkEvent();
    switch (kind) {
      case "text:" -> c.content = delta;
      case "refusal:" -> c.refusal = delta;
      default -> {
        boolean newPart = lastReasoningPart != null && !lastReasoningPart.equals(key);
        lastReasoningPart = key;
        c.reasoning = newPart ? ResponseObjects.PART_SEPARATOR + delta : delta;
      }
    }
    out.event(c);
  }

  private void itemAdded(JsonNode e, Events out) {
    JsonNode item = e.path("item");
    if (!"function_call".equals(item.path("type").asText()) || call(e) != null) {
      return;
    }
    int index = calls++;
    String id = item.path("id").asText("");
    if (!id.isEmpty()) {
      callByItem.put(id, index);
    }
    if (e.has("output_index")) {
      callByOutput.put(e.get("output_index").asInt(), index);
    }
    String args = item.path("arguments").asText("");
    if (!args.isEmpty()) {
      streamed.computeIfAbsent("args:" + index, k -> new StringBuilder()).append(args);
    }
    ChunkEvent c = new ChunkEvent();
    c.toolCalls = List.of(new ToolCallDelta(index, item.path("call_id").asText(null), "function",
        new FunctionCall(item.path("name").asText(null), args)));
    out.event(c);
  }

  /** The index of the function call an event is about (by item id, else by output index), or null. */
  private Integer call(JsonNode e) {
    String item = e.has("item_id") ? e.get("item_id").asText() : e.path("item").path("id").asText("");
    Integer byItem = item.isEmpty() ? null : callByItem.get(item);
    return byItem != null || !e.has("output_index") ? byItem : callByOutput.get(e.get("output_index").asInt());
  }

  private void arguments(JsonNode e, String delta, Events out) {
    Integer index = call(e);
    if (index == null) {
      failed = true;
      out.failure(Failure.transientFailure(ErrorCodes.STREAM_INVALID, "function call arguments for an item the "
          + "stream never added: " + Failures.clip(e.toString()), 200));
      return;
    }
    if (delta.isEmpty()) {
      return;
    }
    streamed.computeIfAbsent("args:" + index, k -> new StringBuilder()).append(delta);
    ChunkEvent c = new ChunkEvent();
    c.toolCalls = List.of(new ToolCallDelta(index, null, null, new FunctionCall(null, delta)));
    out.event(c);
  }

  private void argumentsDone(JsonNode e, JsonNode whole, Events out) {
    Integer index = call(e);
    if (index == null) {
      return;
    }
    String rest = rest("args:" + index, whole);
    if (rest != null) {
      arguments(e, rest, out);
    }
  }
}
