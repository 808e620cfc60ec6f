package io.promptfleet.common.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ChatMessage;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Route;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Translates a job (OpenAI chat format) into the body of an Anthropic Messages request, as the worker sends it live
 * and as the dispatcher's batcher puts it into a Message Batch (one request's {@code params}). Every job field is
 * either translated, accepted as meaning nothing upstream ({@code stream}, {@code stream_options}, {@code n: 1}, {@code
 * logprobs: false}, zero penalties, {@code parallel_tool_calls: true}), refused with an {@link
 * UnsupportedJobException} naming it (an OpenAI field Anthropic cannot express), or, when it is no OpenAI field at
 * all, passed through as an Anthropic field ({@code thinking}, {@code top_k}, {@code service_tier}, ...): Anthropic
 * then judges it. Nothing is dropped. Stateless and thread-safe; the mapping tables are in docs/DESIGN.md, "Upstream
 * protocols: Anthropic Messages".
 */
public final class AnthropicBodies {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  /** The {@code anthropic-version} header sent when the provider names no {@code api_version}. */
  public static final String DEFAULT_VERSION = "2023-06-01";
  /** The completion limit when neither the job nor the route sets one (Anthropic requires one). */
  public static final int FALLBACK_MAX_TOKENS = 1_024;
  /** OpenAI request fields with no Anthropic counterpart: a job that sets one (to a non-neutral value) is refused. */
  private static final Set<String> UNSUPPORTED = Set.of("logit_bias", "top_logprobs", "seed", "modalities", "audio",
      "prediction", "store", "web_search_options", "functions", "function_call", "reasoning_effort", "verbosity",
      "metadata", "prompt_cache_key", "safety_identifier", "response_format");
  /** Fields the translation writes itself; a job's own value of these goes through its translation, not as given. */
  private static final Set<String> TRANSLATED = Set.of("model", "messages", "max_tokens", "max_completion_tokens",
      "stop", "user", "tools", "tool_choice", "parallel_tool_calls", "temperature", "top_p", "stream",
      "stream_options", "n", "logprobs", "frequency_penalty", "presence_penalty");

  private AnthropicBodies() {}

  /**
   * The request body for {@code assignment}; see the class comment for what happens to each field. With {@code
   * stream} it adds {@code stream: true}; without, it sends none (a plain answer, or a batch request).
   *
   * @throws UnsupportedJobException naming the field the job sets that Anthropic cannot express
   */
  public static ObjectNode messages(Assignment assignment, boolean stream) {
    Job job = assignment.job();
    Route route = assignment.route();
    Map<String, JsonNode> params = job.params();
    refuseInexpressible(params);
    ObjectNode b = NODES.objectNode();
    b.put("model", route.model());
    messages(job, b);
    b.put("max_tokens", maxTokens(job, route));
    JsonNode stop = params.get("stop");
    if (stop != null && !stop.isNull()) {
      b.set("stop_sequences", stop.isArray() ? stop.deepCopy() : NODES.arrayNode().add(stop.asText()));
    }
    copy(params, "temperature", b);
    copy(params, "top_p", b);
    JsonNode user = params.get("user");
    if (user != null && !user.isNull()) {
      b.putObject("metadata").put("user_id", user.asText());
    }
    JsonNode tools = params.get("tools");
    if (tools != null && !tools.isNull()) {
      b.set("tools", tools(tools));
    }
    ObjectNode choice = toolChoice(params.get("tool_choice"), params.get("parallel_tool_calls"));
    if (choice != null) {
      b.set("tool_choice", choice);
    }
    params.forEach((k, v) -> {
      if (!TRANSLATED.contains(k)) {
        if (b.has(k)) {
          throw unsupported(k, "is also what the job's other fields translate to (e.g. system messages and a system "
              + "field): give it one way");
        }
        b.set(k, v); // an Anthropic field (thinking, top_k, service_tier, ...), as given
      }
    });
    if (stream) {
      b.put("stream", true);
    }
    return b;
  }

