package io.promptfleet.dispatcher.feedback;

import io.promptfleet.common.job.RetryAfter;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import java.time.Instant;
import java.util.Map;
import java.util.function.DoubleSupplier;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the provider said about a key, applied to the key pool:
 *
 * <ul>
 *   <li>a 429 cools the key down for the advertised {@code retry-after-ms} / {@code retry-after} (else
 *       {@code cooldown_default_ms}), capped at {@code cooldown_cap_ms}, plus up to 20 % jitter;</li>
 *   <li>an auth error (401/403) or a quota / spend-limit 429 disables the key for {@code key_disabled_ms}, with one
 *       ERROR log and a metric;</li>
 *   <li>{@code x-ratelimit-remaining-requests} / {@code -tokens} cap what is dispatched to the key until the
 *       advertised reset.</li>
 * </ul>
 *
 * Times count from the event's record time {@code atMs}, so replaying old events (a takeover) restores only what
 * still runs at {@code nowMs}.
 *
 * <p>Not thread-safe: owned by the dispatcher thread.
 */
public final class KeyFeedback {
  private static final Logger LOG = LoggerFactory.getLogger(KeyFeedback.class);
  private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|h|m|s)");

  private final FleetConfig config;
  private final KeyPool keys;
  private final DoubleSupplier random;
  private final DispatcherMetrics metrics;

  /**
   * @param random uniform in [0, 1): the cooldown's jitter
   */
  public KeyFeedback(FleetConfig config, KeyPool keys, DoubleSupplier random, DispatcherMetrics metrics) {
    this.config = config;
    this.keys = keys;
    this.random = random;
    this.metrics = metrics;
  }

  /** A {@code lease_released} event: 429 cooldown, auth/quota disable, x-ratelimit-remaining-* budgets. */
  public void released(FleetEvent e, long atMs, long nowMs) {
    String key = e.keyId();
    if (key == null || !config.keys().containsKey(key)) {
      return;
    }
    String code = e.errorCode();
    if (ErrorCodes.UPSTREAM_AUTH.equals(code) || ErrorCodes.UPSTREAM_QUOTA.equals(code)) {
      long until = atMs + config.dispatcher().keyDisabledMs();
      if (until > nowMs) {
        boolean was = keys.isDisabled(key, nowMs);
        keys.disable(key, until);
        if (!was) {
          metrics.keyEvent(key, "disabled");
          LOG.error("KEY DISABLED: key {} got {} (HTTP {}) from route {}; no jobs go to it for {} ms. Jobs other keys "
              + "can serve keep going. Check the key's secret, quota and spend limit.", key, code, e.statusCode(),
              e.route(), config.dispatcher().keyDisabledMs());
        }
      }
    } else if (ErrorCodes.UPSTREAM_RATE_LIMITED.equals(code)
        || (e.statusCode() != null && e.statusCode() == 429)) {
      coolDown(key, e.retryAfterMs() != null ? e.retryAfterMs()
          : e.rateLimit() == null ? null : RetryAfter.millis(e.rateLimit(), Instant.ofEpochMilli(atMs)), atMs, nowMs);
    }
    Map<String, String> h = e.rateLimit();
    if (h != null && !h.isEmpty()) {
      Long reqs = parseLong(h.get("x-ratelimit-remaining-requests"));
      Long toks = parseLong(h.get("x-ratelimit-remaining-tokens"));
      if (reqs != null || toks != null) {
        long window = config.dispatcher().rateWindowMs();
        long reset = Math.max(durationMs(h.get("x-ratelimit-reset-requests"), window),
            durationMs(h.get("x-ratelimit-reset-tokens"), window));
        if (atMs + reset > nowMs) {
          boolean wasExhausted = keys.remoteExhaustedUntil(key, nowMs) > 0;
          keys.remoteBudget(key, reqs, toks, atMs + reset);
          metrics.keyEvent(key, "remote_budget");
          long until = keys.remoteExhaustedUntil(key, nowMs);
          if (!wasExhausted && until > 0) {
            metrics.keyEvent(key, "remote_budget_exhausted");
            LOG.warn("key {}: the provider reports no {} left in its rate-limit window (x-ratelimit-remaining-* 0); no "
                + "jobs go to it for {} ms, until the window resets. If this recurs, the key's requests_per_minute "
                + "or tokens_per_minute is more than the provider allows it", key,
                reqs != null && reqs == 0 ? "requests" : "tokens", until - nowMs);
          }
        }
      }
    }
  }

  private void coolDown(String key, Long retryAfterMs, long atMs, long nowMs) {
    if (!config.keys().containsKey(key)) {
      return;
    }
    var d = config.dispatcher();
    long base = Math.min(d.cooldownCapMs(), retryAfterMs == null || retryAfterMs < 0 ? d.cooldownDefaultMs()
        : retryAfterMs);
    long until = atMs + base + (long) (random.getAsDouble() * base * 0.2);
    if (until > nowMs) {
      if (!keys.isCoolingDown(key, nowMs)) {
        LOG.info("key {} cools down for {} ms after a 429", key, until - nowMs);
      }
      keys.coolDown(key, until);
      metrics.keyEvent(key, "cooldown");
    }
  }


  private static Long parseLong(String s) {
    if (s == null) {
      return null;
    }
    try {
      return (long) Double.parseDouble(s.trim());
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** OpenAI-style reset durations: "1s", "6m0s", "20ms", "1h2m3.5s"; a bare number is seconds. */
  static long durationMs(String s, long fallback) {
    if (s == null || s.isBlank()) {
      return fallback;
    }
    s = s.trim();
    try {
      return (long) (Double.parseDouble(s) * 1_000);
    } catch (NumberFormatException ignored) {
      // units follow
    }
    var m = DURATION.matcher(s);
    double total = 0;
    boolean any = false;
    while (m.find()) {
      any = true;
      double v = Double.parseDouble(m.group(1));
      total += switch (m.group(2)) {
        case "ms" -> v;
        case "s" -> v * 1_000;
        case "m" -> v * 60_000;
        default -> v * 3_600_000;
      };
    }
    return any ? (long) total : fallback;
  }
}
