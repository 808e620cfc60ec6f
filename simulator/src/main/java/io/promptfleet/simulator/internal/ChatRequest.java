package io.promptfleet.simulator.internal;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * The parts of an OpenAI chat-completions request body that the simulator uses; everything else
 * ({@code top_p}, {@code response_format}, {@code chat_template_kwargs}, ...) is accepted and ignored.
 * Immutable and thread-safe.
 *
 * @param model           requested model, echoed back (the first configured model when absent)
 * @param messages        the conversation, content reduced to its text
 * @param maxTokens       {@code max_completion_tokens}, else {@code max_tokens}, if given
 * @param stream          {@code stream}
 * @param includeUsage    {@code stream_options.include_usage}
 * @param legacyMaxTokens whether {@code max_tokens} was given (reasoning models reject it)
 * @param temperature     {@code temperature}, null when absent
 * @param logprobs        {@code logprobs}
 * @param topLogprobs     {@code top_logprobs}, 0..20 (0 when absent)
 * @param toolNames       {@code tools[i].function.name} of every tool that has one, in order
 * @param functionNames   {@code functions[i].name} (legacy function calling), in order
 */
public record ChatRequest(
    String model, List<Message> messages, OptionalInt maxTokens, boolean stream, boolean includeUsage,
    boolean legacyMaxTokens, Number temperature, boolean logprobs, int topLogprobs, List<String> toolNames,
    List<String> functionNames) {

  /** Largest {@code top_logprobs} OpenAI accepts. */
  public static final int MAX_TOP_LOGPROBS = 20;

  /** One message: its role and the text of its content (text parts joined, other parts dropped). */
  public record Message(String role, String text) {}

  public ChatRequest {
    messages = List.copyOf(messages);
    toolNames = List.copyOf(toolNames);
    functionNames = List.copyOf(functionNames);
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
    Object temperature = json.getValue("temperature");
    if (temperature != null && !(temperature instanceof Number)) {
      throw invalidType("temperature", "a decimal", temperature);
    }
    boolean logprobs = parseBoolean(json.getValue("logprobs"), "logprobs");
    return new ChatRequest(
        model == null ? defaultModel : (String) model,
        parseMessages(json.getValue("messages")),
        parseMaxTokens(json),
        parseBoolean(json.getValue("stream"), "stream"),
        parseIncludeUsage(json.getValue("stream_options")),
        json.getValue("max_tokens") != null,
        (Number) temperature,
        logprobs,
        parseTopLogprobs(json.getValue("top_logprobs"), logprobs),
        names(json.getValue("tools"), "tools", true),
        names(json.getValue("functions"), "functions", false));
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

  private static int parseTopLogprobs(Object value, boolean logprobs) throws InvalidRequestException {
    if (value == null) {
      return 0;
    }
    if (!(value instanceof Integer) && !(value instanceof Long)) {
      throw invalidType("top_logprobs", "an integer", value);
    }
    long n = ((Number) value).longValue();
    if (n < 0) {
      throw new InvalidRequestException("Invalid 'top_logprobs': integer below minimum value. Expected a value"
          + " >= 0, but got " + n + " instead.", "top_logprobs");
    }
    if (n > MAX_TOP_LOGPROBS) {
      throw new InvalidRequestException("Invalid 'top_logprobs': integer above maximum value. Expected a value"
          + " <= " + MAX_TOP_LOGPROBS + ", but got " + n + " instead.", "top_logprobs");
    }
    if (!logprobs) {
      throw new InvalidRequestException("Invalid value for 'top_logprobs': 'logprobs' must be set to true when"
          + " 'top_logprobs' is used.", "top_logprobs");
    }
    return (int) n;
  }

  /**
   * The function names of {@code tools} ({@code [{"type":"function","function":{"name":...}}]}) or of the
   * legacy {@code functions} ({@code [{"name":...}]}); entries without a name are skipped.
   */
  private static List<String> names(Object value, String param, boolean nested) throws InvalidRequestException {
    if (value == null) {
      return List.of();
    }
    if (!(value instanceof JsonArray array)) {
      throw invalidType(param, "an array", value);
    }
    List<String> names = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      if (!(array.getValue(i) instanceof JsonObject entry)) {
        throw invalidType(param + "[" + i + "]", "an object", array.getValue(i));
      }
      Object holder = nested ? entry.getValue("function") : entry;
      if (holder instanceof JsonObject function && function.getValue("name") instanceof String name) {
        names.add(name);
      }
    }
    return names;
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

  static InvalidRequestException invalidType(String param, String expected, Object actual) {
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
