package io.promptfleet.simulator.internal;

import java.nio.charset.StandardCharsets;

/**
 * Deterministic token log probabilities in OpenAI's shape:
 * {@code {"token":" ipsum","logprob":-0.123456,"bytes":[32,105,...],"top_logprobs":[{"token":...,"logprob":...,
 * "bytes":[...]}, ...]}}. The chosen token has a log probability in [-0.901, -0.001], derived from the
 * token and its position; {@code top_logprobs} lists the chosen token first, then other common tokens,
 * each 1.25 less likely than the one before.
 *
 * <p>Stateless and thread-safe.
 */
final class Logprobs {

  /** Alternative tokens of {@code top_logprobs}; more than {@link ChatRequest#MAX_TOP_LOGPROBS}, all distinct. */
  private static final String[] ALTERNATIVES = {
      " the", " a", " and", " of", " to", " in", " is", " it", " that", " for", " on", " with", " as", " was",
      " at", " by", " this", " be", " or", " from", " an", " are"};
  private static final long STEP_MICROS = 1_250_000;

  private Logprobs() {}

  /**
   * Appends the {@code logprobs} object of one streamed chunk: {@code {"content":[entry],"refusal":null}},
   * or {@code {"content":null,"refusal":[entry]}} for a refusal token.
   */
  static StringBuilder appendChunk(StringBuilder out, String token, int position, int top, boolean refusal) {
    out.append(refusal ? "{\"content\":null,\"refusal\":[" : "{\"content\":[");
    appendEntry(out, token, position, top);
    return out.append(refusal ? "]}" : "],\"refusal\":null}");
  }

  /** Appends the entry of {@code token} at {@code position} with {@code top} (0..20) top log probabilities. */
  static StringBuilder appendEntry(StringBuilder out, String token, int position, int top) {
    long micros = 1_000 + Math.floorMod(token.hashCode() * 31L + position, 900_000L);
    openToken(out, token, micros).append(",\"top_logprobs\":[");
    if (top > 0) {
      openToken(out, token, micros).append('}');
      int offset = Math.floorMod(token.hashCode(), ALTERNATIVES.length);
      int added = 1;
      for (int i = 0; added < top && i < ALTERNATIVES.length; i++) {
        String alternative = ALTERNATIVES[(offset + i) % ALTERNATIVES.length];
        if (!alternative.equals(token)) {
          openToken(out.append(','), alternative, micros + added * STEP_MICROS).append('}');
          added++;
        }
      }
    }
    return out.append("]}");
  }

  /** An object with the fields {@code token}, {@code logprob} and {@code bytes}, left open for more. */
  private static StringBuilder openToken(StringBuilder out, String token, long micros) {
    out.append("{\"token\":");
    Json.appendString(out, token).append(",\"logprob\":-").append(micros / 1_000_000).append('.');
    String fraction = Long.toString(micros % 1_000_000);
    for (int i = fraction.length(); i < 6; i++) {
      out.append('0');
    }
    out.append(fraction).append(",\"bytes\":[");
    byte[] bytes = token.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < bytes.length; i++) {
      out.append(i == 0 ? "" : ",").append(bytes[i] & 0xFF);
    }
    return out.append(']');
  }
}
