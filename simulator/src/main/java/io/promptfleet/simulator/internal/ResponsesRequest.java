package io.promptfleet.simulator.internal;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * Reads an OpenAI Responses API request body ({@code POST /v1/responses}) into the {@link ChatRequest} the
 * simulator plans its answer from: {@code instructions} as a first system message; {@code input} (a string, or
 * items) as messages: message items with their role and the text of their {@code input_text} / {@code output_text}
 * parts, {@code function_call_output} items as tool messages, {@code function_call} items as assistant messages
 * without text; {@code max_output_tokens} as the completion limit (at least 16, as the API requires); {@code
 * stream}; {@code temperature}; the names of the flat function {@code tools}. Everything else is accepted and
 * ignored. Stateless and thread-safe.
 */
final class ResponsesRequest {
  /** The smallest {@code max_output_tokens} the Responses API accepts. */
  static final int MIN_OUTPUT_TOKENS = 16;

  private ResponsesRequest() {}

  static ChatRequest parse(String body, String defaultModel) throws InvalidRequestException {
    JsonObject json = ChatRequest.object(body);
    Object model = ChatRequest.model(json);
    Number temperature = ChatRequest.temperature(json);
    List<ChatRequest.Message> messages = new ArrayList<>();
    Object instructions = json.getValue("instructions");
    if (instructions instanceof String text) {
      messages.add(new ChatRequest.Message("system", text));
    }
    Object input = json.getValue("input");
    if (input instanceof String text) {
      messages.add(new ChatRequest.Message("user", text));
    } else if (input instanceof JsonArray items) {
      for (int i = 0; i < items.size(); i++) {
        if (!(items.getValue(i) instanceof JsonObject item)) {
          throw ChatRequest.invalidType("input[" + i + "]", "an object", items.getValue(i));
        }
        messages.add(message(item));
      }
    } else {
      throw input == null ? new InvalidRequestException("Missing required parameter: 'input'.", "input")
          : ChatRequest.invalidType("input", "a string or an array of input items", input);
    }
    return new ChatRequest(model == null ? defaultModel : (String) model, messages, maxOutputTokens(json),
        ChatRequest.parseBoolean(json.getValue("stream"), "stream"), true, false, temperature, false, 0,
        toolNames(json.getValue("tools")), List.of());
  }

  private static ChatRequest.Message message(JsonObject item) {
    String type = item.getString("type", "message");
    return switch (type) {
      case "function_call_output" -> new ChatRequest.Message("tool", text(item.getValue("output")));
      case "function_call" -> new ChatRequest.Message("assistant", "");
      default -> new ChatRequest.Message(item.getValue("role") instanceof String r ? r : "user",
          text(item.getValue("content")));
    };
  }

  /** A string, or the text of the {@code input_text} / {@code output_text} parts of an array. */
  private static String text(Object content) {
    if (content instanceof String s) {
      return s;
    }
    StringBuilder sb = new StringBuilder();
    if (content instanceof JsonArray parts) {
      for (Object part : parts) {
        if (part instanceof JsonObject p && p.getValue("text") instanceof String t) {
          sb.append(t);
        }
      }
    }
    return sb.toString();
  }

  private static OptionalInt maxOutputTokens(JsonObject json) throws InvalidRequestException {
    Object value = json.getValue("max_output_tokens");
    if (value == null) {
      return OptionalInt.empty();
    }
    if (!(value instanceof Integer) && !(value instanceof Long)) {
      throw ChatRequest.invalidType("max_output_tokens", "an integer", value);
    }
    long n = ((Number) value).longValue();
    if (n < MIN_OUTPUT_TOKENS) {
      throw new InvalidRequestException("Invalid 'max_output_tokens': integer below minimum value. Expected a value"
          + " >= " + MIN_OUTPUT_TOKENS + ", but got " + n + " instead.", "max_output_tokens");
    }
    return OptionalInt.of((int) Math.min(n, Integer.MAX_VALUE));
  }

  /** The {@code name} of every flat function tool ({@code [{"type":"function","name":...}]}), in order. */
  private static List<String> toolNames(Object tools) throws InvalidRequestException {
    if (tools == null) {
      return List.of();
    }
    if (!(tools instanceof JsonArray array)) {
      throw ChatRequest.invalidType("tools", "an array", tools);
    }
    List<String> names = new ArrayList<>();
    for (Object t : array) {
      if (t instanceof JsonObject tool && tool.getValue("name") instanceof String name) {
        names.add(name);
      }
    }
    return names;
  }
}
