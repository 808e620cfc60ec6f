package io.promptfleet.dispatcher.route;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.config.BreakerSettings;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.dispatcher.route.RouteBreakers.Verdict;
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
}