  private static void refuseInexpressible(Map<String, JsonNode> params) {
    for (String field : UNSUPPORTED) {
      JsonNode v = params.get(field);
      if (v != null && !v.isNull() && !("response_format".equals(field) && "text".equals(v.path("type").asText()))) {
        throw unsupported(field, "has no Anthropic Messages counterpart");
      }
    }
    JsonNode n = params.get("n");
    if (n != null && !n.isNull() && n.asInt() != 1) {
      throw unsupported("n", "= " + n + ": Anthropic answers with one message");
    }
    JsonNode logprobs = params.get("logprobs");
    if (logprobs != null && logprobs.asBoolean(false)) {
      throw unsupported("logprobs", "= true: Anthropic reports no token log probabilities");
    }
    for (String penalty : new String[] {"frequency_penalty", "presence_penalty"}) {
      JsonNode v = params.get(penalty);
      if (v != null && !v.isNull() && v.asDouble() != 0) {
        throw unsupported(penalty, "has no Anthropic Messages counterpart");
      }
    }
  }

  /** The job's limit (the larger field when it set both), else the route's default. */
  private static int maxTokens(Job job, Route route) {
    if (job.maxTokens() != null) {
      return job.maxTokens();
    }
    int max = -1;
    for (String f : new String[] {Job.MAX_TOKENS, Job.MAX_COMPLETION_TOKENS}) {
      JsonNode v = job.params().get(f);
      if (v != null && v.canConvertToInt()) {
        max = Math.max(max, v.intValue());
      }
    }
    if (max >= 0) {
      return max;
    }
    return route.defaultMaxTokens() != null ? route.defaultMaxTokens() : FALLBACK_MAX_TOKENS;
  }

  /**
   * System and developer messages become the top-level {@code system} (text blocks, in order); the others become
   * Anthropic messages, a tool message a user message with a {@code tool_result} block, consecutive messages of the
   * same Anthropic role merged into one (Anthropic requires alternating roles).
   */
  private static void messages(Job job, ObjectNode b) {
    ArrayNode system = NODES.arrayNode();
    ArrayNode out = NODES.arrayNode();
    ObjectNode last = null;
    for (int i = 0; i < job.messages().size(); i++) {
      ChatMessage m = job.messages().get(i);
      String at = "messages[" + i + "]";
      String role = m.role() == null ? "" : m.role();
      if (m.name() != null) {
        throw unsupported(at + ".name", "has no Anthropic counterpart (no participant names)");
      }
      ArrayNode blocks;
      String anthropicRole;
      switch (role) {
        case "system", "developer" -> {
          refuseExtra(m, at, Set.of());
          textBlocks(m.content(), at, system);
          continue;
        }
        case "user" -> {
          refuseExtra(m, at, Set.of());
          anthropicRole = "user";
          blocks = NODES.arrayNode();
          contentBlocks(m.content(), at, blocks);
        }
        case "assistant" -> {
          refuseExtra(m, at, Set.of("reasoning", "reasoning_content", "reasoning_signature", "refusal"));
          anthropicRole = "assistant";
          blocks = assistantBlocks(m, at);
        }
        case "tool" -> {
          refuseExtra(m, at, Set.of());
          anthropicRole = "user";
          blocks = NODES.arrayNode();
          ObjectNode result = blocks.addObject().put("type", "tool_result").put("tool_use_id", m.toolCallId());
          if (m.content() != null && !m.content().isNull()) {
            if (m.content().isTextual()) {
              result.put("content", m.content().textValue());
            } else {
              textBlocks(m.content(), at, result.putArray("content"));
            }
          }
        }
        default -> throw unsupported(at + ".role", "= " + role + " has no Anthropic counterpart");
      }
      if (last != null && last.path("role").asText().equals(anthropicRole)) {
        ((ArrayNode) last.get("content")).addAll(blocks);
      } else {
        last = out.addObject().put("role", anthropicRole);
        last.set("content", blocks);
      }
    }
    if (!system.isEmpty()) {
      b.set("system", system);
    }
    b.set("messages", out);
  }

