package io.promptfleet.common.job;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonAnySetter;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * One chat message of a job, passed to the provider as is: every field it carries, including those this record
 * does not name ({@code extra}: e.g. a legacy {@code function_call}, {@code audio}, {@code refusal}).
 *
 * @param role    system, developer, user, assistant or tool
 * @param content a string, or an array of content parts (OpenAI format)
 * @param name    optional participant name
 * @param toolCallId for role tool: the call it answers
 * @param toolCalls  for role assistant: tool calls it made
 * @param extra      every other field of the message, passed through as given
 */
public record ChatMessage(String role, @Nullable JsonNode content, @Nullable String name, @Nullable String toolCallId,
    @Nullable JsonNode toolCalls,
    @JsonAnySetter @JsonAnyGetter Map<String, JsonNode> extra) {

  public ChatMessage {
    extra = extra == null ? new LinkedHashMap<>() : extra;
  }

  public ChatMessage(String role, @Nullable JsonNode content, @Nullable String name, @Nullable String toolCallId,
      @Nullable JsonNode toolCalls) {
    this(role, content, name, toolCallId, toolCalls, null);
  }

  public static ChatMessage of(String role, String text) {
    return new ChatMessage(role, com.fasterxml.jackson.databind.node.TextNode.valueOf(text), null, null, null);
  }

  /** The text of the content, parts joined; used for token estimates. */
  public String text() {
    if (content == null || content.isNull()) {
      return "";
    }
    if (content.isTextual()) {
      return content.textValue();
    }
    StringBuilder sb = new StringBuilder();
    for (JsonNode part : content) {
      JsonNode t = part.get("text");
      if (t != null && t.isTextual()) {
        sb.append(t.textValue());
      }
    }
    return sb.toString();
  }
}
