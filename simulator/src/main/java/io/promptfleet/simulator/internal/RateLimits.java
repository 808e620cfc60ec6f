package io.promptfleet.simulator.internal;

import io.vertx.core.MultiMap;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Synthetic {@code x-ratelimit-*} headers: a per-key one-minute window of requests and tokens against fixed
 * limits, with reset times computed as if the budget refilled evenly over the minute (as OpenAI reports); for an
 * Anthropic request the same counts as {@code anthropic-ratelimit-*} headers with RFC 3339 reset instants.
 * Thread-safe.
 */
final class RateLimits {

  private static final long WINDOW_MS = 60_000;
  private static final int MAX_KEYS = 10_000;

  private final ConcurrentHashMap<String, Window> windows = new ConcurrentHashMap<>();
  private final long limitRequests;
  private final long limitTokens;

  /** Limits per key and minute (the simulator's options). */
  RateLimits(long limitRequests, long limitTokens) {
    this.limitRequests = limitRequests;
    this.limitTokens = limitTokens;
  }

  /**
   * Counts one request of {@code key} using {@code tokens} and adds the headers.
   *
   * @param limited true for a 429: remaining requests reported as 0, reset as {@code resetOverrideMs}
   */
  void apply(MultiMap headers, String key, long tokens, long nowMs, boolean limited, long resetOverrideMs) {
    apply(headers, key, tokens, nowMs, limited, resetOverrideMs, false);
  }

  /** As {@link #apply(MultiMap, String, long, long, boolean, long)}, in Anthropic's header names when asked. */
  void apply(MultiMap headers, String key, long tokens, long nowMs, boolean limited, long resetOverrideMs,
      boolean anthropic) {
    if (windows.size() > MAX_KEYS) {
      windows.clear();
    }
    long[] used = windows.computeIfAbsent(key, k -> new Window()).add(nowMs, tokens);
    long remainingRequests = limited ? 0 : Math.max(0, limitRequests - used[0]);
    long remainingTokens = Math.max(0, limitTokens - used[1]);
    long resetRequestsMs = limited ? resetOverrideMs : ceilDiv(used[0] * WINDOW_MS, limitRequests);
    long resetTokensMs = ceilDiv(used[1] * WINDOW_MS, limitTokens);
    if (anthropic) {
      String p = "anthropic-ratelimit-";
      headers.set(p + "requests-limit", Long.toString(limitRequests))
          .set(p + "requests-remaining", Long.toString(remainingRequests))
          .set(p + "requests-reset", Instant.ofEpochMilli(nowMs + resetRequestsMs).toString())
          .set(p + "tokens-limit", Long.toString(limitTokens))
          .set(p + "tokens-remaining", Long.toString(remainingTokens))
          .set(p + "tokens-reset", Instant.ofEpochMilli(nowMs + resetTokensMs).toString());
      return;
    }
    headers.set("x-ratelimit-limit-requests", Long.toString(limitRequests))
        .set("x-ratelimit-limit-tokens", Long.toString(limitTokens))
        .set("x-ratelimit-remaining-requests", Long.toString(remainingRequests))
        .set("x-ratelimit-remaining-tokens", Long.toString(remainingTokens))
        .set("x-ratelimit-reset-requests", formatDuration(resetRequestsMs))
        .set("x-ratelimit-reset-tokens", formatDuration(resetTokensMs));
  }

  /** OpenAI's duration format: {@code 6ms}, {@code 1s}, {@code 1.5s}, {@code 6m0s}. */
  static String formatDuration(long millis) {
    if (millis < 1000) {
      return millis + "ms";
    }
    long minutes = millis / 60_000;
    long restMs = millis % 60_000;
    String seconds = restMs % 1000 == 0
        ? Long.toString(restMs / 1000)
        : stripZeros(String.format(Locale.ROOT, "%d.%03d", restMs / 1000, restMs % 1000));
    return minutes > 0 ? minutes + "m" + seconds + "s" : seconds + "s";
  }

  private static String stripZeros(String decimal) {
    int end = decimal.length();
    while (decimal.charAt(end - 1) == '0') {
      end--;
    }
    return decimal.substring(0, end);
  }

  private static long ceilDiv(long a, long b) {
    return (a + b - 1) / b;
  }

  /** Requests and tokens of one key in the current fixed minute. */
  private static final class Window {
    private boolean started;
    private long start;
    private long requests;
    private long tokens;

    synchronized long[] add(long nowMs, long tokensUsed) {
      if (!started || nowMs - start >= WINDOW_MS || nowMs < start) {
        started = true;
        start = nowMs;
        requests = 0;
        tokens = 0;
      }
      requests++;
      tokens += tokensUsed;
      return new long[] {requests, tokens};
    }
  }
}
