package io.promptfleet.common.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * A job's function tools ({@code tools[].function}) and an assistant message's function calls ({@code tool_calls[]}),
 * read once for every protocol that translates a chat job into its own request shape. A tool or call of another type
 * is refused in the protocol's words. Stateless and thread-safe.
 */
public final class FunctionTools {

  /** The protocol's refusal of a field's value, e.g. {@code tools[1].type} being {@code code_interpreter}. */
  public interface Refusal {
    UnsupportedJobException of(String field, String value);
  }

  /** One function tool; each JSON field is null when the job did not give it. */
  public record Tool(String name, JsonNode description, JsonNode parameters, JsonNode strict) {}

  /** One function call; {@code arguments} is null when the call had none (usually a JSON string). */
  public record Call(String id, String name, JsonNode arguments) {}

  private FunctionTools() {}

  /** The job's {@code tools}, each of type {@code function}. */
  public static List<Tool> tools(JsonNode tools, Refusal refuse) {
    List<Tool> out = new ArrayList<>(tools.size());
    for (int i = 0; i < tools.size(); i++) {
      JsonNode t = tools.get(i);
      if (!"function".equals(t.path("type").asText())) {
        throw refuse.of("tools[" + i + "].type", t.path("type").asText());
      }
      JsonNode f = t.path("function");
      out.add(new Tool(f.path("name").asText(), f.get("description"), f.get("parameters"), f.get("strict")));
    }
    return out;
  }

  /** The calls of an assistant message at {@code at} ({@code messages[i]}); none when it has no {@code tool_calls}. */
  public static List<Call> calls(JsonNode toolCalls, String at, Refusal refuse) {
    if (toolCalls == null || !toolCalls.isArray()) {
      return List.of();
    }
    List<Call> out = new ArrayList<>(toolCalls.size());
    for (int k = 0; k < toolCalls.size(); k++) {
      JsonNode c = toolCalls.get(k);
      if (!"function".equals(c.path("type").asText("function"))) {
        throw refuse.of(at + ".tool_calls[" + k + "].type", c.path("type").asText());
      }
      JsonNode f = c.path("function");
      out.add(new Call(c.path("id").asText(), f.path("name").asText(), f.get("arguments")));
    }
    return out;
  }
}
