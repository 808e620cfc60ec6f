package io.promptfleet.dispatcher.route;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.promptfleet.common.config.BreakerSettings;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether one route is slow: more than {@code slow_call_rate_percent} of its last {@code window_size} first tokens
 * (of any kind: text, reasoning, tool call, refusal; the worker's {@code timeToFirstTokenMs}) took longer than
 * {@code slow_call_ms}, counted only once {@code slow_minimum_calls} attempts are in the window. Judged by its own
 * Resilience4j breaker, apart from errors and 429s, because slowness may stop a route only where the job has a
 * fallback: {@link #tryAcquire} refuses while slow only when asked for a job that has somewhere else to go. A job
 * whose chain ends at this route uses it slow or not; slowness is then only reported.
 *
 * <p>Reported on every change: one WARN log when the route becomes slow and one INFO when it is no longer (a
 * re-check that finds it still slow logs at INFO), the {@code promptfleet.route.slow} gauge, the breaker
 * transition counter with trigger {@code slow}, and the status snapshot. Every attempt that got a first token
 * counts, whether or not it held a slowness permit, so a route that nothing can stop for slowness still recovers:
 * after {@code open_ms} the next {@code half_open_calls} attempts decide again.
 *
 * <p>Not thread-safe: used by the dispatcher thread.
 */
final class SlowCalls {
  private static final Logger LOG = LoggerFactory.getLogger(SlowCalls.class);

  private final String route;
  private final BreakerSettings settings;
  private final boolean stopsSomewhere;
  private final CircuitBreaker breaker;
  /** Permits taken in the current half-open state (a closed or open breaker counts none). */
  private int held;

  /**
   * @param stopsSomewhere whether some chain has a fallback after this route (for the log line only)
   */
  SlowCalls(String route, BreakerSettings settings, boolean stopsSomewhere, Clock clock, DispatcherMetrics metrics) {
    this.route = route;
    this.settings = settings;
    this.stopsSomewhere = stopsSomewhere;
    CircuitBreakerConfig config = CircuitBreakerConfig.custom()
        .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
        .slidingWindowSize(settings.windowSize())
        .minimumNumberOfCalls(settings.slowMinimumCalls())
        .failureRateThreshold(100)
        .slowCallRateThreshold(RouteBreakers.above(settings.slowCallRatePercent()))
        .slowCallDurationThreshold(Duration.ofMillis(settings.slowCallMs()))
        .waitDurationInOpenState(Duration.ofMillis(settings.openMs()))
        .permittedNumberOfCallsInHalfOpenState(settings.halfOpenCalls())
        .clock(clock)
        .build();
    this.breaker = CircuitBreaker.of(route + "#slow", config);
    breaker.getEventPublisher().onStateTransition(e -> {
      held = 0;
      var t = e.getStateTransition();
      metrics.breakerTransition(route, "slow", t.getFromState().name().toLowerCase(),
          t.getToState().name().toLowerCase());
      log(t.getFromState(), t.getToState());
    });
  }

  /**
   * A permit for one attempt. With {@code hasFallback} false (the job has nowhere else to go) it is always given
   * and holds nothing; with it true it is refused while the route is slow (half-open: up to half_open_calls).
   */
  boolean tryAcquire(boolean hasFallback) {
    if (!hasFallback) {
      return true;
    }
    boolean halfOpen = breaker.getState() == CircuitBreaker.State.HALF_OPEN;
    if (!breaker.tryAcquirePermission()) {
      return false;
    }
    if (halfOpen || breaker.getState() == CircuitBreaker.State.HALF_OPEN) {
      held++;
    }
    return true;
  }

  /** An attempt ended without a first token, or its permit was not used: a half-open permit goes back. */
  void release() {
    if (held > 0) {
      held--;
      breaker.releasePermission();
    }
  }

  /** An attempt got its first token after {@code timeToFirstTokenMs}. */
  void record(long timeToFirstTokenMs) {
    if (breaker.getState() == CircuitBreaker.State.OPEN && breaker.tryAcquirePermission()) {
      held++; // open_ms passed: this attempt is the first of the re-check
    }
    if (held > 0) {
      held--;
    }
    breaker.onSuccess(Math.max(0, timeToFirstTokenMs), TimeUnit.MILLISECONDS);
  }

  /** Slow now (the breaker is open or re-checking after having been open). */
  boolean slow() {
    return breaker.getState() != CircuitBreaker.State.CLOSED;
  }

  /** Refusing jobs that have a fallback (open; half-open lets probes through). */
  boolean open() {
    return breaker.getState() == CircuitBreaker.State.OPEN;
  }

  CircuitBreaker.State state() {
    return breaker.getState();
  }

  private void log(CircuitBreaker.State from, CircuitBreaker.State to) {
    CircuitBreaker.Metrics m = breaker.getMetrics();
    String what = stopsSomewhere
        ? "jobs that have a fallback go down their chain for " + settings.openMs() + " ms; jobs for which it is the"
            + " last route keep using it"
        : "it is the last route of every chain it is in, so it keeps serving; this is only reported";
    if (from == CircuitBreaker.State.CLOSED && to == CircuitBreaker.State.OPEN) {
      LOG.warn("route {} is slow: {} % of the last {} first tokens took longer than {} ms (more than {} %); {}",
          route, m.getSlowCallRate(), m.getNumberOfBufferedCalls(), settings.slowCallMs(),
          settings.slowCallRatePercent(), what);
    } else if (to == CircuitBreaker.State.OPEN) {
      LOG.info("route {} is still slow: {} % of {} first tokens took longer than {} ms", route, m.getSlowCallRate(),
          m.getNumberOfBufferedCalls(), settings.slowCallMs());
    } else if (to == CircuitBreaker.State.CLOSED) {
      LOG.info("route {} is no longer slow: its last {} first tokens took at most {} ms", route,
          settings.halfOpenCalls(), settings.slowCallMs());
    } else {
      LOG.debug("route {} slowness: {} -> {}", route, from, to);
    }
  }
}
