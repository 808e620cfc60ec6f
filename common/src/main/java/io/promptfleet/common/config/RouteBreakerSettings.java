package io.promptfleet.common.config;

/**
 * A route's own {@code breaker} block: each field optional, each one given overrides the same field of
 * {@code dispatcher.breaker} ({@link BreakerSettings}) for this route only, e.g. a reasoning model whose first
 * tokens take seconds gets {@code breaker: {slow_call_ms: 30000}}. Field meanings and limits are those of
 * {@link BreakerSettings}; the merged settings are validated under the route's path.
 */
public record RouteBreakerSettings(Double failureRatePercent, Long slowCallMs, Double slowCallRatePercent,
    Double rateLimitedPercent, Integer windowSize, Integer minimumCalls, Integer slowMinimumCalls, Long openMs,
    Integer halfOpenCalls) {

  /** No override: the route uses the global settings. */
  public static RouteBreakerSettings none() {
    return new RouteBreakerSettings(null, null, null, null, null, null, null, null, null);
  }

  /**
   * These overrides over {@code global}. A window set here without its minimums keeps the global minimums when they
   * fit in it, else takes the window size.
   *
   * @param at the route's breaker path, for error messages (e.g. {@code models.chat.routes[1].breaker})
   * @throws ConfigException naming {@code at} when the merged settings are invalid
   */
  public BreakerSettings over(BreakerSettings global, String at) {
    int window = windowSize != null ? windowSize : global.windowSize();
    int minimum = minimumCalls != null ? minimumCalls : Math.min(global.minimumCalls(), Math.max(1, window));
    int slowMinimum = slowMinimumCalls != null ? slowMinimumCalls
        : windowSize != null && global.slowMinimumCalls().equals(global.windowSize()) ? window
        : Math.min(global.slowMinimumCalls(), Math.max(1, window));
    double failure = pick(failureRatePercent, global.failureRatePercent());
    long slowMs = slowCallMs != null ? slowCallMs : global.slowCallMs();
    double slowRate = pick(slowCallRatePercent, global.slowCallRatePercent());
    double limited = pick(rateLimitedPercent, global.rateLimitedPercent());
    long open = openMs != null ? openMs : global.openMs();
    int halfOpen = halfOpenCalls != null ? halfOpenCalls : global.halfOpenCalls();
    BreakerSettings.check(failure, slowMs, slowRate, limited, window, minimum, slowMinimum, open, halfOpen, at);
    return new BreakerSettings(failure, slowMs, slowRate, limited, window, minimum, slowMinimum, open, halfOpen);
  }

  private static double pick(Double own, double global) {
    return own != null ? own : global;
  }
}
