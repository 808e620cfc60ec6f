package io.promptfleet.dispatcher.route;

import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.status.FallbackTraffic;
import java.util.HashMap;
import java.util.Map;

/**
 * Counts the jobs that did not go to the first route of their model's chain: the
 * {@code promptfleet.route.fallbacks} counter (model, from, to, reason) and the totals per route the status and
 * the dashboard show. Names are configured route names ({@code provider/model}, {@code provider/*}), so the tags stay
 * bounded whatever models jobs ask for.
 *
 * <p>Not thread-safe: fed and read by the dispatcher thread (the status snapshot copies the totals).
 */
public final class Fallbacks implements FallbackTraffic {

  /** Why a job's first route did not take it (the metric's {@code reason} tag). */
  public enum Reason {
    /** Its errors or rate_limited breaker is open. */
    OPEN,
    /** It is slow and the job has a fallback. */
    SLOW,
    /** Every key the job may use there is disabled or cooling down after a 429. */
    UNAVAILABLE,
    /** It cannot serve the job: max_tokens_cap, max_prompt_tokens, no key of the tenant, or too large a reservation. */
    CANNOT_SERVE,
    /** It is busy and opted in to {@code overflow}. */
    OVERFLOW;

    /** The tag value. */
    public String tag() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  private final DispatcherMetrics metrics;
  private final Map<String, Long> to = new HashMap<>();
  private final Map<String, Long> from = new HashMap<>();

  /** Counting into {@code metrics} (null: totals only, for tests that build a planner alone). */
  public Fallbacks(DispatcherMetrics metrics) {
    this.metrics = metrics;
  }

  /** A job of {@code model} went to route {@code toRoute} because its first route {@code fromRoute} did not take it. */
  public void record(String model, String fromRoute, String toRoute, Reason reason) {
    if (metrics != null) {
      metrics.fallback(model, fromRoute, toRoute, reason.tag());
    }
    to.merge(toRoute, 1L, Long::sum);
    from.merge(fromRoute, 1L, Long::sum);
  }

  @Override
  public long fallbacksTo(String route) {
    return to.getOrDefault(route, 0L);
  }

  @Override
  public long fallbacksFrom(String route) {
    return from.getOrDefault(route, 0L);
  }
}
