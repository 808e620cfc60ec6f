package io.promptfleet.common.upstream;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.databind.util.RawValue;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Embedding;
import io.promptfleet.common.job.Usage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * An embeddings answer in OpenAI's shape ({@code {"object":"list","data":[{"object":"embedding","index":0,
 * "embedding":[...]}],"model":"...","usage":{"prompt_tokens":8,"total_tokens":8}}}, as documented at
 * https://platform.openai.com/docs/api-reference/embeddings/object), each vector kept as the provider sent it (a
 * number array, or a base64 string for {@code encoding_format: base64}). Immutable.
 *
 * @param data  the vectors, in the order sent
 * @param model the model the provider says it used, or null
 * @param usage prompt and total tokens (no completion tokens), or null when not sent
 */
public record EmbeddingsAnswer(List<Embedding> data, @Nullable String model, @Nullable Usage usage) {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  public EmbeddingsAnswer {
    data = List.copyOf(data);
  }

  /**
   * Reads an answer body with a streaming parser. A number array is kept as the provider's own text (a raw JSON
   * value, written back verbatim into the result): the numbers are checked by the tokenizer, never converted to
   * doubles and back, which was most of the worker's time for float vectors (bench/worker/README.md).
   *
   * @throws IOException when the body is not JSON or not an embeddings list (no {@code data} array, an entry
   *                     without an integer {@code index} or without an array or string {@code embedding})
   */
  public static EmbeddingsAnswer parse(String body) throws IOException {
    List<Embedding> data = null;
    String model = null;
    Usage usage = null;
    try (JsonParser p = Json.mapper().getFactory().createParser(body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IOException("not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken t = p.nextToken();
        switch (field) {
          case "data" -> {
            if (t != JsonToken.START_ARRAY) {
              throw new IOException("no data array");
            }
            data = data(p, body);
          }
          case "model" -> model = t == JsonToken.VALUE_STRING ? p.getText() : skip(p, null);
          case "usage" -> usage = t == JsonToken.START_OBJECT ? usage(p.readValueAsTree()) : skip(p, null);
          default -> p.skipChildren();
        }
      }
      if (p.currentToken() != JsonToken.END_OBJECT) {
        throw new IOException("truncated JSON object");
      }
    }
    if (data == null) {
      throw new IOException("no data array");
    }
    return new EmbeddingsAnswer(data, model, usage);
  }

  private static List<Embedding> data(JsonParser p, String body) throws IOException {
    List<Embedding> out = new ArrayList<>();
    int i = 0;
    for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken(), i++) {
      if (t != JsonToken.START_OBJECT) {
        throw new IOException("data[" + i + "] is not an object");
      }
      Integer index = null;
      JsonNode vector = null;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken v = p.nextToken();
        if ("index".equals(field) && v == JsonToken.VALUE_NUMBER_INT
            && p.getNumberType() == JsonParser.NumberType.INT) {
          index = p.getIntValue();
        } else if ("embedding".equals(field) && v == JsonToken.START_ARRAY) {
          int start = (int) p.currentTokenLocation().getCharOffset();
          p.skipChildren();
          int end = (int) p.currentLocation().getCharOffset();
          vector = NODES.rawValueNode(new RawValue(body.substring(start, end)));
        } else if ("embedding".equals(field) && v == JsonToken.VALUE_STRING) {
          vector = TextNode.valueOf(p.getText());
        } else {
          p.skipChildren();
        }
      }
      if (index == null) {
        throw new IOException("data[" + i + "] has no integer index");
      }
      if (vector == null) {
        throw new IOException("data[" + i + "] has no embedding (an array of numbers or a base64 string)");
      }
      out.add(new Embedding(index, vector));
    }
    return out;
  }

  private static <T> @Nullable T skip(JsonParser p, @Nullable T value) throws IOException {
    p.skipChildren();
    return value;
  }

  /** Whether the body is an error object ({@code {"error": ...}}) rather than an answer. */
  public static boolean isError(String body) {
    try {
      JsonNode root = Json.mapper().readTree(body);
      return root != null && root.hasNonNull("error") && !root.has("data");
    } catch (IOException e) {
      return false;
    }
  }

  /** How many vectors a job's {@code input} asks for: one per string or token-id array, one for a single input. */
  public static int expectedVectors(JsonNode input) {
    if (input == null || !input.isArray() || input.isEmpty()) {
      return 1;
    }
    JsonNode first = input.get(0);
    return first.isTextual() || first.isArray() ? input.size() : 1;
  }

  private static @Nullable Usage usage(@Nullable JsonNode u) {
    if (u == null || !u.isObject()) {
      return null;
    }
    long prompt = u.path("prompt_tokens").asLong(0);
    long total = u.has("total_tokens") ? u.path("total_tokens").asLong(prompt) : prompt;
    return new Usage(prompt, 0, total);
  }
}
