package io.promptfleet.simulator.internal;

import io.promptfleet.simulator.Fault;

/**
 * Writes the JSON and SSE text of one response, in the shape OpenAI uses: {@code chat.completion.chunk}
 * events framed as {@code data: JSON} plus a blank line, and the non-stream {@code chat.completion} object.
 *
 * <p>Not thread-safe; owned by one response on its event loop. Built by hand with a fixed prefix per
 * response because encoding a JSON tree per token would dominate a benchmark's CPU.
 */
final class ChunkEncoder {

  private static final String SYSTEM_FINGERPRINT = "fp_sim";

  private final String id;
  private final long created;
  private final String model;
  private final String chunkPrefix;
  private final String usageSuffix;
  private final String eol;

  /**
   * @param includeUsage when true every chunk carries {@code "usage":null} and a usage chunk is written
   * @param eol          line end, {@code "\n"} or {@code "\r\n"}
   */
  ChunkEncoder(String id, long created, String model, boolean includeUsage, String eol) {
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

  /** The finish chunk: empty delta and a finish reason. */
  StringBuilder finish(StringBuilder out, String finishReason) {
    data(out).append(chunkPrefix).append("{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":");
    Json.appendString(out, finishReason);
    return out.append("}]").append(usageSuffix).append(eol).append(eol);
  }

  /** The usage chunk of {@code stream_options.include_usage}: {@code "choices":[]} and the usage object. */
  StringBuilder usage(StringBuilder out, Completion completion) {
    data(out).append(chunkPrefix).append("],");
    appendUsage(out, completion);
    return out.append('}').append(eol).append(eol);
  }

  /** {@code data: [DONE]}. */
  StringBuilder done(StringBuilder out) {
    return data(out).append("[DONE]").append(eol).append(eol);
  }

  /** An SSE comment, {@code : keep-alive}. */
  StringBuilder keepalive(StringBuilder out) {
    return out.append(": keep-alive").append(eol).append(eol);
  }

  /** A malformed event, {@code data: {not json}. */
  StringBuilder badJson(StringBuilder out) {
    return data(out).append("{not json").append(eol).append(eol);
  }

  /** A mid-stream error event as OpenAI sends it, optionally preceded by {@code event: error}. */
  StringBuilder error(StringBuilder out, Fault.ErrorEventForm form) {
    if (form == Fault.ErrorEventForm.EVENT) {
      out.append("event: error").append(eol);
    }
    return data(out).append("{\"error\":{\"message\":")
        .append(Json.quote(OpenAiErrors.SERVER_ERROR_MESSAGE))
        .append(",\"type\":\"server_error\"}}").append(eol).append(eol);
  }

  /** The non-stream {@code chat.completion} object. */
  String completion(Completion completion) {
    StringBuilder sb = new StringBuilder(256).append("{\"id\":");
    Json.appendString(sb, id).append(",\"object\":\"chat.completion\",\"created\":").append(created)
        .append(",\"model\":");
    Json.appendString(sb, model)
        .append(",\"system_fingerprint\":\"").append(SYSTEM_FINGERPRINT).append("\",\"choices\":[{\"index\":0,")
        .append("\"message\":{\"role\":\"assistant\",\"content\":");
    Json.appendString(sb, completion.content()).append(",\"refusal\":null},\"logprobs\":null,\"finish_reason\":");
    Json.appendString(sb, completion.finishReason()).append("}],");
    appendUsage(sb, completion);
    return sb.append('}').toString();
  }

  private static void appendUsage(StringBuilder out, Completion completion) {
    out.append("\"usage\":{\"prompt_tokens\":").append(completion.promptTokens())
        .append(",\"completion_tokens\":").append(completion.completionTokens())
        .append(",\"total_tokens\":").append(completion.totalTokens()).append('}');
  }

  private static StringBuilder data(StringBuilder out) {
    return out.append("data: ");
  }
}
