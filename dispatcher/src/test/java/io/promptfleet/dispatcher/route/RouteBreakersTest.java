package io.promptfleet.dispatcher.route;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.config.BreakerSettings;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.dispatcher.route.RouteBreakers.Verdict;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.testing.Fixtures;
import io.promptfleet.dispatcher.testing.LogCapture;
import io.promptfleet.dispatcher.testing.ManualClock;
import org.junit.jupiter.api.Test;

class RouteBreakersTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final RouteBreakers breakers = new RouteBreakers(BreakerSettings.defaults(), registry);

  private void calls(String route, int n, Verdict v, long ttft) {
    for (int i = 0; i < n; i++) {
      assertThat(breakers.tryAcquire(route)).isTrue();
      breakers.record(route, v, ttft);
    }
  }

  @Test
  void shouldStayClosedBelowTheRollbackTriggers() {
    calls("a", 96, Verdict.SUCCESS, 100);
    calls("a", 4, Verdict.ERROR, 0);
    assertThat(breakers.state("a")).isEqualTo(CircuitBreaker.State.CLOSED);
  }

  @Test
  void shouldOpenAboveFivePercentErrorsAndRefuseTraffic() {
    calls("a", 14, Verdict.SUCCESS, 100);
    calls("a", 6, Verdict.ERROR, 0);
    assertThat(breakers.state("a")).isEqualTo(CircuitBreaker.State.OPEN);
    assertThat(breakers.tryAcquire("a")).isFalse();
    assertThat(breakers.tryAcquire("b")).as("other routes are not affected").isTrue();
    assertThat(registry.get("promptfleet.route.breaker.transitions").tag("route", "a").tag("to", "open").counter()
        .count()).isEqualTo(1.0);
  }

  @Test
  void shouldOpenWhenP99TimeToFirstTokenIsAboveTwoSeconds() {
    calls("a", 99, Verdict.SUCCESS, 100);
    calls("a", 1, Verdict.SUCCESS, 2_500);
    assertThat(breakers.state("a")).as("1 %% slow is p99 at 2 s, not above").isEqualTo(CircuitBreaker.State.CLOSED);
    calls("a", 1, Verdict.SUCCESS, 2_500);
    assertThat(breakers.state("a")).isEqualTo(CircuitBreaker.State.OPEN);
  }

  @Test
  void shouldOpenAboveTenPercentRateLimitedButNotAtTen() {
    calls("a", 90, Verdict.SUCCESS, 100);
    calls("a", 10, Verdict.RATE_LIMITED, 0);
    assertThat(breakers.state("a")).isEqualTo(CircuitBreaker.State.CLOSED);
    calls("a", 1, Verdict.RATE_LIMITED, 0);
    assertThat(breakers.state("a")).isEqualTo(CircuitBreaker.State.OPEN);
  }

  @Test
  void shouldLetHalfOpenProbesThroughAfterTheOpenTimeAndCloseWhenTheyPass() {
    MutableClock clock = new MutableClock();
    RouteBreakers b = new RouteBreakers(new BreakerSettings(null, null, null, null, 20, 10, 1_000L, 3), registry,
        clock);
    for (int i = 0; i < 10; i++) {
      b.tryAcquire("a");
      b.record("a", Verdict.ERROR, 0);
    }
    assertThat(b.tryAcquire("a")).isFalse();
    clock.now = clock.now.plusMillis(1_001);
    for (int i = 0; i < 3; i++) {
      assertThat(b.tryAcquire("a")).as("probe %d", i).isTrue();
    }
    assertThat(b.state("a")).isEqualTo(CircuitBreaker.State.HALF_OPEN);
    assertThat(b.tryAcquire("a")).as("only half_open_calls probes").isFalse();
    for (int i = 0; i < 3; i++) {
      b.record("a", Verdict.SUCCESS, 10);
    }
    assertThat(b.state("a")).isEqualTo(CircuitBreaker.State.CLOSED);
    assertThat(registry.get("promptfleet.route.breaker.transitions").tag("to", "closed").counter().count())
        .isEqualTo(1.0);
  }

  /** A clock the test moves. */
  private static final class MutableClock extends java.time.Clock {
    java.time.Instant now = java.time.Instant.parse("2026-01-01T00:00:00Z");

    @Override
    public java.time.ZoneId getZone() {
      return java.time.ZoneOffset.UTC;
    }

    @Override
    public java.time.Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public java.time.Instant instant() {
      return now;
    }
  }

  @Test
  void shouldNotBlameTheRouteForKeyOrJobProblems() {
    calls("a", 30, Verdict.NEUTRAL, 0);
    assertThat(breakers.state("a")).isEqualTo(CircuitBreaker.State.CLOSED);
    assertThat(RouteBreakers.verdictOf(io.promptfleet.common.job.LeaseOutcome.FAILED, ErrorCodes.UPSTREAM_AUTH)).isEqualTo(Verdict.NEUTRAL);
    assertThat(RouteBreakers.verdictOf(io.promptfleet.common.job.LeaseOutcome.RETRY, ErrorCodes.UPSTREAM_ERROR)).isEqualTo(Verdict.ERROR);
    assertThat(RouteBreakers.verdictOf(io.promptfleet.common.job.LeaseOutcome.RETRY, ErrorCodes.UPSTREAM_RATE_LIMITED)).isEqualTo(Verdict.RATE_LIMITED);
    assertThat(RouteBreakers.verdictOf(io.promptfleet.common.job.LeaseOutcome.SUCCEEDED, null)).isEqualTo(Verdict.SUCCESS);
  }

  @Test
  void shouldNotBlameTheRouteForAConnectLostToTheWorkersOwnLoadButForOneItCouldNotReach() {
    assertThat(RouteBreakers.verdictOf(io.promptfleet.common.job.LeaseOutcome.RETRY, ErrorCodes.CONNECT_OVERLOADED))
        .as("connect_overloaded: the worker's load (ProviderConnections)").isEqualTo(Verdict.NEUTRAL);
    assertThat(RouteBreakers.verdictOf(io.promptfleet.common.job.LeaseOutcome.RETRY, ErrorCodes.CONNECT_FAILED))
        .isEqualTo(Verdict.ERROR);
  }

  // ------------------------------------------------------------------ slowness and per-route settings

  private static final FleetConfig CHAINS = Fixtures.config("""
      providers:
        p: {base_url: "http://127.0.0.1:1/v1"}
      keys:
        k: {provider: p, secret_env: E}
      models:
        alone:
          routes:
            - {provider: p, model: alone}
        chained:
          routes:
            - {provider: p, model: first}
            - {provider: p, model: last}
        thinker:
          routes:
            - {provider: p, model: thinker, breaker: {slow_call_ms: 30000, open_ms: 5000}}
            - {provider: p, model: last}
      dispatcher:
        breaker: {open_ms: 1000}
      """);

  private final ManualClock clock = new ManualClock();
  private final RouteBreakers routes = new RouteBreakers(CHAINS, new DispatcherMetrics(registry), clock);

  private void on(String route, int n, boolean hasFallback, Verdict v, long ttft) {
    for (int i = 0; i < n; i++) {
      assertThat(routes.tryAcquire(route, hasFallback)).as("call %d on %s", i, route).isTrue();
      routes.record(route, v, ttft);
    }
  }

  private double slowGauge(String route) {
    return registry.get("promptfleet.route.slow").tag("route", route).gauge().value();
  }

  @Test
  void shouldNeverOpenOnAColdStartBurstOfAHealthyUpstream() {
    on("p/first", 1, true, Verdict.SUCCESS, 2_500);
    on("p/first", 19, true, Verdict.SUCCESS, 15);
    assertThat(routes.state("p/first")).as("1 slow of 20 was 5 %% > 1 %%: opened before").isEqualTo(
        CircuitBreaker.State.CLOSED);
    assertThat(routes.slow("p/first")).isFalse();

    on("p/first", 5, true, Verdict.SUCCESS, 2_500);
    on("p/first", 74, true, Verdict.SUCCESS, 15);
    assertThat(routes.state("p/first")).as("99 calls: below slow_minimum_calls (the window, 100)")
        .isEqualTo(CircuitBreaker.State.CLOSED);
  }

  @Test
  void shouldReportButNeverStopASlowRouteWithoutFallback() {
    try (LogCapture logs = new LogCapture()) {
      on("p/alone", 90, false, Verdict.SUCCESS, 20);
      on("p/alone", 10, false, Verdict.SUCCESS, 3_000);
      on("p/alone", 50, false, Verdict.SUCCESS, 3_000);

      assertThat(routes.slow("p/alone")).isTrue();
      assertThat(routes.state("p/alone")).as("the traffic state: it takes traffic").isEqualTo(
          CircuitBreaker.State.CLOSED);
      assertThat(routes.stateOf("p/alone")).isEqualTo("CLOSED");
      assertThat(slowGauge("p/alone")).isEqualTo(1.0);
      assertThat(registry.get("promptfleet.route.breaker.state").tag("route", "p/alone").gauge().value()).isZero();
      assertThat(logs.containing("route p/alone is slow")).as("one WARN per transition").hasSize(1);
      assertThat(logs.containing("it is the last route of every chain it is in")).hasSize(1);
    }
  }

  @Test
  void shouldStillStopARouteWithoutFallbackOnErrors() {
    on("p/alone", 14, false, Verdict.SUCCESS, 20);
    on("p/alone", 6, false, Verdict.ERROR, 0);

    assertThat(routes.tryAcquire("p/alone", false)).isFalse();
    assertThat(routes.permit("p/alone", false)).isEqualTo(RouteBreakers.Permit.OPEN);
  }

  @Test
  void shouldStopASlowRouteForJobsThatHaveAFallbackOnly() {
    on("p/first", 100, true, Verdict.SUCCESS, 3_000);

    assertThat(routes.slow("p/first")).isTrue();
    assertThat(routes.state("p/first")).isEqualTo(CircuitBreaker.State.OPEN);
    assertThat(routes.permit("p/first", true)).isEqualTo(RouteBreakers.Permit.SLOW);
    assertThat(routes.permit("p/first", false)).as("a job with nowhere else to go").isEqualTo(
        RouteBreakers.Permit.GRANTED);
    routes.release("p/first");
    assertThat(registry.get("promptfleet.route.breaker.transitions").tag("route", "p/first").tag("trigger", "slow")
        .tag("to", "open").counter().count()).isEqualTo(1.0);
  }

  @Test
  void shouldRecoverFromSlownessOnTheTrafficOfJobsWithoutFallback() {
    on("p/alone", 100, false, Verdict.SUCCESS, 3_000);
    assertThat(routes.slow("p/alone")).isTrue();

    clock.advance(1_001);
    on("p/alone", 5, false, Verdict.SUCCESS, 20);

    assertThat(routes.slow("p/alone")).as("open_ms passed; half_open_calls fast first tokens").isFalse();
    assertThat(slowGauge("p/alone")).isZero();
  }

  @Test
  void shouldJudgeEachRouteByItsOwnBreakerSettings() {
    on("p/thinker", 100, true, Verdict.SUCCESS, 8_000);
    on("p/first", 100, true, Verdict.SUCCESS, 8_000);

    assertThat(routes.slow("p/thinker")).as("slow_call_ms 30000 on this route").isFalse();
    assertThat(routes.slow("p/first")).isTrue();
    assertThat(routes.settingsOf("p/thinker").openMs()).isEqualTo(5_000);
    assertThat(routes.settingsOf("p/thinker").failureRatePercent()).as("the rest from dispatcher.breaker")
        .isEqualTo(5.0);
    assertThat(routes.settingsOf("p/first").slowCallMs()).isEqualTo(2_000);
  }

  @Test
  void shouldNotCountAnAttemptWithoutFirstTokenAsFastOrSlow() {
    on("p/first", 99, true, Verdict.SUCCESS, 3_000);
    on("p/first", 1, true, Verdict.ERROR, 0);

    assertThat(routes.slow("p/first")).as("99 calls with a first token: below the minimum").isFalse();
  }
}
