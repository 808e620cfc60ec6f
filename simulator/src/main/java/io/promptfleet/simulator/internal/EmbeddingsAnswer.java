package io.promptfleet.simulator.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.SplittableRandom;

/**
 * The simulator's embeddings answer, in OpenAI's shape: one unit-length vector per input, the same for the same
 * input text and length on every run (seeded by a SHA-256 of the input), as float arrays or, for {@code
 * encoding_format: base64}, as base64 of little-endian float32 (what OpenAI's SDKs decode). Stateless and
 * thread-safe.
 */
public final class EmbeddingsAnswer {
  private EmbeddingsAnswer() {}

  /** The answer body for {@code request}. */
  public static String body(EmbeddingsRequest request) {
    int dims = request.dimensions();
    StringBuilder sb = new StringBuilder(64 + request.inputs().size() * (request.base64() ? dims * 2 : dims * 12));
    sb.append("{\"object\":\"list\",\"data\":[");
    for (int i = 0; i < request.inputs().size(); i++) {
      float[] v = vector(request.inputs().get(i), dims);
      sb.append(i == 0 ? "" : ",").append("{\"object\":\"embedding\",\"index\":").append(i).append(",\"embedding\":");
      if (request.base64()) {
        ByteBuffer bytes = ByteBuffer.allocate(dims * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
          bytes.putFloat(f);
        }
        sb.append('"').append(Base64.getEncoder().encodeToString(bytes.array())).append('"');
      } else {
        sb.append('[');
        for (int d = 0; d < dims; d++) {
          sb.append(d == 0 ? "" : ",").append(v[d]);
        }
        sb.append(']');
      }
      sb.append('}');
    }
    sb.append("],\"model\":");
    Json.appendString(sb, request.model());
    sb.append(",\"usage\":{\"prompt_tokens\":").append(request.tokens()).append(",\"total_tokens\":")
        .append(request.tokens()).append("}}");
    return sb.toString();
  }

  /** The unit vector of {@code input} with {@code dims} entries. */
  static float[] vector(String input, int dims) {
    SplittableRandom random = new SplittableRandom(seed(input));
    float[] v = new float[dims];
    double norm = 0;
    for (int d = 0; d < dims; d++) {
      v[d] = (float) (random.nextDouble() * 2 - 1);
      norm += (double) v[d] * v[d];
    }
    double scale = norm == 0 ? 0 : 1 / Math.sqrt(norm);
    for (int d = 0; d < dims; d++) {
      v[d] = (float) (v[d] * scale);
    }
    return v;
  }

  private static long seed(String input) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(input.getBytes(StandardCharsets.UTF_8));
      return ByteBuffer.wrap(h).getLong();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by the Java platform", e);
    }
  }
}
