package io.promptfleet.simulator.internal;

import io.promptfleet.simulator.Fault;
import java.util.List;

/**
 * Writes the JSON and SSE text of one response, in the shape OpenAI uses: {@code chat.completion.chunk}
 * events framed as {@code data: JSON} plus a blank line, and the non-stream {@code chat.completion} object.
 * Every step of an {@link Answer} has its delta: {@code content}, {@code reasoning_content} (or
 * {@code reasoning}), {@code refusal}, {@code tool_calls} headers and arguments fragments, and the legacy
 * {@code function_call}; with {@code logprobs} requested, content and refusal chunks carry theirs.
 *
 * <p>Not thread-safe; owned by one response on its event loop. Built by hand with a fixed prefix per
 * response because encoding a JSON tree per token would dominate a benchmark's CPU.
 */
final class ChunkEncoder implements AnswerEncoder {

  private static final String SYSTEM_FINGERPRINT = "fp_sim";

  private final String id;
  private final long created;
  private final String model;
  private final String chunkPrefix;
  private final String usageSuffix;
  private final String eol;
  private final int topLogprobs;
  private final String endSuffix;
  private final boolean includeUsage;

  /**
   * @param includeUsage when true every chunk carries {@code "usage":null} and a usage chunk is written
   * @param eol          line end, {@code "\n"} or {@code "\r\n"}
   * @param topLogprobs  -1 without {@code logprobs}; else the {@code top_logprobs} count (0..20)
   */
  ChunkEncoder(String id, long created, String model, boolean includeUsage, String eol, int topLogprobs) {
    this.id = id;
    this.created = created;
    this.model = model;
    StringBuilder sb = new StringBuilder(128).append("{\"id\":");
    Json.appendString(sb, id).append(",\"object\":\"chat.completion.chunk\",\"created\":").append(created)
        .append(",\"model\":");
    Json.appendString(sb, model).append(",\"system_fingerprint\":\"").append(SYSTEM_FINGERPRINT)
        .append("\",\"choices\":[");
    this.chunkPrefix = sb.toString();
    this.usageSuffix = includeUsage ? ",\"usage\":null}" : "}";
    this.eol = eol;
    this.includeUsage = includeUsage;
    this.topLogprobs = topLogprobs;
    this.endSuffix = ",\"finish_reason\":null}]" + usageSuffix + eol + eol;
  }

  /** The role chunk of {@code answer}: {@code role} and what its {@link Answer.Opening} adds. */
  @Override
  public StringBuilder opening(StringBuilder out, Answer answer) {
    return switch (answer.opening()) {
      case TEXT -> role(out);
      case REFUSAL -> begin(out).append("{\"role\":\"assistant\",\"content\":null,\"refusal\":\"\"}")
          .append(",\"logprobs\":null").append(end());
      case CALL -> {
        begin(out).append("{\"role\":\"assistant\",\"content\":null,");
        header(out, answer, 0).append("},\"logprobs\":null");
        yield out.append(end());
      }
    };
  }

  /** Answer chunk {@code i} of {@code answer}. */
  @Override
  public StringBuilder step(StringBuilder out, Answer answer, int i) {
    if (answer.allContent()) {
      return topLogprobs < 0 ? content(out, answer.text(i)) : contentWithLogprobs(out, answer.text(i), i);
    }
    String text = answer.text(i);
    switch (answer.step(i)) {
      case CONTENT -> {
        return topLogprobs < 0 ? content(out, text) : contentWithLogprobs(out, text, i);
      }
      case REASONING -> {
        begin(out).append("{\"").append(answer.reasoningField()).append("\":");
        Json.appendString(out, text).append("},\"logprobs\":null");
      }
      case REFUSAL -> {
        begin(out).append("{\"refusal\":");
        Json.appendString(out, text).append("},\"logprobs\":");
        if (topLogprobs < 0) {
          out.append("null");
        } else {
          Logprobs.appendChunk(out, text, i, topLogprobs, true);
        }
      }
      case CALL -> header(begin(out).append('{'), answer, answer.callIndex(i)).append("},\"logprobs\":null");
      case ARGUMENTS -> {
        begin(out).append(answer.legacyFunctionCall() ? "{\"function_call\":{\"arguments\":"
            : "{\"tool_calls\":[{\"index\":" + answer.callIndex(i) + ",\"function\":{\"arguments\":");
        Json.appendString(out, text).append(answer.legacyFunctionCall() ? "}}" : "}}]}")
            .append(",\"logprobs\":null");
      }
    }
    return out.append(end());
  }

