package io.promptfleet.common.config;

/**
 * The circuit breaker of every route, over a count-based sliding window of attempts. Defaults are the rollback
 * triggers of a model migration: more than 5 % errors, p99 time to first token above 2 s (more than 1 % of
 * calls slower than 2 s), more than 10 % of calls rate-limited.
 *
 * @param failureRatePercent     open above this share of failed attempts (default 5)
 * @param slowCallMs             an attempt whose first token took longer is slow (default 2000)
 * @param slowCallRatePercent    open above this share of slow attempts (default 1, i.e. p99 above slow_call_ms)
 * @param rateLimitedPercent     open above this share of attempts answered 429 (default 10)
 * @param windowSize             attempts in the sliding window (default 100)
 * @param minimumCalls           attempts in the window before the rates count (default 20)
 * @param openMs                 how long an open breaker stays open before half-open probes (default 30 s)
 * @param halfOpenCalls          probe attempts in half-open state (default 5)
 */
public record BreakerSettings(Double failureRatePercent, Long slowCallMs, Double slowCallRatePercent,
    Double rateLimitedPercent, Integer windowSize, Integer minimumCalls, Long openMs, Integer halfOpenCalls) {
  public BreakerSettings {
    failureRatePercent = failureRatePercent == null ? 5.0 : failureRatePercent;
    slowCallMs = slowCallMs == null ? 2_000L : slowCallMs;
    slowCallRatePercent = slowCallRatePercent == null ? 1.0 : slowCallRatePercent;
    rateLimitedPercent = rateLimitedPercent == null ? 10.0 : rateLimitedPercent;
    windowSize = windowSize == null ? 100 : windowSize;
    minimumCalls = minimumCalls == null ? 20 : minimumCalls;
    openMs = openMs == null ? 30_000L : openMs;
    halfOpenCalls = halfOpenCalls == null ? 5 : halfOpenCalls;
    ConfigException.require(failureRatePercent > 0 && failureRatePercent <= 100,
        "dispatcher.breaker.failure_rate_percent must be in (0, 100]");
    ConfigException.require(slowCallMs > 0, "dispatcher.breaker.slow_call_ms must be > 0");
    ConfigException.require(slowCallRatePercent > 0 && slowCallRatePercent <= 100,
        "dispatcher.breaker.slow_call_rate_percent must be in (0, 100]");
    ConfigException.require(rateLimitedPercent > 0 && rateLimitedPercent <= 100,
        "dispatcher.breaker.rate_limited_percent must be in (0, 100]");
    ConfigException.require(windowSize > 0, "dispatcher.breaker.window_size must be > 0");
    ConfigException.require(minimumCalls > 0, "dispatcher.breaker.minimum_calls must be > 0");
    ConfigException.require(openMs > 0, "dispatcher.breaker.open_ms must be > 0");
    ConfigException.require(halfOpenCalls > 0, "dispatcher.breaker.half_open_calls must be > 0");
  }

  public static BreakerSettings defaults() {
    return new BreakerSettings(null, null, null, null, null, null, null, null);
  }
}
