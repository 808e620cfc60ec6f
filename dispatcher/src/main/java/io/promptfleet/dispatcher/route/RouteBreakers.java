package io.promptfleet.dispatcher.route;

import io.promptfleet.common.job.LeaseOutcome;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.promptfleet.common.config.BreakerSettings;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.status.RouteStates;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One circuit breaker pair per route (Resilience4j, count-based sliding window): {@code errors} opens on the
 * failure rate (5xx, timeouts, broken streams) or the slow-call rate (time to first token), {@code rate_limited}
 * opens on the share of 429s. A route takes traffic only while both permit it; an open route sends its jobs down
 * the fallback chain, and after {@code open_ms} half-open probes decide. Every state change is logged and
 * counted ({@code promptfleet.route.breaker.transitions}); {@code promptfleet.route.breaker.state} shows it (both
 * declared in {@link DispatcherMetrics}).
 *
 * <p>Each dispatch takes a permit with {@link #tryAcquire}; the attempt's end is recorded with {@link #record},
 * or the permit is handed back with {@link #release} when the dispatch did not happen or the attempt says nothing
 * about the route. Not thread-safe: used by the dispatcher thread (Resilience4j itself is thread-safe).
 */
public final class RouteBreakers implements RouteStates {
  private static final Logger LOG = LoggerFactory.getLogger(RouteBreakers.class);

  /** How an attempt ended, for the breakers. */
  public enum Verdict { SUCCESS, ERROR, RATE_LIMITED, NEUTRAL }

  private final BreakerSettings settings;
  private final DispatcherMetrics metrics;
  private final Map<String, CircuitBreaker[]> breakers = new HashMap<>();

  private final java.time.Clock clock;

  public RouteBreakers(BreakerSettings settings, MeterRegistry registry) {
    this(settings, registry, java.time.Clock.systemUTC());
  }

  /** With the clock that times the open state (tests pass a controllable one); meters on {@code registry}. */
  public RouteBreakers(BreakerSettings settings, MeterRegistry registry, java.time.Clock clock) {
    this(settings, new DispatcherMetrics(registry), clock);
  }

  /** With the clock that times the open state, registering the breakers' meters through {@code metrics}. */
  public RouteBreakers(BreakerSettings settings, DispatcherMetrics metrics, java.time.Clock clock) {
    this.settings = settings;
    this.metrics = metrics;
    this.clock = clock;
  }

  /** Takes a permit for one attempt on {@code route}; false while the route's breaker is open. */
  public boolean tryAcquire(String route) {
    CircuitBreaker[] b = of(route);
    if (!b[0].tryAcquirePermission()) {
      return false;
    }
    if (!b[1].tryAcquirePermission()) {
      b[0].releasePermission();
      return false;
    }
    return true;
  }

  /** Hands a permit back unused. */
  public void release(String route) {
    CircuitBreaker[] b = of(route);
    b[0].releasePermission();
    b[1].releasePermission();
  }

  /** Records the end of an attempt that held a permit. */
  public void record(String route, Verdict verdict, long timeToFirstTokenMs) {
    CircuitBreaker[] b = of(route);
    long ttft = Math.max(0, timeToFirstTokenMs);
    switch (verdict) {
      case SUCCESS -> {
        b[0].onSuccess(ttft, TimeUnit.MILLISECONDS);
        b[1].onSuccess(0, TimeUnit.MILLISECONDS);
      }
      case ERROR -> {
        b[0].onError(ttft, TimeUnit.MILLISECONDS, new RouteFailure());
        b[1].onSuccess(0, TimeUnit.MILLISECONDS);
      }
      case RATE_LIMITED -> {
        b[0].releasePermission();
        b[1].onError(0, TimeUnit.MILLISECONDS, new RouteFailure());
      }
      case NEUTRAL -> release(route);
    }
  }

  /** What an attempt that ended with {@code errorCode} (null = success) says about its route. */
  public static Verdict verdictOf(LeaseOutcome outcome, String errorCode) {
    if (outcome == LeaseOutcome.SUCCEEDED) {
      return Verdict.SUCCESS;
    }
    if (errorCode == null) {
      return Verdict.NEUTRAL;
    }
    return switch (errorCode) {
      case ErrorCodes.UPSTREAM_RATE_LIMITED -> Verdict.RATE_LIMITED;
      case ErrorCodes.UPSTREAM_ERROR, ErrorCodes.TIMEOUT, ErrorCodes.STREAM_CUT, ErrorCodes.STREAM_INVALID,
          ErrorCodes.CONNECT_FAILED -> Verdict.ERROR;
      default -> Verdict.NEUTRAL; // auth, quota, rejected, cancelled: the key's or the job's business
    };
  }

  @Override
  public String stateOf(String route) {
    return state(route).name();
  }

  /** The state of the route: CLOSED, OPEN, HALF_OPEN (the worse of its two breakers). */
  public CircuitBreaker.State state(String route) {
    CircuitBreaker[] b = of(route);
    CircuitBreaker.State s0 = b[0].getState();
    CircuitBreaker.State s1 = b[1].getState();
    return s0 == CircuitBreaker.State.OPEN || s1 == CircuitBreaker.State.OPEN ? CircuitBreaker.State.OPEN
        : s0 == CircuitBreaker.State.HALF_OPEN || s1 == CircuitBreaker.State.HALF_OPEN
            ? CircuitBreaker.State.HALF_OPEN : s0;
  }

  private CircuitBreaker[] of(String route) {
    return breakers.computeIfAbsent(route, r -> {
      CircuitBreakerConfig errors = CircuitBreakerConfig.custom()
          .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
          .slidingWindowSize(settings.windowSize())
          .minimumNumberOfCalls(settings.minimumCalls())
          .failureRateThreshold(above(settings.failureRatePercent()))
          .slowCallRateThreshold(above(settings.slowCallRatePercent()))
          .slowCallDurationThreshold(Duration.ofMillis(settings.slowCallMs()))
          .waitDurationInOpenState(Duration.ofMillis(settings.openMs()))
          .permittedNumberOfCallsInHalfOpenState(settings.halfOpenCalls())
          .recordException(e -> true)
          .clock(clock)
          .build();
      CircuitBreakerConfig limited = CircuitBreakerConfig.from(errors)
          .failureRateThreshold(above(settings.rateLimitedPercent()))
          .slowCallRateThreshold(100)
          .slowCallDurationThreshold(Duration.ofDays(1))
          .build();
      CircuitBreaker[] pair = {CircuitBreaker.of(r + "#errors", errors), CircuitBreaker.of(r + "#rate_limited",
          limited)};
      for (CircuitBreaker cb : pair) {
        String trigger = cb.getName().substring(cb.getName().indexOf('#') + 1);
        cb.getEventPublisher().onStateTransition(e -> {
          var t = e.getStateTransition();
          CircuitBreaker.Metrics m = cb.getMetrics();
          String line = "route {} breaker ({}) {} -> {}: failure rate {} %, slow-call rate {} %, {} calls";
          if (t.getToState() == CircuitBreaker.State.OPEN) {
            LOG.warn(line, r, trigger, t.getFromState(), t.getToState(), m.getFailureRate(), m.getSlowCallRate(),
                m.getNumberOfBufferedCalls());
          } else {
            LOG.info(line, r, trigger, t.getFromState(), t.getToState(), m.getFailureRate(), m.getSlowCallRate(),
                m.getNumberOfBufferedCalls());
          }
          metrics.breakerTransition(r, trigger, t.getFromState().name().toLowerCase(),
              t.getToState().name().toLowerCase());
        });
      }
      metrics.breakerState(r, () -> switch (state(r)) {
        case CLOSED -> 0;
        case HALF_OPEN -> 1;
        default -> 2;
      });
      return pair;
    });
  }

  /** Resilience4j opens at a rate equal to its threshold; the triggers are "above", so nudge the threshold up. */
  private static float above(double percent) {
    return (float) Math.min(100.0, percent + 0.001);
  }

  /** The cause recorded for a failed attempt (Resilience4j records throwables). */
  private static final class RouteFailure extends RuntimeException {
    RouteFailure() {
      super("attempt failed", null, false, false);
    }
  }
}
