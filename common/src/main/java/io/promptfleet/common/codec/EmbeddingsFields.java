package io.promptfleet.common.codec;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Set;

/**
 * The checks of an {@code /v1/embeddings} job's own fields, as OpenAI's embeddings API defines them
 * (https://platform.openai.com/docs/api-reference/embeddings/create): {@code input} is a non-empty string, or an
 * array of at most {@value #MAX_INPUTS} non-empty strings, or an array of token ids, or an array of non-empty
 * token-id arrays; {@code dimensions} a positive integer; {@code encoding_format} {@code float} or {@code base64};
 * {@code user} a string. A chat job's fields (messages, stream, completion limits) have no meaning there and are
 * rejected, naming the field, rather than sent to the provider for a 400. Stateless and thread-safe.
 */
final class EmbeddingsFields {
  /** OpenAI's limit of inputs per request. */
  static final int MAX_INPUTS = 2048;
  private static final Set<String> ENCODINGS = Set.of("float", "base64");
  private static final List<String> CHAT_ONLY = List.of("messages", "stream", "stream_options", "max_tokens",
      "max_completion_tokens", "tools", "tool_choice", "response_format", "logprobs");

  private EmbeddingsFields() {}

  /** Adds what is wrong with the embeddings job {@code o} to {@code problems}. */
  static void check(JsonNode o, List<String> problems) {
    for (String f : CHAT_ONLY) {
      if (o.has(f)) {
        problems.add(f + " is not allowed in an /v1/embeddings job: it is a chat completions field (an"
            + " embeddings job sends input)");
      }
    }
    input(o.get("input"), problems);
    JsonNode dims = o.get("dimensions");
    if (dims != null && !dims.isNull() && !(dims.isIntegralNumber() && dims.asLong() > 0
        && dims.asLong() <= Integer.MAX_VALUE)) {
      problems.add("dimensions must be a positive integer");
    }
    JsonNode enc = o.get("encoding_format");
    if (enc != null && !enc.isNull() && !(enc.isTextual() && ENCODINGS.contains(enc.textValue()))) {
      problems.add("encoding_format must be float or base64");
    }
    JsonNode user = o.get("user");
    if (user != null && !user.isNull() && !user.isTextual()) {
      problems.add("user must be a string");
    }
  }

  private static void input(JsonNode in, List<String> problems) {
    if (in == null || in.isNull()) {
      problems.add("input is missing: an /v1/embeddings job needs input (a string, an array of strings, an array"
          + " of token ids or an array of token-id arrays)");
      return;
    }
    if (in.isTextual()) {
      if (in.textValue().isEmpty()) {
        problems.add("input must not be an empty string");
      }
      return;
    }
    if (!in.isArray() || in.isEmpty()) {
      problems.add("input must be a non-empty string or a non-empty array (of strings, of token ids or of token-id"
          + " arrays)");
      return;
    }
    if (in.size() > MAX_INPUTS) {
      problems.add("input has " + in.size() + " entries, more than " + MAX_INPUTS + " (OpenAI's limit per"
          + " request): split it into several jobs");
      return;
    }
    JsonNode first = in.get(0);
    for (int i = 0; i < in.size(); i++) {
      JsonNode e = in.get(i);
      String at = "input[" + i + "]";
      if (first.isTextual()) {
        if (!e.isTextual() || e.textValue().isEmpty()) {
          problems.add(at + " must be a non-empty string, like input[0]");
          return;
        }
      } else if (first.isIntegralNumber()) {
        if (!isTokenId(e)) {
          problems.add(at + " must be a token id (a non-negative integer), like input[0]");
          return;
        }
      } else if (first.isArray()) {
        if (!e.isArray() || e.isEmpty()) {
          problems.add(at + " must be a non-empty array of token ids, like input[0]");
          return;
        }
        for (JsonNode t : e) {
          if (!isTokenId(t)) {
            problems.add(at + " must hold token ids (non-negative integers)");
            return;
          }
        }
      } else {
        problems.add("input[0] must be a string, a token id or an array of token ids");
        return;
      }
    }
  }

  private static boolean isTokenId(JsonNode t) {
    return t.isIntegralNumber() && t.asLong() >= 0 && t.asLong() <= Integer.MAX_VALUE;
  }
}
