package io.promptfleet.worker.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ChatMessage;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Route;
import io.promptfleet.common.upstream.FunctionTools;
import io.promptfleet.common.upstream.UnsupportedJobException;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Translates a job in the OpenAI chat-completions format into a Responses API request body ({@code POST
 * /responses}). Every field of the job is either translated or refused with an {@link UnsupportedJobException}
 * naming it; nothing is dropped. Stateless and thread-safe.
 *
 * <ul>
 *   <li>Messages become {@code input} items in their order: system and developer messages stay messages of their
 *       role (not {@code instructions}, which can hold only one text and would move a later system message before
 *       the conversation); user content parts become {@code input_text}, {@code input_image} and {@code input_file};
 *       an assistant message becomes an assistant message ({@code output_text} and {@code refusal} parts) followed
 *       by one {@code function_call} item per tool call; a tool message becomes a {@code function_call_output}.</li>
 *   <li>{@code tools} become the flat function tool shape; {@code strict} is sent as the job set it, and as {@code
 *       false} when it did not (chat's default; the Responses API would otherwise make every tool strict).</li>
 *   <li>{@code max_completion_tokens} (else {@code max_tokens}, else the route's default) becomes {@code
 *       max_output_tokens}; {@code response_format} becomes {@code text.format}; {@code reasoning_effort} becomes
 *       {@code reasoning.effort} with {@code summary: auto}, so that the reasoning streams as summary text.</li>
 *   <li>{@code store} is {@code false} unless the job sets it: the Responses API stores every response (prompt
 *       and answer) by default, which a chat-completions job never asked for, and the fleet never continues a
 *       stored response.</li>
 * </ul>
 */
final class ResponsesRequestTranslator {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  /** Fields the Responses API takes under the same name and meaning. */
  private static final Set<String> SAME = Set.of("temperature", "top_p", "parallel_tool_calls", "store", "metadata",
      "user", "safety_identifier", "prompt_cache_key", "prompt_cache_retention", "service_tier");

  /** Chat fields that mean nothing when 0, false or null; anything else is refused. */
  private static final Set<String> DEFAULT_ONLY = Set.of("frequency_penalty", "presence_penalty", "logprobs", "n");

  /** A tool or call of another type than function. */
  private static final FunctionTools.Refusal REFUSE = (field, value) -> unsupported(field + "=" + value);

  private ResponsesRequestTranslator() {}

  static ObjectNode body(Assignment assignment) {
    Job job = assignment.job();
    Route route = assignment.route();
    ObjectNode b = NODES.objectNode();
    b.put("model", route.model());
    b.set("input", input(job.messages()));
    for (Map.Entry<String, JsonNode> e : job.params().entrySet()) {
      param(b, e.getKey(), e.getValue());
    }
    if (!b.has("max_output_tokens")) {
      Integer limit = job.maxTokens() != null ? job.maxTokens() : route.defaultMaxTokens();
      if (limit != null) {
        b.put("max_output_tokens", limit);
      }
    }
    if (!b.has("store")) {
      b.put("store", false);
    }
    if (route.streams()) {
      b.put("stream", true);
    }
    return b;
  }

  private static void param(ObjectNode b, String name, JsonNode v) {
    if (SAME.contains(name)) {
      b.set(name, v);
      return;
    }
    if (DEFAULT_ONLY.contains(name)) {
      boolean isDefault = v.isNull() || (v.isBoolean() && !v.booleanValue()) || (v.isNumber() && ("n".equals(name)
          ? v.asInt() == 1 : v.asDouble() == 0));
      if (!isDefault) {
        throw unsupported(name + "=" + v);
      }
      return;
    }
    switch (name) {
      case Job.MAX_COMPLETION_TOKENS -> b.set("max_output_tokens", v);
      case Job.MAX_TOKENS -> {
        if (!b.has("max_output_tokens")) {
          b.set("max_output_tokens", v);
        }
      }
      case "tools" -> b.set("tools", tools(v));
      case "tool_choice" -> b.set("tool_choice", toolChoice(v));
      case "response_format" -> text(b).set("format", format(v));
      case "verbosity" -> text(b).set("verbosity", v);
      case "reasoning_effort" -> {
        ObjectNode r = NODES.objectNode();
        r.set("effort", v);
        r.put("summary", "auto");
        b.set("reasoning", r);
      }
      case "stream", "stream_options" -> streamOptions(b, name, v);
      default -> throw unsupported(name);
    }
  }

  /** {@code stream} is the route's to decide; of {@code stream_options}, only obfuscation has a Responses twin. */
  private static void streamOptions(ObjectNode b, String name, JsonNode v) {
    if ("stream".equals(name) || v.isNull()) {
      return;
    }
    ObjectNode kept = NODES.objectNode();
    for (Map.Entry<String, JsonNode> o : v.properties()) {
      switch (o.getKey()) {
        case "include_usage" -> { } // the Responses API always reports usage
        case "include_obfuscation" -> kept.set("include_obfuscation", o.getValue());
        default -> throw unsupported("stream_options." + o.getKey());
      }
    }
    if (!kept.isEmpty()) {
      b.set("stream_options", kept);
    }
  }

  private static ObjectNode text(ObjectNode b) {
    JsonNode t = b.get("text");
    return t instanceof ObjectNode o ? o : b.putObject("text");
  }

  private static ArrayNode input(List<ChatMessage> messages) {
    ArrayNode items = NODES.arrayNode();
    for (int i = 0; i < messages.size(); i++) {
      ChatMessage m = messages.get(i);
      String at = "messages[" + i + "]";
      if (m.name() != null) {
        throw unsupported(at + ".name");
      }
      m.extra().forEach((k, v) -> {
        if (!"refusal".equals(k) && !isEmpty(v)) {
          throw unsupported(at + "." + k);
        }
      });
      switch (m.role()) {
        case "system", "developer", "user" -> items.add(message(m.role(), inputContent(m.content(), at)));
        case "assistant" -> assistant(items, m, at);
        case "tool" -> {
          if (m.toolCallId() == null) {
            throw new UnsupportedJobException(at + " (role tool) has no tool_call_id");
          }
          ObjectNode o = items.addObject().put("type", "function_call_output").put("call_id", m.toolCallId());
          o.set("output", m.content() == null || m.content().isNull() ? NODES.textNode("")
              : inputContent(m.content(), at));
        }
        default -> throw unsupported(at + ".role=" + m.role());
      }
    }
    return items;
  }

  private static ObjectNode message(String role, JsonNode content) {
    ObjectNode o = NODES.objectNode().put("type", "message").put("role", role);
    o.set("content", content);
    return o;
  }

  private static void assistant(ArrayNode items, ChatMessage m, String at) {
    ArrayNode parts = NODES.arrayNode();
    JsonNode c = m.content();
    if (c != null && c.isTextual() && !c.textValue().isEmpty()) {
      parts.addObject().put("type", "output_text").put("text", c.textValue());
    } else if (c != null && c.isArray()) {
      for (int p = 0; p < c.size(); p++) {
        JsonNode part = c.get(p);
        switch (part.path("type").asText()) {
          case "text" -> parts.addObject().put("type", "output_text").put("text", part.path("text").asText());
          case "refusal" -> parts.addObject().put("type", "refusal").put("refusal", part.path("refusal").asText());
          default -> throw unsupported(at + ".content[" + p + "].type=" + part.path("type").asText());
        }
      }
    }
    JsonNode refusal = m.extra().get("refusal");
    if (refusal != null && refusal.isTextual()) {
      parts.addObject().put("type", "refusal").put("refusal", refusal.textValue());
    }
    if (!parts.isEmpty()) {
      items.add(message("assistant", parts));
    }
    for (FunctionTools.Call call : FunctionTools.calls(m.toolCalls(), at, REFUSE)) {
      JsonNode args = call.arguments();
      items.addObject().put("type", "function_call").put("call_id", call.id()).put("name", call.name())
          .put("arguments", args == null ? "" : args.isTextual() ? args.textValue() : args.toString());
    }
  }

  /** A string stays a string; content parts become Responses input parts. */
  private static JsonNode inputContent(JsonNode content, String at) {
    if (content == null || content.isNull()) {
      return NODES.textNode("");
    }
    if (content.isTextual()) {
      return content;
    }
    if (!content.isArray()) {
      throw unsupported(at + ".content of type " + content.getNodeType());
    }
    ArrayNode parts = NODES.arrayNode();
    for (int p = 0; p < content.size(); p++) {
      JsonNode part = content.get(p);
      String type = part.path("type").asText();
      switch (type) {
        case "text" -> parts.addObject().put("type", "input_text").put("text", part.path("text").asText());
        case "image_url" -> {
          JsonNode image = part.path("image_url");
          ObjectNode o = parts.addObject().put("type", "input_image")
              .put("image_url", image.isTextual() ? image.textValue() : image.path("url").asText());
          o.put("detail", image.path("detail").asText("auto"));
        }
        case "file" -> {
          ObjectNode o = parts.addObject().put("type", "input_file");
          part.path("file").properties().forEach(f -> o.set(f.getKey(), f.getValue()));
        }
        default -> throw unsupported(at + ".content[" + p + "].type=" + type);
      }
    }
    return parts;
  }

  private static ArrayNode tools(JsonNode tools) {
    ArrayNode out = NODES.arrayNode();
    for (FunctionTools.Tool t : FunctionTools.tools(tools, REFUSE)) {
      ObjectNode o = out.addObject().put("type", "function").put("name", t.name());
      if (t.description() != null) {
        o.set("description", t.description());
      }
      if (t.parameters() != null) {
        o.set("parameters", t.parameters());
      }
      o.put("strict", t.strict() != null && t.strict().asBoolean(false));
    }
    return out;
  }

  private static JsonNode toolChoice(JsonNode v) {
    if (v.isTextual()) {
      return v; // none, auto, required
    }
    if ("function".equals(v.path("type").asText()) && v.path("function").has("name")) {
      return NODES.objectNode().put("type", "function").put("name", v.path("function").path("name").asText());
    }
    throw unsupported("tool_choice=" + v);
  }

  private static ObjectNode format(JsonNode v) {
    String type = v.path("type").asText();
    switch (type) {
      case "text", "json_object" -> {
        return NODES.objectNode().put("type", type);
      }
      case "json_schema" -> {
        ObjectNode o = NODES.objectNode().put("type", "json_schema");
        v.path("json_schema").properties().forEach(f -> o.set(f.getKey(), f.getValue()));
        return o;
      }
      default -> throw unsupported("response_format.type=" + type);
    }
  }

  private static boolean isEmpty(JsonNode v) {
    return v == null || v.isNull() || ((v.isArray() || v.isObject()) && v.isEmpty());
  }

  private static UnsupportedJobException unsupported(String what) {
    return new UnsupportedJobException(what + " cannot be expressed in the OpenAI Responses API (protocol "
        + "openai-responses)");
  }
}
