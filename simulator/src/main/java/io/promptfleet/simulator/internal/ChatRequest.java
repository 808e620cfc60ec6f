package io.promptfleet.simulator.internal;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * The parts of an OpenAI chat-completions request body that the simulator uses; everything else
 * (temperature, tools, ...) is accepted and ignored. Immutable and thread-safe.
 *
 * @param model        requested model, echoed back (the first configured model when absent)
 * @param messages     the conversation, content reduced to its text
 * @param maxTokens    {@code max_completion_tokens}, else {@code max_tokens}, if given
 * @param stream       {@code stream}
 * @param includeUsage {@code stream_options.include_usage}
 */
public record ChatRequest(
    String model, List<Message> messages, OptionalInt maxTokens, boolean stream, boolean includeUsage) {

  /** One message: its role and the text of its content (text parts joined, other parts dropped). */
  public record Message(String role, String text) {}

  public ChatRequest {
    messages = List.copyOf(messages);
  }

  /**
   * Parses a request body.
   *
   * @throws InvalidRequestException with an OpenAI-style message when the body is not a JSON object or a
   *                                 used field has the wrong type or value
   */
  public static ChatRequest parse(String body, String defaultModel) throws InvalidRequestException {
    JsonObject json;
    try {
      json = new JsonObject(body);
    } catch (DecodeException | ClassCastException e) {
      throw new InvalidRequestException("We could not parse the JSON body of your request. (HINT: This likely"
          + " means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but"
          + " what was sent was not valid JSON.)", null);
    }
    Object model = json.getValue("model");
    if (model != null && !(model instanceof String)) {
      throw invalidType("model", "a string", model);
    }
    return new ChatRequest(
        model == null ? defaultModel : (String) model,
        parseMessages(json.getValue("messages")),
        parseMaxTokens(json),
        parseBoolean(json.getValue("stream"), "stream"),
        parseIncludeUsage(json.getValue("stream_options")));
  }

  /** Text of the last message with role {@code user}, or "" when there is none. */
  public String lastUserText() {
    for (int i = messages.size() - 1; i >= 0; i--) {
      if ("user".equals(messages.get(i).role())) {
        return messages.get(i).text();
      }
    }
    return "";
  }

  /** The text of all messages concatenated, in order. */
  public String allText() {
    StringBuilder sb = new StringBuilder();
    for (Message m : messages) {
      sb.append(m.text());
    }
    return sb.toString();
  }

  /** Rough prompt token count: per message, its characters / 4 rounded up, at least 1. */
  public int promptTokens() {
    int total = 0;
    for (Message m : messages) {
      total += Math.max(1, (m.text().length() + 3) / 4);
    }
    return total;
  }

  private static List<Message> parseMessages(Object value) throws InvalidRequestException {
    if (value == null) {
      throw new InvalidRequestException("Missing required parameter: 'messages'.", "messages");
    }
    if (!(value instanceof JsonArray array)) {
      throw invalidType("messages", "an array of objects", value);
    }
    if (array.isEmpty()) {
      throw new InvalidRequestException("Invalid 'messages': empty array. Expected an array with minimum"
          + " length 1, but got an empty array instead.", "messages");
    }
    List<Message> messages = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      String where = "messages[" + i + "]";
      if (!(array.getValue(i) instanceof JsonObject message)) {
        throw invalidType(where, "an object", array.getValue(i));
      }
      Object role = message.getValue("role");
      if (!(role instanceof String)) {
        throw role == null
            ? new InvalidRequestException("Missing required parameter: '" + where + ".role'.", where + ".role")
            : invalidType(where + ".role", "a string", role);
      }
      messages.add(new Message((String) role, contentText(message.getValue("content"), where + ".content")));
    }
    return messages;
  }

  private static String contentText(Object content, String where) throws InvalidRequestException {
    if (content == null) {
      return "";
    }
    if (content instanceof String text) {
      return text;
    }
    if (content instanceof JsonArray parts) {
      StringBuilder sb = new StringBuilder();
      for (Object part : parts) {
        if (part instanceof JsonObject p && "text".equals(p.getValue("type")) && p.getValue("text") instanceof String t) {
          sb.append(t);
        }
      }
      return sb.toString();
    }
    throw invalidType(where, "a string or an array of content parts", content);
  }

  private static OptionalInt parseMaxTokens(JsonObject json) throws InvalidRequestException {
    String name = json.getValue("max_completion_tokens") != null ? "max_completion_tokens" : "max_tokens";
    Object value = json.getValue(name);
    if (value == null) {
      return OptionalInt.empty();
    }
    if (!(value instanceof Integer) && !(value instanceof Long)) {
      throw invalidType(name, "an integer", value);
    }
    long n = ((Number) value).longValue();
    if (n < 1) {
      throw new InvalidRequestException("Invalid '" + name + "': integer below minimum value. Expected a value"
          + " >= 1, but got " + n + " instead.", name);
    }
    return OptionalInt.of((int) Math.min(n, Integer.MAX_VALUE));
  }

  private static boolean parseBoolean(Object value, String name) throws InvalidRequestException {
    if (value == null) {
      return false;
    }
    if (!(value instanceof Boolean b)) {
      throw invalidType(name, "a boolean", value);
    }
    return b;
  }

  private static boolean parseIncludeUsage(Object streamOptions) throws InvalidRequestException {
    if (streamOptions == null) {
      return false;
    }
    if (!(streamOptions instanceof JsonObject options)) {
      throw invalidType("stream_options", "an object", streamOptions);
    }
    return parseBoolean(options.getValue("include_usage"), "stream_options.include_usage");
  }

  private static InvalidRequestException invalidType(String param, String expected, Object actual) {
    return new InvalidRequestException("Invalid type for '" + param + "': expected " + expected + ", but got "
        + jsonType(actual) + " instead.", param);
  }

  private static String jsonType(Object value) {
    if (value instanceof String) return "a string";
    if (value instanceof Boolean) return "a boolean";
    if (value instanceof Integer || value instanceof Long) return "an integer";
    if (value instanceof Number) return "a decimal";
    if (value instanceof JsonArray) return "an array";
    if (value instanceof JsonObject) return "an object";
    return "null";
  }
}
