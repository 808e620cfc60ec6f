package io.promptfleet.dispatcher.route;

import io.promptfleet.common.job.LeaseOutcome;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.promptfleet.common.config.BreakerSettings;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.status.RouteStates;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The circuit breakers of every route (Resilience4j, count-based sliding windows), three per route, each judging
 * one thing: {@code errors} opens on the failure rate (5xx, timeouts, broken streams), {@code rate_limited} on the
 * share of 429s, and {@link SlowCalls} says whether the route is slow (time to first token). Errors and 429s stop
 * the route; an open route sends its jobs down the fallback chain, and after {@code open_ms} half-open probes
 * decide. Slowness stops the route only for a job that has a fallback after it ({@link #tryAcquire(String,
 * boolean)}); a job whose chain ends here uses the route slow or not, and the slowness is reported (log, the
 * {@code promptfleet.route.slow} gauge, the status). Every state change is logged and counted
 * ({@code promptfleet.route.breaker.transitions}, trigger errors, rate_limited or slow);
 * {@code promptfleet.route.breaker.state} shows whether the route takes traffic (all declared in
 * {@link DispatcherMetrics}).
 *
 * <p>Each route has its own settings: its {@code breaker} block over {@code dispatcher.breaker}; a pass-through
 * route's breakers ({@code provider/<job's model>}) take those of its {@code provider/*} route.
 *
 * <p>Each dispatch takes a permit with {@link #tryAcquire}; the attempt's end is recorded with {@link #record},
 * or the permit is handed back with {@link #release} when the dispatch did not happen or the attempt says nothing
 * about the route. Not thread-safe: used by the dispatcher thread (Resilience4j itself is thread-safe).
 */
public final class RouteBreakers implements RouteStates {
  private static final Logger LOG = LoggerFactory.getLogger(RouteBreakers.class);

  /** How an attempt ended, for the breakers. */
  public enum Verdict { SUCCESS, ERROR, RATE_LIMITED, NEUTRAL }

  /** One route's breakers. */
  private record Breakers(CircuitBreaker errors, CircuitBreaker limited, SlowCalls slowness, boolean stopsSomewhere) {}

  private final BreakerSettings global;
  private final Map<String, BreakerSettings> settingsOfRoute = new HashMap<>();
  /** Route names some chain has a fallback after; absent when built without the chains (every route may stop). */
  private final Map<String, Boolean> stopsForSlowness = new HashMap<>();
  private final boolean chainsKnown;
  private final DispatcherMetrics metrics;
  private final Map<String, Breakers> breakers = new HashMap<>();

  private final java.time.Clock clock;

  public RouteBreakers(BreakerSettings settings, MeterRegistry registry) {
    this(settings, registry, java.time.Clock.systemUTC());
  }

  /** With the clock that times the open state (tests pass a controllable one); meters on {@code registry}. */
  public RouteBreakers(BreakerSettings settings, MeterRegistry registry, java.time.Clock clock) {
    this(settings, new DispatcherMetrics(registry), clock);
  }

  /**
   * Every route with {@code settings}, registering the breakers' meters through {@code metrics}; slowness may stop
   * any route for a job that has a fallback.
   */
  public RouteBreakers(BreakerSettings settings, DispatcherMetrics metrics, java.time.Clock clock) {
    this.global = settings;
    this.metrics = metrics;
    this.clock = clock;
    this.chainsKnown = false;
  }

  /** Each configured route with its own breaker settings over {@code dispatcher.breaker}. */
  public RouteBreakers(FleetConfig config, DispatcherMetrics metrics, java.time.Clock clock) {
    this.global = config.dispatcher().breaker();
    this.metrics = metrics;
    this.clock = clock;
    this.chainsKnown = true;
    config.models().forEach((model, m) -> {
      List<RouteSettings> routes = m.routes();
      for (int i = 0; i < routes.size(); i++) {
        RouteSettings r = routes.get(i);
        settingsOfRoute.putIfAbsent(r.name(), r.breakerOver(global, "models." + model + ".routes[" + i + "]"));
        stopsForSlowness.merge(r.name(), i < routes.size() - 1, Boolean::logicalOr);
      }
    });
  }

  /** Whether an attempt may go to a route now. */
  public enum Permit {
    /** Yes; the permit is held until {@link #record} or {@link #release}. */
    GRANTED,
    /** No: its errors or rate_limited breaker is open (or out of half-open probes). */
    OPEN,
    /** No: the route is slow and the job has a fallback. */
    SLOW
  }

  /** Takes a permit for one attempt on {@code route} for a job with a fallback after it; see {@link #permit}. */
  public boolean tryAcquire(String route) {
    return permit(route, true) == Permit.GRANTED;
  }

  /** Takes a permit for one attempt on {@code route}; see {@link #permit}. */
  public boolean tryAcquire(String route, boolean hasFallback) {
    return permit(route, hasFallback) == Permit.GRANTED;
  }

  /**
   * Takes a permit for one attempt on {@code route}: refused while its errors or rate_limited breaker is open, or,
   * when {@code hasFallback} (the job could go further down its chain), while the route is slow.
   */
  public Permit permit(String route, boolean hasFallback) {
    Breakers b = of(route);
    if (!b.errors().tryAcquirePermission()) {
      return Permit.OPEN;
    }
    if (!b.limited().tryAcquirePermission()) {
      b.errors().releasePermission();
      return Permit.OPEN;
    }
    if (!b.slowness().tryAcquire(hasFallback)) {
      b.errors().releasePermission();
      b.limited().releasePermission();
      return Permit.SLOW;
    }
    return Permit.GRANTED;
  }

  /** Hands a permit back unused. */
  public void release(String route) {
    Breakers b = of(route);
    b.errors().releasePermission();
    b.limited().releasePermission();
    b.slowness().release();
  }

  /**
   * Records the end of an attempt that held a permit. {@code timeToFirstTokenMs} is the worker's time from the
   * request to the first delta of any kind; 0 or less means none arrived (such an attempt does not count for
   * slowness).
   */
  public void record(String route, Verdict verdict, long timeToFirstTokenMs) {
    Breakers b = of(route);
    switch (verdict) {
      case SUCCESS -> {
        b.errors().onSuccess(0, TimeUnit.MILLISECONDS);
        b.limited().onSuccess(0, TimeUnit.MILLISECONDS);
        b.slowness().record(timeToFirstTokenMs);
      }
      case ERROR -> {
        b.errors().onError(0, TimeUnit.MILLISECONDS, new RouteFailure());
        b.limited().onSuccess(0, TimeUnit.MILLISECONDS);
        if (timeToFirstTokenMs > 0) {
          b.slowness().record(timeToFirstTokenMs);
        } else {
          b.slowness().release();
        }
      }
      case RATE_LIMITED -> {
        b.errors().releasePermission();
        b.limited().onError(0, TimeUnit.MILLISECONDS, new RouteFailure());
        b.slowness().release();
      }
      case NEUTRAL -> release(route);
    }
  }

  /** The breaker settings {@code route} (a route name as assignments carry it) is judged by. */
  public BreakerSettings settingsOf(String route) {
    BreakerSettings s = settingsOfRoute.get(route);
    int slash = route.indexOf('/');
    if (s == null && slash > 0) {
      s = settingsOfRoute.get(route.substring(0, slash) + "/*");
    }
    return s != null ? s : global;
  }

  private boolean stopsSomewhere(String route) {
    if (!chainsKnown) {
      return true;
    }
    Boolean stops = stopsForSlowness.get(route);
    int slash = route.indexOf('/');
    if (stops == null && slash > 0) {
      stops = stopsForSlowness.get(route.substring(0, slash) + "/*");
    }
    return stops != null && stops;
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
      // the worker's own load, not the provider's: retried without charging the route (ProviderConnections)
      case ErrorCodes.CONNECT_OVERLOADED -> Verdict.NEUTRAL;
      default -> Verdict.NEUTRAL; // auth, quota, rejected, cancelled: the key's or the job's business
    };
  }

  @Override
  public String stateOf(String route) {
    return state(route).name();
  }

  /** Whether {@code route} is slow (its first tokens above the slow-call rate); see {@link SlowCalls}. */
  @Override
  public boolean slow(String route) {
    return of(route).slowness().slow();
  }

  /**
   * The state of the route as its traffic sees it: CLOSED, OPEN, HALF_OPEN, the worse of its errors and
   * rate_limited breakers, and of its slowness where some chain has a fallback after it (a route that is the last
   * of every chain it is in is never stopped for slowness: {@link #slow} reports that).
   */
  public CircuitBreaker.State state(String route) {
    Breakers b = of(route);
    CircuitBreaker.State s0 = b.errors().getState();
    CircuitBreaker.State s1 = b.limited().getState();
    CircuitBreaker.State s2 = b.stopsSomewhere() ? b.slowness().state() : CircuitBreaker.State.CLOSED;
    return s0 == CircuitBreaker.State.OPEN || s1 == CircuitBreaker.State.OPEN || s2 == CircuitBreaker.State.OPEN
        ? CircuitBreaker.State.OPEN
        : s0 == CircuitBreaker.State.HALF_OPEN || s1 == CircuitBreaker.State.HALF_OPEN
            || s2 == CircuitBreaker.State.HALF_OPEN ? CircuitBreaker.State.HALF_OPEN : CircuitBreaker.State.CLOSED;
  }

  private Breakers of(String route) {
    Breakers existing = breakers.get(route);
    if (existing != null) {
      return existing;
    }
    BreakerSettings settings = settingsOf(route);
    CircuitBreakerConfig errors = CircuitBreakerConfig.custom()
        .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
        .slidingWindowSize(settings.windowSize())
        .minimumNumberOfCalls(settings.minimumCalls())
        .failureRateThreshold(above(settings.failureRatePercent()))
        .slowCallRateThreshold(100)
        .slowCallDurationThreshold(Duration.ofDays(1))
        .waitDurationInOpenState(Duration.ofMillis(settings.openMs()))
        .permittedNumberOfCallsInHalfOpenState(settings.halfOpenCalls())
        .recordException(e -> true)
        .clock(clock)
        .build();
    CircuitBreakerConfig limited = CircuitBreakerConfig.from(errors)
        .failureRateThreshold(above(settings.rateLimitedPercent()))
        .build();
    boolean stops = stopsSomewhere(route);
    Breakers b = new Breakers(CircuitBreaker.of(route + "#errors", errors),
        CircuitBreaker.of(route + "#rate_limited", limited), new SlowCalls(route, settings, stops, clock, metrics),
        stops);
    breakers.put(route, b);
    for (CircuitBreaker cb : List.of(b.errors(), b.limited())) {
      String trigger = cb.getName().substring(cb.getName().indexOf('#') + 1);
      cb.getEventPublisher().onStateTransition(e -> {
        var t = e.getStateTransition();
        CircuitBreaker.Metrics m = cb.getMetrics();
        String line = "route {} breaker ({}) {} -> {}: failure rate {} %, {} calls";
        if (t.getToState() == CircuitBreaker.State.OPEN) {
          LOG.warn(line, route, trigger, t.getFromState(), t.getToState(), m.getFailureRate(),
              m.getNumberOfBufferedCalls());
        } else {
          LOG.info(line, route, trigger, t.getFromState(), t.getToState(), m.getFailureRate(),
              m.getNumberOfBufferedCalls());
        }
        metrics.breakerTransition(route, trigger, t.getFromState().name().toLowerCase(),
            t.getToState().name().toLowerCase());
      });
    }
    metrics.breakerState(route, () -> switch (state(route)) {
      case CLOSED -> 0;
      case HALF_OPEN -> 1;
      default -> 2;
    });
    metrics.routeSlow(route, () -> b.slowness().slow() ? 1 : 0);
    return b;
  }

  /** Resilience4j opens at a rate equal to its threshold; the triggers are "above", so nudge the threshold up. */
  static float above(double percent) {
    return (float) Math.min(100.0, percent + 0.001);
  }

  /** The cause recorded for a failed attempt (Resilience4j records throwables). */
  private static final class RouteFailure extends RuntimeException {
    RouteFailure() {
      super("attempt failed", null, false, false);
    }
  }
}
