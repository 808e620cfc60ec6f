package io.promptfleet.worker.stream;

import io.promptfleet.worker.upstream.ChunkEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.promptfleet.common.job.AssistantMessage;
import io.promptfleet.common.job.FunctionCall;
import io.promptfleet.common.job.ToolCall;
import io.promptfleet.common.job.ToolCallAssembler;
import io.promptfleet.common.job.ToolCallDelta;
import io.promptfleet.common.job.Usage;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Assembles the answer of one attempt from its events: what they say about the whole answer ({@link #meta}) and the
 * assistant message from its deltas, by the rule the official OpenAI SDKs use for
 * streamed chat completions: text fields concatenated; tool calls merged by {@code index} ({@link ToolCallAssembler}:
 * id, type and name from the first fragments that carry them, {@code arguments} concatenated byte for byte); a
 * legacy {@code function_call} the same;
 * any other delta field merged generically (strings concatenated, objects field by field, arrays appended, elements
 * with an {@code index} merged into the element of the same index, {@code index}/{@code type}/{@code id} replaced).
 * Logprobs entries are kept up to a byte bound; beyond it they are counted as truncated, never silently cut.
 *
 * <p>Not thread-safe: one per attempt, driven on its event loop.
 */
final class MessageAssembler {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private String model;
  private String completionId;
  private String systemFingerprint;
  private String serviceTier;
  private Usage usage;
  private String finishReason;
  private final StringBuilder content = new StringBuilder();
  private boolean sawContent;
  private StringBuilder reasoning;
  private StringBuilder refusal;
  private final ToolCallAssembler calls = new ToolCallAssembler();
  private ToolCallAssembler functionCall;
  private ObjectNode extra;
  private final long maxLogprobsBytes;
  private long logprobsBytes;
  private ArrayNode logprobsContent;
  private ArrayNode logprobsRefusal;
  private boolean logprobsTruncated;

  /** @param maxLogprobsBytes the largest JSON size of the logprobs entries kept for the result */
  MessageAssembler(long maxLogprobsBytes) {
    this.maxLogprobsBytes = maxLogprobsBytes;
  }

  /**
   * What an event says about the whole answer: the model and completion id (the first non-empty: a relay may
   * rename the model on its last chunk), fingerprint and service tier, usage and finish reason (the last sent).
   */
  void meta(ChunkEvent e) {
    if (e.model() != null && model == null) {
      model = e.model();
    }
    if (e.id() != null && completionId == null) {
      completionId = e.id();
    }
    if (e.systemFingerprint() != null) {
      systemFingerprint = e.systemFingerprint();
    }
    if (e.serviceTier() != null) {
      serviceTier = e.serviceTier();
    }
    if (e.usage() != null) {
      usage = e.usage();
    }
    if (e.finishReason() != null) {
      finishReason = e.finishReason();
    }
  }

  String model() {
    return model;
  }

  String completionId() {
    return completionId;
  }

  String systemFingerprint() {
    return systemFingerprint;
  }

  String serviceTier() {
    return serviceTier;
  }

  Usage usage() {
    return usage;
  }

  String finishReason() {
    return finishReason;
  }

  /** Adds every delta kind and the logprobs one provider event carries. */
  void add(ChunkEvent e) {
    if (e.logprobs() != null) {
      logprobs(e.logprobs());
    }
    if (e.reasoning() != null) {
      reasoning(e.reasoning());
    }
    if (e.refusal() != null) {
      refusal(e.refusal());
    }
    if (e.content() != null) {
      content(e.content());
    }
    if (e.toolCalls() != null) {
      toolCalls(e.toolCalls());
    }
    if (e.functionCall() != null) {
      functionCall(e.functionCall());
    }
    if (e.extra() != null) {
      extra(e.extra());
    }
  }

  void content(String text) {
    sawContent = true;
    content.append(text);
  }

  void reasoning(String text) {
    (reasoning == null ? reasoning = new StringBuilder() : reasoning).append(text);
  }

  void refusal(String text) {
    (refusal == null ? refusal = new StringBuilder() : refusal).append(text);
  }

  void toolCalls(List<ToolCallDelta> fragments) {
    fragments.forEach(calls::add);
  }

  void functionCall(FunctionCall fragment) {
    (functionCall == null ? functionCall = new ToolCallAssembler() : functionCall)
        .add(new ToolCallDelta(0, null, null, fragment));
  }

  void extra(ObjectNode fields) {
    if (extra == null) {
      extra = NODES.objectNode();
    }
    merge(extra, fields);
  }

  /** Keeps the {@code content} and {@code refusal} entries of a choice's logprobs, up to the byte bound. */
  void logprobs(JsonNode logprobs) {
    logprobsContent = keep(logprobsContent, logprobs.get("content"));
    logprobsRefusal = keep(logprobsRefusal, logprobs.get("refusal"));
  }

  private ArrayNode keep(ArrayNode into, JsonNode entries) {
    if (entries == null || !entries.isArray()) {
      return into;
    }
    ArrayNode out = into == null ? NODES.arrayNode() : into;
    for (JsonNode entry : entries) {
      long size = entry.toString().length();
      if (logprobsTruncated || logprobsBytes + size > maxLogprobsBytes) {
        logprobsTruncated = true;
        continue;
      }
      logprobsBytes += size;
      out.add(entry);
    }
    return out;
  }

  /** The text answer so far ("" when none). */
  String text() {
    return content.toString();
  }

  /** Whether the answer holds anything: text, reasoning, refusal, tool or function calls, or other fields. */
  boolean isEmpty() {
    return content.length() == 0 && reasoning == null && refusal == null && calls.isEmpty() && functionCall == null
        && extra == null;
  }

  /** Whether the answer is a refusal (the model sent refusal text). */
  boolean refused() {
    return refusal != null;
  }

  /** Whether the model called a tool or a function. */
  boolean calledTools() {
    return !calls.isEmpty() || functionCall != null;
  }

  AssistantMessage message() {
    List<ToolCall> toolCalls = calls.calls();
    boolean other = refusal != null || !calls.isEmpty() || functionCall != null;
    Map<String, JsonNode> fields = new LinkedHashMap<>();
    if (extra != null) {
      extra.fields().forEachRemaining(e -> fields.put(e.getKey(), e.getValue()));
    }
    return new AssistantMessage("assistant", sawContent || !other ? content.toString() : null,
        refusal == null ? null : refusal.toString(), reasoning == null ? null : reasoning.toString(), toolCalls,
        functionCall == null ? null : functionCall.calls().get(0).function(), fields);
  }

  /** {@code {"content": [...], "refusal": [...]}}, or null when no event carried logprobs. */
  JsonNode logprobs() {
    if (logprobsContent == null && logprobsRefusal == null) {
      return null;
    }
    ObjectNode o = NODES.objectNode();
    o.set("content", logprobsContent == null ? NODES.nullNode() : logprobsContent);
    o.set("refusal", logprobsRefusal == null ? NODES.nullNode() : logprobsRefusal);
    return o;
  }

  boolean logprobsTruncated() {
    return logprobsTruncated;
  }

  /** The OpenAI SDKs' generic delta merge. */
  static void merge(ObjectNode into, JsonNode delta) {
    Iterator<Map.Entry<String, JsonNode>> it = delta.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      String k = e.getKey();
      JsonNode v = e.getValue();
      JsonNode have = into.get(k);
      if (v.isNull()) {
        continue;
      }
      if (have == null || have.isNull() || "index".equals(k) || "type".equals(k) || "id".equals(k)) {
        into.set(k, v.deepCopy());
      } else if (have.isTextual() && v.isTextual()) {
        into.set(k, TextNode.valueOf(have.textValue() + v.textValue()));
      } else if (have.isObject() && v.isObject()) {
        merge((ObjectNode) have, v);
      } else if (have.isArray() && v.isArray()) {
        ArrayNode list = (ArrayNode) have;
        for (JsonNode item : v) {
          JsonNode index = item.isObject() ? item.get("index") : null;
          ObjectNode same = null;
          if (index != null && index.canConvertToInt()) {
            for (JsonNode h : list) {
              if (h.isObject() && h.path("index").canConvertToInt() && h.path("index").intValue() == index.intValue()) {
                same = (ObjectNode) h;
              }
            }
          }
          if (same != null) {
            merge(same, item);
          } else {
            list.add(item.deepCopy());
          }
        }
      } else {
        into.set(k, v.deepCopy());
      }
    }
  }
}
