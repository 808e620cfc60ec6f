package io.promptfleet.worker.upstream;

import com.fasterxml.jackson.databind.JsonNode;
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

  public EmbeddingsAnswer {
    data = List.copyOf(data);
  }

  /**
   * Reads an answer body.
   *
   * @throws IOException when the body is not JSON or not an embeddings list (no {@code data} array, an entry
   *                     without an integer {@code index} or without an array or string {@code embedding})
   */
  public static EmbeddingsAnswer parse(String body) throws IOException {
    JsonNode root = Json.mapper().readTree(body);
    if (root == null || !root.isObject()) {
      throw new IOException("not a JSON object");
    }
    JsonNode data = root.get("data");
    if (data == null || !data.isArray()) {
      throw new IOException("no data array");
    }
    List<Embedding> out = new ArrayList<>(data.size());
    for (int i = 0; i < data.size(); i++) {
      JsonNode e = data.get(i);
      JsonNode index = e.get("index");
      JsonNode vector = e.get("embedding");
      if (index == null || !index.canConvertToInt() || !index.isIntegralNumber()) {
        throw new IOException("data[" + i + "] has no integer index");
      }
      if (vector == null || !(vector.isArray() || vector.isTextual())) {
        throw new IOException("data[" + i + "] has no embedding (an array of numbers or a base64 string)");
      }
      out.add(new Embedding(index.intValue(), vector));
    }
    JsonNode model = root.get("model");
    return new EmbeddingsAnswer(out, model != null && model.isTextual() ? model.textValue() : null,
        usage(root.get("usage")));
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
