package io.promptfleet.simulator.internal;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * An Anthropic Messages request body read into the simulator's {@link ChatRequest} (so answers and fault
 * directives work as on the OpenAI path): {@code system} becomes a system message, each message's text blocks and
 * tool results its text, {@code tools[].name} the tool names; {@code max_tokens} is required, as Anthropic requires
 * it; usage is always reported. Also how many prompt tokens precede the last {@code cache_control} breakpoint.
 * Immutable and thread-safe.
 *
 * @param chat              the request as the answer builder reads it
 * @param cachePrefixTokens the estimated tokens of the messages up to and including the one holding the last
 *                          {@code cache_control} (0 without one)
 */
record MessagesRequest(ChatRequest chat, int cachePrefixTokens) {

  /** @throws InvalidRequestException with an Anthropic-style message when a used field is missing or mistyped */
  static MessagesRequest parse(String body, String defaultModel) throws InvalidRequestException {
    JsonObject json;
    try {
      json = new JsonObject(body);
    } catch (DecodeException | ClassCastException e) {
      throw new InvalidRequestException("There was an issue with your request body: it is not valid JSON.", null);
    }
    List<ChatRequest.Message> messages = new ArrayList<>();
    int prefixMessages = 0;
    Object system = json.getValue("system");
    if (system != null) {
      messages.add(new ChatRequest.Message("system", text(system, "system")));
      prefixMessages = hasCacheControl(system) ? 1 : 0;
    }
    if (!(json.getValue("messages") instanceof JsonArray array) || array.isEmpty()) {
      throw new InvalidRequestException("messages: Field required (a non-empty array)", "messages");
    }
    for (int i = 0; i < array.size(); i++) {
      if (!(array.getValue(i) instanceof JsonObject m) || !(m.getValue("role") instanceof String role)) {
        throw new InvalidRequestException("messages." + i + ": an object with a role is required", "messages");
      }
      messages.add(new ChatRequest.Message(role, text(m.getValue("content"), "messages." + i + ".content")));
      if (hasCacheControl(m.getValue("content"))) {
        prefixMessages = messages.size();
      }
    }
    if (!(json.getValue("max_tokens") instanceof Number max)) {
      throw new InvalidRequestException("max_tokens: Field required", "max_tokens");
    }
    Object model = json.getValue("model");
    List<String> tools = new ArrayList<>();
    if (json.getValue("tools") instanceof JsonArray t) {
      for (Object o : t) {
        if (o instanceof JsonObject tool && tool.getValue("name") instanceof String name) {
          tools.add(name);
        }
      }
    }
    Object temperature = json.getValue("temperature");
    ChatRequest chat = new ChatRequest(model instanceof String s ? s : defaultModel, messages,
        OptionalInt.of(max.intValue()), Boolean.TRUE.equals(json.getValue("stream")), true, false,
        temperature instanceof Number n ? n : null, false, 0, tools, List.of());
    int prefix = 0;
    for (int i = 0; i < prefixMessages; i++) {
      prefix += Math.max(1, (messages.get(i).text().length() + 3) / 4); // as ChatRequest.promptTokens() counts
    }
    return new MessagesRequest(chat, prefix);
  }

  /** A string, or the text of the text blocks and tool results of a block array. */
  private static String text(Object content, String where) throws InvalidRequestException {
    if (content == null) {
      return "";
    }
    if (content instanceof String s) {
      return s;
    }
    if (!(content instanceof JsonArray blocks)) {
      throw new InvalidRequestException(where + ": Input should be a valid string or list of blocks", where);
    }
    StringBuilder sb = new StringBuilder();
    for (Object o : blocks) {
      if (o instanceof JsonObject b) {
        if (b.getValue("text") instanceof String t) {
          sb.append(t);
        } else if ("tool_result".equals(b.getValue("type"))) {
          sb.append(text(b.getValue("content"), where));
        }
      }
    }
    return sb.toString();
  }

  private static boolean hasCacheControl(Object content) {
    if (content instanceof JsonArray blocks) {
      for (Object o : blocks) {
        if (o instanceof JsonObject b && b.getValue("cache_control") != null) {
          return true;
        }
      }
    }
    return false;
  }
}
