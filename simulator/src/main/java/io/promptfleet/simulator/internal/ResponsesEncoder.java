package io.promptfleet.simulator.internal;

import io.promptfleet.simulator.Fault;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes one response in the shape of the OpenAI Responses API: the semantic event stream ({@code event: TYPE} and
 * {@code data: {"type": TYPE, "sequence_number": n, ...}}) and the non-stream {@code Response} object. The answer
 * steps become output items in order: reasoning steps a {@code reasoning} item with one summary part ({@code
 * response.reasoning_summary_text.delta}), content steps a {@code message} item ({@code response.output_text.delta}),
 * refusal steps a message with a refusal part ({@code response.refusal.delta}), each call a {@code function_call}
 * item ({@code response.output_item.added}, then {@code response.function_call_arguments.delta}). Each item ends
 * with its {@code .done} events, which carry its whole text, as the API sends them. A complete stream ends with
 * {@code response.completed} (or {@code response.incomplete}, reason {@code max_output_tokens}, when the answer was
 * cut by the token limit) carrying the output and the usage; there is no {@code [DONE]}. A mid-stream error is a
 * {@code response.failed} event ({@link Fault.ErrorEventForm#DATA}) or an {@code error} event ({@link
 * Fault.ErrorEventForm#EVENT}).
 *
 * <p>Not thread-safe: one per response, on its event loop.
 */
final class ResponsesEncoder implements AnswerEncoder {

  private enum Item { NONE, REASONING, TEXT, REFUSAL, CALL }

  private final String id;
  private final long created;
  private final String model;
  private final String eol;
  private final String idBase;
  private int sequence;
  private Item open = Item.NONE;
  private String itemId;
  private int outputIndex = -1;
  private StringBuilder itemText;
  private int openCall = -1;
  /** The output items written so far (their done form), for the terminal event. */
  private final List<String> output = new ArrayList<>();

  /**
   * @param idBase the response's unique part, for its id and its items' ids
   * @param eol    line end, {@code "\n"} or {@code "\r\n"}
   */
  ResponsesEncoder(String idBase, long created, String model, String eol) {
    this.id = "resp_sim" + idBase;
    this.idBase = idBase;
    this.created = created;
    this.model = model;
    this.eol = eol;
  }

  @Override
  public StringBuilder opening(StringBuilder out, Answer answer) {
    event(out, "response.created").append(",\"response\":");
    response(out, "in_progress", null, null).append('}').append(eol).append(eol);
    event(out, "response.in_progress").append(",\"response\":");
    response(out, "in_progress", null, null).append('}').append(eol).append(eol);
    if (answer.opening() == Answer.Opening.CALL) {
      openCall(out, answer, 0);
    }
    return out;
  }

  @Override
  public StringBuilder step(StringBuilder out, Answer answer, int i) {
    String text = answer.text(i);
    switch (answer.step(i)) {
      case REASONING -> {
        ensure(out, answer, Item.REASONING);
        itemText.append(text);
        event(out, "response.reasoning_summary_text.delta");
        itemRef(out).append(",\"summary_index\":0,\"delta\":");
        Json.appendString(out, text);
      }
      case CONTENT -> {
        ensure(out, answer, Item.TEXT);
        itemText.append(text);
        event(out, "response.output_text.delta");
        itemRef(out).append(",\"content_index\":0,\"delta\":");
        Json.appendString(out, text).append(",\"logprobs\":[]");
      }
      case REFUSAL -> {
        ensure(out, answer, Item.REFUSAL);
        itemText.append(text);
        event(out, "response.refusal.delta");
        itemRef(out).append(",\"content_index\":0,\"delta\":");
        Json.appendString(out, text);
      }
      case CALL -> {
        openCall(out, answer, answer.callIndex(i));
        return out;
      }
      case ARGUMENTS -> {
        itemText.append(text);
        event(out, "response.function_call_arguments.delta");
        itemRef(out).append(",\"delta\":");
        Json.appendString(out, text);
      }
    }
    return out.append('}').append(eol).append(eol);
  }

  @Override
  public StringBuilder end(StringBuilder out, Answer answer, boolean terminated) {
    close(out, answer);
    if (!terminated) {
      return out; // the stream ends without its terminal event, as if cut just before it
    }
    boolean cut = "length".equals(answer.finishReason());
    event(out, cut ? "response.incomplete" : "response.completed").append(",\"response\":");
    return response(out, cut ? "incomplete" : "completed", output, answer.usage()).append('}').append(eol)
        .append(eol);
  }

  @Override
  public StringBuilder error(StringBuilder out, Fault.ErrorEventForm form) {
    if (form == Fault.ErrorEventForm.EVENT) {
      event(out, "error").append(",\"code\":\"server_error\",\"message\":")
          .append(Json.quote(OpenAiErrors.SERVER_ERROR_MESSAGE)).append(",\"param\":null");
    } else {
      event(out, "response.failed").append(",\"response\":");
      response(out, "failed", output, null);
    }
    return out.append('}').append(eol).append(eol);
  }

  @Override
  public StringBuilder keepalive(StringBuilder out) {
    return out.append(": keep-alive").append(eol).append(eol);
  }

  @Override
  public StringBuilder badJson(StringBuilder out) {
    return out.append("data: {not json").append(eol).append(eol);
  }

  /** The {@code Response} object of a request that does not stream: the same items a stream would end with. */
  @Override
  public String completion(Answer answer) {
    List<String> items = new ArrayList<>();
    String reasoning = answer.reasoning();
    if (reasoning != null) {
      items.add(reasoningItem(new StringBuilder(), "rs_sim" + idBase, reasoning).toString());
    }
    String content = answer.content();
    String refusal = answer.refusal();
    if (refusal != null) {
      items.add(messageItem(new StringBuilder(), "msg_sim" + idBase, "refusal", refusal).toString());
    } else if (content != null) {
      items.add(messageItem(new StringBuilder(), "msg_sim" + idBase, "output_text", content).toString());
    }
    List<Answer.Call> calls = answer.sentCalls();
    for (int c = 0; c < calls.size(); c++) {
      items.add(callItem(new StringBuilder(), callId(c), calls.get(c), calls.get(c).arguments(), "completed")
          .toString());
    }
    boolean cut = "length".equals(answer.finishReason());
    return response(new StringBuilder(512), cut ? "incomplete" : "completed", items, answer.usage()).toString();
  }

  // ------------------------------------------------------------------ items

  private void ensure(StringBuilder out, Answer answer, Item kind) {
    if (open == kind) {
      return;
    }
    close(out, answer);
    open = kind;
    outputIndex++;
    itemText = new StringBuilder();
    switch (kind) {
      case REASONING -> {
        itemId = "rs_sim" + idBase + "_" + outputIndex;
        added(out).append("{\"id\":\"").append(itemId).append("\",\"type\":\"reasoning\",\"summary\":[]}")
            .append('}').append(eol).append(eol);
        event(out, "response.reasoning_summary_part.added");
        itemRef(out).append(",\"summary_index\":0,\"part\":{\"type\":\"summary_text\",\"text\":\"\"}}")
            .append(eol).append(eol);
      }
      case TEXT, REFUSAL -> {
        itemId = "msg_sim" + idBase + "_" + outputIndex;
        added(out).append("{\"id\":\"").append(itemId).append("\",\"type\":\"message\",\"status\":\"in_progress\","
            + "\"content\":[],\"role\":\"assistant\"}}").append(eol).append(eol);
        event(out, "response.content_part.added");
        itemRef(out).append(",\"content_index\":0,\"part\":")
            .append(kind == Item.TEXT ? "{\"type\":\"output_text\",\"annotations\":[],\"text\":\"\"}"
                : "{\"type\":\"refusal\",\"refusal\":\"\"}")
            .append('}').append(eol).append(eol);
      }
      default -> throw new IllegalStateException("calls open with openCall");
    }
  }

  private void openCall(StringBuilder out, Answer answer, int c) {
    close(out, answer);
    open = Item.CALL;
    openCall = c;
    outputIndex++;
    itemId = callId(c);
    itemText = new StringBuilder();
    added(out);
    callItem(out, itemId, answer.calls().get(c), "", "in_progress").append('}').append(eol).append(eol);
  }

  /** The done events of the open item, which then goes to the output. */
  private void close(StringBuilder out, Answer answer) {
    String text = itemText == null ? "" : itemText.toString();
    StringBuilder item = new StringBuilder(64 + text.length());
    switch (open) {
      case NONE -> {
        return;
      }
      case REASONING -> {
        event(out, "response.reasoning_summary_text.done");
        itemRef(out).append(",\"summary_index\":0,\"text\":");
        Json.appendString(out, text).append('}').append(eol).append(eol);
        event(out, "response.reasoning_summary_part.done");
        itemRef(out).append(",\"summary_index\":0,\"part\":{\"type\":\"summary_text\",\"text\":");
        Json.appendString(out, text).append("}}").append(eol).append(eol);
        reasoningItem(item, itemId, text);
      }
      case TEXT, REFUSAL -> {
        String field = open == Item.TEXT ? "text" : "refusal";
        event(out, open == Item.TEXT ? "response.output_text.done" : "response.refusal.done");
        itemRef(out).append(",\"content_index\":0,\"").append(field).append("\":");
        Json.appendString(out, text).append('}').append(eol).append(eol);
        event(out, "response.content_part.done");
        itemRef(out).append(",\"content_index\":0,\"part\":");
        part(out, open == Item.TEXT ? "output_text" : "refusal", text).append('}').append(eol).append(eol);
        messageItem(item, itemId, open == Item.TEXT ? "output_text" : "refusal", text);
      }
      case CALL -> {
        event(out, "response.function_call_arguments.done");
        itemRef(out).append(",\"arguments\":");
        Json.appendString(out, text).append('}').append(eol).append(eol);
        callItem(item, itemId, answer.calls().get(openCall), text, "completed");
      }
    }
    event(out, "response.output_item.done").append(",\"output_index\":").append(outputIndex).append(",\"item\":")
        .append(item).append('}').append(eol).append(eol);
    output.add(item.toString());
    open = Item.NONE;
    itemText = null;
  }

  private static StringBuilder reasoningItem(StringBuilder out, String itemId, String text) {
    out.append("{\"id\":\"").append(itemId).append("\",\"type\":\"reasoning\",\"summary\":[{\"type\":"
        + "\"summary_text\",\"text\":");
    return Json.appendString(out, text).append("}]}");
  }

  private static StringBuilder messageItem(StringBuilder out, String itemId, String partType, String text) {
    out.append("{\"id\":\"").append(itemId).append("\",\"type\":\"message\",\"status\":\"completed\",\"content\":[");
    return part(out, partType, text).append("],\"role\":\"assistant\"}");
  }

  private static StringBuilder part(StringBuilder out, String type, String text) {
    if ("refusal".equals(type)) {
      out.append("{\"type\":\"refusal\",\"refusal\":");
      return Json.appendString(out, text).append('}');
    }
    out.append("{\"type\":\"output_text\",\"annotations\":[],\"logprobs\":[],\"text\":");
    return Json.appendString(out, text).append('}');
  }

  private static StringBuilder callItem(StringBuilder out, String itemId, Answer.Call call, String arguments,
      String status) {
    out.append("{\"id\":\"").append(itemId).append("\",\"type\":\"function_call\",\"status\":\"").append(status)
        .append("\",\"arguments\":");
    Json.appendString(out, arguments).append(",\"call_id\":");
    Json.appendString(out, call.id() == null ? "call_sim_" + itemId : call.id()).append(",\"name\":");
    return Json.appendString(out, call.name()).append('}');
  }

  private String callId(int c) {
    return "fc_sim" + idBase + "_" + c;
  }

  // ------------------------------------------------------------------ framing

  /** {@code event: TYPE}, then {@code data: {"type":TYPE,"sequence_number":n}, left open for the fields. */
  private StringBuilder event(StringBuilder out, String type) {
    return out.append("event: ").append(type).append(eol).append("data: {\"type\":\"").append(type)
        .append("\",\"sequence_number\":").append(sequence++);
  }

  private StringBuilder added(StringBuilder out) {
    return event(out, "response.output_item.added").append(",\"output_index\":").append(outputIndex)
        .append(",\"item\":");
  }

  private StringBuilder itemRef(StringBuilder out) {
    return out.append(",\"item_id\":\"").append(itemId).append("\",\"output_index\":").append(outputIndex);
  }

  /** The {@code Response} object with the given status, output items (none when null) and usage. */
  private StringBuilder response(StringBuilder out, String status, List<String> items, Usage usage) {
    out.append("{\"id\":\"").append(id).append("\",\"object\":\"response\",\"created_at\":").append(created)
        .append(",\"status\":\"").append(status).append("\",\"error\":");
    out.append("failed".equals(status) ? "{\"code\":\"server_error\",\"message\":"
        + Json.quote(OpenAiErrors.SERVER_ERROR_MESSAGE) + "}" : "null");
    out.append(",\"incomplete_details\":")
        .append("incomplete".equals(status) ? "{\"reason\":\"max_output_tokens\"}" : "null")
        .append(",\"model\":");
    Json.appendString(out, model).append(",\"output\":[");
    if (items != null) {
      out.append(String.join(",", items));
    }
    out.append("],\"store\":false,\"usage\":");
    if (usage == null) {
      return out.append("null}");
    }
    return out.append("{\"input_tokens\":").append(usage.promptTokens())
        .append(",\"input_tokens_details\":{\"cached_tokens\":").append(usage.cachedTokens())
        .append("},\"output_tokens\":").append(usage.completionTokens())
        .append(",\"output_tokens_details\":{\"reasoning_tokens\":").append(usage.reasoningTokens())
        .append("},\"total_tokens\":").append(usage.totalTokens()).append("}}");
  }
}
