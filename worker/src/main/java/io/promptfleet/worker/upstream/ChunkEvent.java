package io.promptfleet.worker.upstream;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.FunctionCall;
import io.promptfleet.common.job.ToolCallDelta;
import io.promptfleet.common.job.Usage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * What the worker keeps of one OpenAI {@code chat.completion.chunk} event, read with a streaming parser: a plain
 * text delta builds no tree (this runs once per token of every stream); the rarer kinds (tool calls, logprobs, usage
 * details, unknown delta fields) are read as trees.
 *
 * <p>Kept: {@code id}, {@code model}, {@code system_fingerprint}, {@code service_tier}, {@code usage} (with its
 * details; DeepSeek's {@code prompt_cache_hit_tokens} becomes {@code cached_tokens}, SGLang's top-level {@code
 * reasoning_tokens} becomes {@code completion_tokens_details.reasoning_tokens}), {@code error}, and of the first
 * choice its {@code finish_reason}, {@code logprobs} and every non-null delta field: {@code content}, {@code
 * reasoning_content} or {@code reasoning} (as reasoning), {@code refusal}, {@code tool_calls}, {@code function_call},
 * and anything else in {@link #extra}. Skipped: {@code object}, {@code created}, {@code obfuscation}, the delta's
 * {@code role}, choices after the first (a job asks for one), and per-choice provider annotations such as Azure's
 * {@code content_filter_results}. Not thread-safe; immutable once parsed.
 */
public final class ChunkEvent {
  private static final JsonFactory FACTORY = Json.mapper().getFactory();

  boolean hasError;
  String id;
  String model;
  String systemFingerprint;
  String serviceTier;
  String content;
  String reasoning;
  String refusal;
  List<ToolCallDelta> toolCalls;
  FunctionCall functionCall;
  ObjectNode extra;
  JsonNode logprobs;
  String finishReason;
  Usage usage;

  /** An empty event; a protocol's decoder fills in what its provider's event says. */
  ChunkEvent() {}

  /** Whether the event reports an error ({@code "error"} not null). */
  public boolean hasError() {
    return hasError;
  }

  public String id() {
    return id;
  }

  public String model() {
    return model;
  }

  public String systemFingerprint() {
    return systemFingerprint;
  }

  public String serviceTier() {
    return serviceTier;
  }

  public String content() {
    return content;
  }

  public String reasoning() {
    return reasoning;
  }

  public String refusal() {
    return refusal;
  }

  public List<ToolCallDelta> toolCalls() {
    return toolCalls;
  }

  public FunctionCall functionCall() {
    return functionCall;
  }

  public ObjectNode extra() {
    return extra;
  }

  public JsonNode logprobs() {
    return logprobs;
  }

  public String finishReason() {
    return finishReason;
  }

  public Usage usage() {
    return usage;
  }

  /** Whether this event carries a delta of any kind (an empty string counts as none). */
  public boolean hasDelta() {
    return (content != null && !content.isEmpty()) || hasOtherDelta();
  }

  /** Whether this event carries a delta other than text content. */
  public boolean hasOtherDelta() {
    return (reasoning != null && !reasoning.isEmpty()) || (refusal != null && !refusal.isEmpty())
        || toolCalls != null || functionCall != null || extra != null;
  }

  /** @throws IOException when {@code data} is not JSON, or not a JSON object */
  public static ChunkEvent parse(String data) throws IOException {
    try (JsonParser p = FACTORY.createParser(data)) {
      return parse(p);
    }
  }

  /**
   * The same from well-formed UTF-8 that starts with {@code '{'} ({@link EventJson#startsAnObject}): read by
   * Jackson's byte parser, with no {@code String} of the whole event (this runs once per token).
   *
   * @throws IOException when the bytes are not JSON, or not a JSON object
   */
  static ChunkEvent parse(byte[] utf8, int offset, int length) throws IOException {
    try (JsonParser p = FACTORY.createParser(utf8, offset, length)) {
      return parse(p);
    }
  }

  private static ChunkEvent parse(JsonParser p) throws IOException {
    ChunkEvent e = new ChunkEvent();
    if (p.nextToken() != JsonToken.START_OBJECT) {
      throw new IOException("not a JSON object");
    }
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken t = p.nextToken();
      switch (field) {
        case "error" -> {
          e.hasError = t != JsonToken.VALUE_NULL;
          p.skipChildren();
        }
        case "id" -> e.id = t == JsonToken.VALUE_STRING && p.getTextLength() > 0 ? p.getText() : e.id;
        case "model" -> e.model = t == JsonToken.VALUE_STRING && p.getTextLength() > 0 ? p.getText() : e.model;
        case "system_fingerprint" -> e.systemFingerprint = t == JsonToken.VALUE_STRING ? p.getText() : null;
        case "service_tier" -> e.serviceTier = t == JsonToken.VALUE_STRING ? p.getText() : null;
        case "usage" -> e.usage = t == JsonToken.START_OBJECT ? usage(p) : e.usage;
        case "choices" -> {
          if (t == JsonToken.START_ARRAY) {
            choices(p, e);
          } else {
            p.skipChildren();
          }
        }
        default -> p.skipChildren();
      }
    }
    if (p.currentToken() != JsonToken.END_OBJECT) {
      throw new IOException("truncated JSON object");
    }
    return e;
  }

  private static Usage usage(JsonParser p) throws IOException {
    long prompt = 0;
    long completion = 0;
    Long total = null;
    JsonNode promptDetails = null;
    JsonNode completionDetails = null;
    Long cacheHits = null;
    Long reasoningTokens = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String f = p.currentName();
      JsonToken t = p.nextToken();
      if (t == JsonToken.VALUE_NUMBER_INT) {
        switch (f) {
          case "prompt_tokens" -> prompt = p.getLongValue();
          case "completion_tokens" -> completion = p.getLongValue();
          case "total_tokens" -> total = p.getLongValue();
          case "prompt_cache_hit_tokens" -> cacheHits = p.getLongValue();
          case "reasoning_tokens" -> reasoningTokens = p.getLongValue();
          default -> { }
        }
      } else if (t == JsonToken.START_OBJECT && "prompt_tokens_details".equals(f)) {
        promptDetails = p.readValueAsTree();
      } else if (t == JsonToken.START_OBJECT && "completion_tokens_details".equals(f)) {
        completionDetails = p.readValueAsTree();
      } else {
        p.skipChildren();
      }
    }
    if (promptDetails == null && cacheHits != null) {
      promptDetails = JsonNodeFactory.instance.objectNode().put("cached_tokens", cacheHits);
    }
    if (completionDetails == null && reasoningTokens != null) {
      completionDetails = JsonNodeFactory.instance.objectNode().put("reasoning_tokens", reasoningTokens);
    }
    return new Usage(prompt, completion, total == null ? prompt + completion : total, promptDetails,
        completionDetails);
  }

  /** The first choice's delta, logprobs and finish reason; other choices are skipped. */
  private static void choices(JsonParser p, ChunkEvent e) throws IOException {
    boolean first = true;
    for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
      if (first && t == JsonToken.START_OBJECT) {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String f = p.currentName();
          JsonToken v = p.nextToken();
          if ("finish_reason".equals(f) && v == JsonToken.VALUE_STRING) {
            e.finishReason = p.getText();
          } else if (("delta".equals(f) || "message".equals(f)) && v == JsonToken.START_OBJECT) {
            delta(p, e);
          } else if ("logprobs".equals(f) && v == JsonToken.START_OBJECT) {
            e.logprobs = p.readValueAsTree();
          } else {
            p.skipChildren();
          }
        }
      } else {
        p.skipChildren();
      }
      first = false;
    }
  }

  private static void delta(JsonParser p, ChunkEvent e) throws IOException {
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String f = p.currentName();
      JsonToken v = p.nextToken();
      if (v == JsonToken.VALUE_NULL) {
        continue;
      }
      if (v == JsonToken.VALUE_STRING) {
        switch (f) {
          case "content" -> {
            e.content = p.getText();
            continue;
          }
          case "reasoning_content", "reasoning" -> {
            e.reasoning = e.reasoning == null ? p.getText() : e.reasoning + p.getText();
            continue;
          }
          case "refusal" -> {
            e.refusal = p.getText();
            continue;
          }
          case "role" -> {
            continue;
          }
          default -> { }
        }
      }
      if ("tool_calls".equals(f) && v == JsonToken.START_ARRAY) {
        e.toolCalls = toolCalls(p.readValueAsTree());
      } else if ("function_call".equals(f) && v == JsonToken.START_OBJECT) {
        e.functionCall = function(p.readValueAsTree());
      } else {
        if (e.extra == null) {
          e.extra = JsonNodeFactory.instance.objectNode();
        }
        e.extra.set(f, p.readValueAsTree());
      }
    }
  }

  /** Tool-call fragments; a fragment without an index takes its position in the array. */
  static List<ToolCallDelta> toolCalls(JsonNode array) {
    List<ToolCallDelta> out = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      JsonNode c = array.get(i);
      JsonNode index = c.get("index");
      out.add(new ToolCallDelta(index != null && index.canConvertToInt() ? index.intValue() : i, text(c, "id"),
          text(c, "type"), c.has("function") ? function(c.get("function")) : null));
    }
    return out.isEmpty() ? null : out;
  }

  static FunctionCall function(JsonNode f) {
    if (f == null || !f.isObject()) {
      return null;
    }
    JsonNode args = f.get("arguments");
    // a provider that sends arguments as a JSON object (not a string) gets them written as JSON text
    String arguments = args == null || args.isNull() ? null : args.isTextual() ? args.textValue() : args.toString();
    return new FunctionCall(text(f, "name"), arguments);
  }

  private static String text(JsonNode o, String field) {
    JsonNode v = o.get(field);
    return v != null && v.isTextual() ? v.textValue() : null;
  }
}