  private static void refuseExtra(ChatMessage m, String at, Set<String> known) {
    for (String k : m.extra().keySet()) {
      if (!known.contains(k)) {
        throw unsupported(at + "." + k, "has no Anthropic counterpart");
      }
    }
    if (m.toolCalls() != null && !m.toolCalls().isNull() && !"assistant".equals(m.role())) {
      throw unsupported(at + ".tool_calls", "only an assistant message calls tools");
    }
  }

  /**
   * An assistant message: its signed reasoning (a {@code thinking} block, which Anthropic requires back on tool-use
   * turns), its text, then one {@code tool_use} block per tool call. Reasoning without a signature is not sent:
   * Anthropic accepts only the thinking blocks it signed (documented in DESIGN).
   */
  private static ArrayNode assistantBlocks(ChatMessage m, String at) {
    ArrayNode blocks = NODES.arrayNode();
    JsonNode signature = m.extra().get("reasoning_signature");
    JsonNode reasoning = m.extra().containsKey("reasoning") ? m.extra().get("reasoning")
        : m.extra().get("reasoning_content");
    if (signature != null && signature.isTextual()) {
      blocks.addObject().put("type", "thinking").put("thinking", reasoning == null ? "" : reasoning.asText())
          .put("signature", signature.textValue());
    }
    contentBlocks(m.content(), at, blocks);
    JsonNode refusal = m.extra().get("refusal");
    if (refusal != null && refusal.isTextual() && !refusal.textValue().isEmpty()) {
      blocks.addObject().put("type", "text").put("text", refusal.textValue());
    }
    List<FunctionTools.Call> calls = FunctionTools.calls(m.toolCalls(), at,
        (field, value) -> unsupported(field, "= " + value + ": only function calls are expressible"));
    for (int k = 0; k < calls.size(); k++) {
      FunctionTools.Call c = calls.get(k);
      blocks.addObject().put("type", "tool_use").put("id", c.id()).put("name", c.name())
          .set("input", arguments(c.arguments(), at + ".tool_calls[" + k + "]"));
    }
    return blocks;
  }

  private static JsonNode arguments(JsonNode args, String at) {
    if (args == null || args.isNull() || (args.isTextual() && args.textValue().isBlank())) {
      return NODES.objectNode();
    }
    if (args.isObject()) {
      return args;
    }
    try {
      JsonNode parsed = Json.mapper().readTree(args.asText());
      if (parsed != null && parsed.isObject()) {
        return parsed;
      }
    } catch (IOException e) {
      // reported below
    }
    throw unsupported(at + ".function.arguments", "is not a JSON object (Anthropic's tool_use input must be one)");
  }

  /** User or assistant content: a string or parts, as Anthropic blocks. */
  private static void contentBlocks(JsonNode content, String at, ArrayNode into) {
    if (content == null || content.isNull()) {
      return;
    }
    if (content.isTextual()) {
      if (!content.textValue().isEmpty()) {
        into.addObject().put("type", "text").put("text", content.textValue());
      }
      return;
    }
    for (int j = 0; j < content.size(); j++) {
      JsonNode part = content.get(j);
      String pat = at + ".content[" + j + "]";
      String type = part.path("type").asText();
      switch (type) {
        case "text" -> into.add(text(part));
        case "refusal" -> into.addObject().put("type", "text").put("text", part.path("refusal").asText());
        case "image_url" -> into.add(image(part.path("image_url").path("url").asText(), pat));
        default -> throw unsupported(pat + ".type", "= " + type + " has no Anthropic counterpart here");
      }
    }
  }

  /** System or tool-result content: text only. */
  private static void textBlocks(JsonNode content, String at, ArrayNode into) {
    if (content == null || content.isNull()) {
      return;
    }
    if (content.isTextual()) {
      into.addObject().put("type", "text").put("text", content.textValue());
      return;
    }
    for (int j = 0; j < content.size(); j++) {
      JsonNode part = content.get(j);
      if (!"text".equals(part.path("type").asText())) {
        throw unsupported(at + ".content[" + j + "].type", "= " + part.path("type").asText()
            + ": only text parts are expressible in this message");
      }
      into.add(text(part));
    }
  }

