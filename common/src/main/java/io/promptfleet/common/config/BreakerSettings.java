package io.promptfleet.common.config;

/**
 * The circuit breakers of a route, over a count-based sliding window of attempts: {@code dispatcher.breaker} gives
 * the defaults of every route, and a route's own {@code breaker} block ({@link RouteBreakerSettings}) overrides any
 * of them for that route. Defaults are the rollback triggers of a model migration: more than 5 % errors, p99 time to
 * first token above 2 s (more than 1 % of calls slower than 2 s), more than 10 % of calls rate-limited.
 *
 * <p>Errors and 429s count after {@code minimum_calls} attempts (20: a dead upstream stops after 20 failed calls;
 * one error in 20 is 5 %, not above). Slowness counts only over a full window ({@code slow_minimum_calls}, by
 * default {@code window_size}, 100): a p99 judged on 20 calls made one slow first token 5 %, so a cold start with a
 * single slow connection opened a healthy route; over 100 calls it takes two. A route with no fallback is never
 * stopped for slowness at all, only reported slow (see docs/DESIGN.md).
 *
 * @param failureRatePercent     open above this share of failed attempts (default 5)
 * @param slowCallMs             an attempt whose first token (of any kind) took longer is slow (default 2000)
 * @param slowCallRatePercent    slow above this share of slow attempts (default 1, i.e. p99 above slow_call_ms)
 * @param rateLimitedPercent     open above this share of attempts answered 429 (default 10)
 * @param windowSize             attempts in the sliding window (default 100)
 * @param minimumCalls           attempts in the window before the error and 429 rates count (default 20)
 * @param slowMinimumCalls       attempts in the window before the slow-call rate counts (default: window_size)
 * @param openMs                 how long an open breaker stays open before half-open probes (default 30 s)
 * @param halfOpenCalls          probe attempts in half-open state (default 5)
 */
public record BreakerSettings(Double failureRatePercent, Long slowCallMs, Double slowCallRatePercent,
    Double rateLimitedPercent, Integer windowSize, Integer minimumCalls, Integer slowMinimumCalls, Long openMs,
    Integer halfOpenCalls) {
  /** Where the global defaults live in the configuration file. */
  public static final String PATH = "dispatcher.breaker";

  public BreakerSettings {
    failureRatePercent = failureRatePercent == null ? 5.0 : failureRatePercent;
    slowCallMs = slowCallMs == null ? 2_000L : slowCallMs;
    slowCallRatePercent = slowCallRatePercent == null ? 1.0 : slowCallRatePercent;
    rateLimitedPercent = rateLimitedPercent == null ? 10.0 : rateLimitedPercent;
    windowSize = windowSize == null ? 100 : windowSize;
    minimumCalls = minimumCalls == null ? Math.min(20, windowSize) : minimumCalls;
    slowMinimumCalls = slowMinimumCalls == null ? windowSize : slowMinimumCalls;
    openMs = openMs == null ? 30_000L : openMs;
    halfOpenCalls = halfOpenCalls == null ? 5 : halfOpenCalls;
    check(failureRatePercent, slowCallMs, slowCallRatePercent, rateLimitedPercent, windowSize, minimumCalls,
        slowMinimumCalls, openMs, halfOpenCalls, PATH);
  }

  /** The settings before {@code slow_minimum_calls} existed (it defaults to the window size). */
  public BreakerSettings(Double failureRatePercent, Long slowCallMs, Double slowCallRatePercent,
      Double rateLimitedPercent, Integer windowSize, Integer minimumCalls, Long openMs, Integer halfOpenCalls) {
    this(failureRatePercent, slowCallMs, slowCallRatePercent, rateLimitedPercent, windowSize, minimumCalls, null,
        openMs, halfOpenCalls);
  }

  public static BreakerSettings defaults() {
    return new BreakerSettings(null, null, null, null, null, null, null, null, null);
  }

  /** Throws a {@link ConfigException} naming {@code at} (e.g. {@code models.chat.routes[0].breaker}). */
  static void check(double failureRatePercent, long slowCallMs, double slowCallRatePercent,
      double rateLimitedPercent, int windowSize, int minimumCalls, int slowMinimumCalls, long openMs,
      int halfOpenCalls, String at) {
    ConfigException.require(failureRatePercent > 0 && failureRatePercent <= 100,
        at + ".failure_rate_percent must be in (0, 100] (got " + failureRatePercent + ")");
    ConfigException.require(slowCallMs > 0, at + ".slow_call_ms must be > 0 (got " + slowCallMs + ")");
    ConfigException.require(slowCallRatePercent > 0 && slowCallRatePercent <= 100,
        at + ".slow_call_rate_percent must be in (0, 100] (got " + slowCallRatePercent + ")");
    ConfigException.require(rateLimitedPercent > 0 && rateLimitedPercent <= 100,
        at + ".rate_limited_percent must be in (0, 100] (got " + rateLimitedPercent + ")");
    ConfigException.require(windowSize > 0, at + ".window_size must be > 0 (got " + windowSize + ")");
    ConfigException.require(minimumCalls > 0 && minimumCalls <= windowSize,
        at + ".minimum_calls must be > 0 and <= window_size " + windowSize + " (got " + minimumCalls + ")");
    ConfigException.require(slowMinimumCalls > 0 && slowMinimumCalls <= windowSize,
        at + ".slow_minimum_calls must be > 0 and <= window_size " + windowSize + " (got " + slowMinimumCalls + ")");
    ConfigException.require(openMs > 0, at + ".open_ms must be > 0 (got " + openMs + ")");
    ConfigException.require(halfOpenCalls > 0, at + ".half_open_calls must be > 0 (got " + halfOpenCalls + ")");
  }
}
