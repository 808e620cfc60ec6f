package io.promptfleet.worker.upstream;

import io.promptfleet.common.job.RetryAfter;
import java.time.Instant;
import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

/**
 * What a provider's response headers say about its limits: the {@code x-ratelimit-*} headers (lower-cased, sorted,
 * values redacted; Anthropic's {@code anthropic-ratelimit-*} headers normalised to them by {@link
 * AnthropicRateLimits} when the response has no {@code x-ratelimit-remaining-*} of its own), which the fleet event
 * carries to the dispatcher, and how long the provider asked us to wait
 * ({@code retry-after-ms} / {@code retry-after}, see {@link RetryAfter}), which delays a retry. Immutable.
 *
 * @param rateLimit    the {@code x-ratelimit-*} headers by lower-case name
 * @param retryAfterMs the wait the provider asked for, or null
 */
public record RateLimitHeaders(Map<String, String> rateLimit, Long retryAfterMs) {

  /** Before any response: nothing seen. */
  public static final RateLimitHeaders NONE = new RateLimitHeaders(Map.of(), null);

  /**
   * @param headers every response header (a Vert.x {@code MultiMap} is one)
   * @param redact  removes the key's secret from a value (providers sometimes echo it)
   * @param now     when the response arrived (an HTTP-date {@code retry-after} is counted from it)
   */
  public static RateLimitHeaders of(Iterable<Map.Entry<String, String>> headers, UnaryOperator<String> redact,
      Instant now) {
    Map<String, String> kept = new TreeMap<>();
    Map<String, String> anthropic = null;
    for (Map.Entry<String, String> e : headers) {
      String k = e.getKey().toLowerCase(Locale.ROOT);
      if (k.startsWith("x-ratelimit-") || k.startsWith("retry-after")) {
        kept.put(k, redact.apply(e.getValue()));
      } else if (k.startsWith(AnthropicRateLimits.PREFIX)) {
        (anthropic == null ? anthropic = new TreeMap<>() : anthropic).put(k, redact.apply(e.getValue()));
      }
    }
    if (anthropic != null && !kept.containsKey("x-ratelimit-remaining-requests")
        && !kept.containsKey("x-ratelimit-remaining-tokens")) {
      kept.putAll(AnthropicRateLimits.normalise(anthropic, now));
    }
    Long retryAfterMs = RetryAfter.millis(kept, now);
    kept.keySet().removeIf(k -> k.startsWith("retry-after"));
    return new RateLimitHeaders(Collections.unmodifiableMap(kept), retryAfterMs);
  }
}
