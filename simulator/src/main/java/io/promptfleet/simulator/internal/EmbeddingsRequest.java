package io.promptfleet.simulator.internal;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@code POST /v1/embeddings} request as the simulator reads it, checked as OpenAI's embeddings API documents it
 * (https://platform.openai.com/docs/api-reference/embeddings/create): {@code input} a non-empty string, or an array
 * of at most 2,048 non-empty strings, of token ids, or of token-id arrays; {@code dimensions} 1..{@value
 * #MAX_DIMENSIONS}; {@code encoding_format} float or base64. Immutable and thread-safe.
 *
 * @param model      the requested model
 * @param inputs     one entry per vector: the text, or the token ids written as {@code "[1,2,3]"} (what seeds its
 *                   vector)
 * @param tokens     the prompt tokens: characters / 4 (rounded up, at least 1) per text, the count of token ids
 * @param dimensions the vectors' length ({@value #DEFAULT_DIMENSIONS} when not asked, text-embedding-3-small's)
 * @param base64     {@code encoding_format: base64}
 */
public record EmbeddingsRequest(String model, List<String> inputs, int tokens, int dimensions, boolean base64) {
  static final int DEFAULT_DIMENSIONS = 1536;
  /** text-embedding-3-large's length, the largest OpenAI serves. */
  static final int MAX_DIMENSIONS = 3072;
  static final int MAX_INPUTS = 2048;

  public EmbeddingsRequest {
    inputs = List.copyOf(inputs);
  }

  /** The texts of the request, for prompt directives (token-id inputs have none). */
  public String text() {
    return String.join("\n", inputs);
  }

  /**
   * Parses a request body.
   *
   * @throws InvalidRequestException with an OpenAI-style message naming the parameter
   */
  public static EmbeddingsRequest parse(String body, String defaultModel) throws InvalidRequestException {
    JsonObject json;
    try {
      json = new JsonObject(body);
    } catch (DecodeException | ClassCastException e) {
      throw new InvalidRequestException("We could not parse the JSON body of your request.", null);
    }
    Object model = json.getValue("model");
    if (model != null && !(model instanceof String)) {
      throw ChatRequest.invalidType("model", "a string", model);
    }
    List<String> inputs = new ArrayList<>();
    int tokens = inputs(json.getValue("input"), inputs);
    Object dims = json.getValue("dimensions");
    int dimensions = DEFAULT_DIMENSIONS;
    if (dims != null) {
      if (!(dims instanceof Integer d) || d < 1 || d > MAX_DIMENSIONS) {
        throw new InvalidRequestException("Invalid 'dimensions': expected an integer between 1 and "
            + MAX_DIMENSIONS + ", got " + dims + ".", "dimensions");
      }
      dimensions = d;
    }
    Object format = json.getValue("encoding_format");
    if (format != null && !"float".equals(format) && !"base64".equals(format)) {
      throw new InvalidRequestException("Invalid value for 'encoding_format': expected 'float' or 'base64', got "
          + format + ".", "encoding_format");
    }
    return new EmbeddingsRequest(model == null ? defaultModel : (String) model, inputs, tokens, dimensions,
        "base64".equals(format));
  }

  private static int inputs(Object input, List<String> out) throws InvalidRequestException {
    if (input == null) {
      throw new InvalidRequestException("Missing required parameter: 'input'.", "input");
    }
    if (input instanceof String s) {
      return text(s, "input", out);
    }
    if (!(input instanceof JsonArray array) || array.isEmpty()) {
      throw new InvalidRequestException("Invalid 'input': expected a non-empty string or array.", "input");
    }
    if (array.size() > MAX_INPUTS) {
      throw new InvalidRequestException("Invalid 'input': maximum " + MAX_INPUTS + " inputs, got " + array.size()
          + ".", "input");
    }
    if (array.getValue(0) instanceof Number) {
      out.add(tokenIds(array, "input"));
      return array.size();
    }
    int tokens = 0;
    for (int i = 0; i < array.size(); i++) {
      Object e = array.getValue(i);
      String at = "input[" + i + "]";
      if (e instanceof String s) {
        tokens += text(s, at, out);
      } else if (e instanceof JsonArray ids && !ids.isEmpty()) {
        out.add(tokenIds(ids, at));
        tokens += ids.size();
      } else {
        throw ChatRequest.invalidType(at, "a non-empty string or array of token ids", e);
      }
    }
    return tokens;
  }

  private static int text(String s, String at, List<String> out) throws InvalidRequestException {
    if (s.isEmpty()) {
      throw new InvalidRequestException("Invalid '" + at + "': empty string.", at);
    }
    out.add(s);
    return Math.max(1, (s.length() + 3) / 4);
  }

  private static String tokenIds(JsonArray ids, String at) throws InvalidRequestException {
    for (int i = 0; i < ids.size(); i++) {
      if (!(ids.getValue(i) instanceof Integer t) || t < 0) {
        throw ChatRequest.invalidType(at + "[" + i + "]", "a token id (a non-negative integer)", ids.getValue(i));
      }
    }
    return ids.encode();
  }
}