  /** The first chunk: {@code delta: {"role":"assistant","content":""}}. */
  StringBuilder role(StringBuilder out) {
    return data(out).append(chunkPrefix)
        .append("{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,"
            + "\"finish_reason\":null}]")
        .append(usageSuffix).append(eol).append(eol);
  }

  /** One token: {@code delta: {"content":text}}. */
  StringBuilder content(StringBuilder out, String text) {
    data(out).append(chunkPrefix).append("{\"index\":0,\"delta\":{\"content\":");
    Json.appendString(out, text);
    return out.append("},\"logprobs\":null,\"finish_reason\":null}]").append(usageSuffix).append(eol).append(eol);
  }

  /** One token with its log probabilities: {@code "logprobs":{"content":[...],"refusal":null}}. */
  private StringBuilder contentWithLogprobs(StringBuilder out, String text, int position) {
    begin(out).append("{\"content\":");
    Json.appendString(out, text).append("},\"logprobs\":");
    Logprobs.appendChunk(out, text, position, topLogprobs, false);
    return out.append(end());
  }

  /** The finish chunk, the usage chunk when {@code stream_options.include_usage} asked, then {@code [DONE]}. */
  @Override
  public StringBuilder end(StringBuilder out, Answer answer, boolean terminated) {
    finish(out, answer.finishReason());
    if (includeUsage) {
      usage(out, answer.usage());
    }
    return terminated ? done(out) : out;
  }