  /** A text part; Anthropic's {@code cache_control} on it (a job may set it for prompt caching) is kept. */
  private static ObjectNode text(JsonNode part) {
    ObjectNode t = NODES.objectNode().put("type", "text").put("text", part.path("text").asText());
    if (part.has("cache_control")) {
      t.set("cache_control", part.get("cache_control"));
    }
    return t;
  }

  /** {@code data:<media type>;base64,<data>} becomes a base64 source; an http(s) URL a url source. */
  private static ObjectNode image(String url, String at) {
    ObjectNode img = NODES.objectNode().put("type", "image");
    ObjectNode source = img.putObject("source");
    if (url.startsWith("data:")) {
      int comma = url.indexOf(',');
      String meta = comma < 0 ? "" : url.substring(5, comma);
      if (comma < 0 || !meta.endsWith(";base64")) {
        throw unsupported(at + ".image_url.url", "is a data URL that is not base64");
      }
      source.put("type", "base64").put("media_type", meta.substring(0, meta.length() - 7))
          .put("data", url.substring(comma + 1));
    } else if (url.startsWith("https://") || url.startsWith("http://")) {
      source.put("type", "url").put("url", url);
    } else {
      throw unsupported(at + ".image_url.url", "is neither a data URL nor an http(s) URL");
    }
    return img;
  }

  /** Function tools as Anthropic tools; a tool of another type is refused. */
  private static ArrayNode tools(JsonNode tools) {
    ArrayNode out = NODES.arrayNode();
    for (FunctionTools.Tool t : FunctionTools.tools(tools,
        (field, value) -> unsupported(field, "= " + value + ": only function tools"))) {
      ObjectNode a = out.addObject().put("name", t.name());
      if (isSet(t.description())) {
        a.put("description", t.description().asText());
      }
      a.set("input_schema", isSet(t.parameters()) ? t.parameters()
          : NODES.objectNode().put("type", "object").set("properties", NODES.objectNode()));
      if (isSet(t.strict())) {
        a.set("strict", t.strict());
      }
    }
    return out;
  }

  private static boolean isSet(JsonNode v) {
    return v != null && !v.isNull();
  }

  /**
   * {@code auto}, {@code required} ({@code any}), {@code none}, or a named function ({@code tool}); {@code
   * parallel_tool_calls: false} sets {@code disable_parallel_tool_use} (on {@code auto} when the job named no
   * choice). Null when the job sets neither.
   */
  private static ObjectNode toolChoice(JsonNode choice, JsonNode parallel) {
    boolean serial = parallel != null && parallel.isBoolean() && !parallel.booleanValue();
    if ((choice == null || choice.isNull()) && !serial) {
      return null;
    }
    ObjectNode out = NODES.objectNode();
    if (choice == null || choice.isNull() || "auto".equals(choice.asText())) {
      out.put("type", "auto");
    } else if ("required".equals(choice.asText())) {
      out.put("type", "any");
    } else if ("none".equals(choice.asText())) {
      return out.put("type", "none");
    } else if (choice.isObject() && "function".equals(choice.path("type").asText())) {
      out.put("type", "tool").put("name", choice.path("function").path("name").asText());
    } else {
      throw unsupported("tool_choice", "= " + choice + " has no Anthropic counterpart");
    }
    if (serial) {
      out.put("disable_parallel_tool_use", true);
    }
    return out;
  }

  private static void copy(Map<String, JsonNode> params, String field, ObjectNode b) {
    JsonNode v = params.get(field);
    if (v != null && !v.isNull()) {
      b.set(field, v);
    }
  }

  private static UnsupportedJobException unsupported(String field, String why) {
    return new UnsupportedJobException("the job's " + field + " " + why.strip()
        + " (provider protocol anthropic)");
  }
}
