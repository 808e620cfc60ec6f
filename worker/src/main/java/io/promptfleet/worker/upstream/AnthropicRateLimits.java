package io.promptfleet.worker.upstream;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.TreeMap;

/**
 * Anthropic's {@code anthropic-ratelimit-*} response headers in the {@code x-ratelimit-*} terms the dispatcher reads
 * (see {@code KeyFeedback}): {@code -requests-remaining} becomes {@code x-ratelimit-remaining-requests}; {@code
 * -tokens-remaining} (Anthropic's most restrictive token limit in effect) becomes {@code
 * x-ratelimit-remaining-tokens}, or, without it, the smaller of {@code -input-tokens-remaining} and {@code
 * -output-tokens-remaining}; the RFC 3339 reset instants become OpenAI-style durations from the response time
 * ({@code "1500ms"}; a reset already past is {@code "0ms"}). Stateless.
 */
final class AnthropicRateLimits {
  static final String PREFIX = "anthropic-ratelimit-";

  private AnthropicRateLimits() {}

  /**
   * @param anthropic the {@code anthropic-ratelimit-*} headers by lower-case name
   * @param now       when the response arrived
   * @return the equivalent {@code x-ratelimit-*} headers (empty when none applies)
   */
  static Map<String, String> normalise(Map<String, String> anthropic, Instant now) {
    Map<String, String> out = new TreeMap<>();
    String requests = anthropic.get(PREFIX + "requests-remaining");
    if (requests != null) {
      out.put("x-ratelimit-remaining-requests", requests.trim());
      reset(anthropic.get(PREFIX + "requests-reset"), now, "x-ratelimit-reset-requests", out);
    }
    String tokens = anthropic.get(PREFIX + "tokens-remaining");
    String tokensReset = anthropic.get(PREFIX + "tokens-reset");
    if (tokens == null) {
      String in = anthropic.get(PREFIX + "input-tokens-remaining");
      String outTokens = anthropic.get(PREFIX + "output-tokens-remaining");
      boolean inSmaller = outTokens == null || (in != null && parse(in) <= parse(outTokens));
      tokens = inSmaller ? in : outTokens;
      tokensReset = anthropic.get(PREFIX + (inSmaller ? "input" : "output") + "-tokens-reset");
    }
    if (tokens != null) {
      out.put("x-ratelimit-remaining-tokens", tokens.trim());
      reset(tokensReset, now, "x-ratelimit-reset-tokens", out);
    }
    return out;
  }

  private static void reset(String rfc3339, Instant now, String name, Map<String, String> out) {
    if (rfc3339 == null) {
      return;
    }
    try {
      long ms = Duration.between(now, OffsetDateTime.parse(rfc3339.trim()).toInstant()).toMillis();
      out.put(name, Math.max(0, ms) + "ms");
    } catch (DateTimeParseException e) {
      // not a time: the dispatcher falls back to its rate window, as for a missing reset
    }
  }

  private static double parse(String n) {
    try {
      return Double.parseDouble(n.trim());
    } catch (NumberFormatException e) {
      return Double.MAX_VALUE;
    }
  }
}