  /** The finish chunk: empty delta and a finish reason. */
  StringBuilder finish(StringBuilder out, String finishReason) {
    data(out).append(chunkPrefix).append("{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":");
    Json.appendString(out, finishReason);
    return out.append("}]").append(usageSuffix).append(eol).append(eol);
  }

  /** The usage chunk of {@code stream_options.include_usage}: {@code "choices":[]} and the usage object. */
  StringBuilder usage(StringBuilder out, Usage usage) {
    data(out).append(chunkPrefix).append("],");
    appendUsage(out, usage);
    return out.append('}').append(eol).append(eol);
  }

  /** {@code data: [DONE]}. */
  StringBuilder done(StringBuilder out) {
    return data(out).append("[DONE]").append(eol).append(eol);
  }

  /** An SSE comment, {@code : keep-alive}. */
  @Override
  public StringBuilder keepalive(StringBuilder out) {
    return out.append(": keep-alive").append(eol).append(eol);
  }

  /** A malformed event, {@code data: {not json}. */
  @Override
  public StringBuilder badJson(StringBuilder out) {
    return data(out).append("{not json").append(eol).append(eol);
  }

  /** A mid-stream error event as OpenAI sends it, optionally preceded by {@code event: error}. */
  @Override
  public StringBuilder error(StringBuilder out, Fault.ErrorEventForm form) {
    if (form == Fault.ErrorEventForm.EVENT) {
      out.append("event: error").append(eol);
    }
    return data(out).append("{\"error\":{\"message\":")
        .append(Json.quote(OpenAiErrors.SERVER_ERROR_MESSAGE))
        .append(",\"type\":\"server_error\"}}").append(eol).append(eol);
  }

  /**
   * The non-stream {@code chat.completion} object: {@code message} holds what the stream's steps say
   * ({@code content}, the reasoning field, {@code tool_calls} or {@code function_call}, {@code refusal}),
   * {@code logprobs} the entries of every content (or refusal) token.
   */
  @Override
  public String completion(Answer answer) {
    StringBuilder sb = new StringBuilder(256).append("{\"id\":");
    Json.appendString(sb, id).append(",\"object\":\"chat.completion\",\"created\":").append(created)
        .append(",\"model\":");
    Json.appendString(sb, model)
        .append(",\"system_fingerprint\":\"").append(SYSTEM_FINGERPRINT).append("\",\"choices\":[{\"index\":0,")
        .append("\"message\":{\"role\":\"assistant\",\"content\":");
    appendNullable(sb, answer.content());
    String reasoning = answer.reasoning();
    if (reasoning != null) {
      sb.append(",\"").append(answer.reasoningField()).append("\":");
      Json.appendString(sb, reasoning);
    }
    List<Answer.Call> calls = answer.sentCalls();
    if (answer.legacyFunctionCall() && !calls.isEmpty()) {
      sb.append(",\"function_call\":");
      appendFunction(sb, calls.get(0).name(), calls.get(0).arguments());
    } else if (!calls.isEmpty()) {
      sb.append(",\"tool_calls\":[");
      for (int c = 0; c < calls.size(); c++) {
        sb.append(c == 0 ? "{\"id\":" : ",{\"id\":");
        Json.appendString(sb, calls.get(c).id()).append(",\"type\":\"function\",\"function\":");
        appendFunction(sb, calls.get(c).name(), calls.get(c).arguments()).append('}');
      }
      sb.append(']');
    }
    sb.append(",\"refusal\":");
    appendNullable(sb, answer.refusal()).append("},\"logprobs\":");
    if (topLogprobs < 0) {
      sb.append("null");
    } else {
      sb.append("{\"content\":");
      appendLogprobsList(sb, answer, Answer.Step.CONTENT, answer.content() != null);
      sb.append(",\"refusal\":");
      appendLogprobsList(sb, answer, Answer.Step.REFUSAL, answer.refusal() != null);
      sb.append('}');
    }
    sb.append(",\"finish_reason\":");
    Json.appendString(sb, answer.finishReason()).append("}],");
    appendUsage(sb, answer.usage());
    return sb.append('}').toString();
  }

  /**
   * {@code "usage"} with OpenAI's detail objects: {@code prompt_tokens_details} (cached, audio) and
   * {@code completion_tokens_details} (reasoning, audio, accepted and rejected prediction tokens).
   */
  private static void appendUsage(StringBuilder out, Usage usage) {
    out.append("\"usage\":{\"prompt_tokens\":").append(usage.promptTokens())
        .append(",\"completion_tokens\":").append(usage.completionTokens())
        .append(",\"total_tokens\":").append(usage.totalTokens())
        .append(",\"prompt_tokens_details\":{\"cached_tokens\":").append(usage.cachedTokens())
        .append(",\"audio_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":")
        .append(usage.reasoningTokens())
        .append(",\"audio_tokens\":0,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}");
  }

  /** The header of call {@code c}: {@code "tool_calls":[{index, id, type, function{name, arguments ""}}]}. */
  private static StringBuilder header(StringBuilder out, Answer answer, int c) {
    Answer.Call call = answer.calls().get(c);
    if (answer.legacyFunctionCall()) {
      out.append("\"function_call\":{\"name\":");
      return Json.appendString(out, call.name()).append(",\"arguments\":\"\"}");
    }
    out.append("\"tool_calls\":[{\"index\":").append(c).append(",\"id\":");
    Json.appendString(out, call.id()).append(",\"type\":\"function\",\"function\":{\"name\":");
    return Json.appendString(out, call.name()).append(",\"arguments\":\"\"}}]");
  }

  private static StringBuilder appendFunction(StringBuilder out, String name, String arguments) {
    out.append("{\"name\":");
    Json.appendString(out, name).append(",\"arguments\":");
    return Json.appendString(out, arguments).append('}');
  }

  private void appendLogprobsList(StringBuilder out, Answer answer, Answer.Step kind, boolean present) {
    if (!present) {
      out.append("null");
      return;
    }
    out.append('[');
    boolean first = true;
    for (int i = 0; i < answer.size(); i++) {
      if (answer.step(i) == kind) {
        Logprobs.appendEntry(first ? out : out.append(','), answer.text(i), i, topLogprobs);
        first = false;
      }
    }
    out.append(']');
  }

  private static StringBuilder appendNullable(StringBuilder out, String value) {
    return value == null ? out.append("null") : Json.appendString(out, value);
  }

  /** Opens a one-choice chunk: {@code data: }, the envelope, then the choice up to {@code "delta":}. */
  private StringBuilder begin(StringBuilder out) {
    return data(out).append(chunkPrefix).append("{\"index\":0,\"delta\":");
  }

  /** Closes a one-choice chunk after its logprobs. */
  private String end() {
    return endSuffix;
  }

  private static StringBuilder data(StringBuilder out) {
    return out.append("data: ");
  }
}
