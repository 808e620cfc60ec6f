package io.promptfleet.dispatcher.route;

import static io.promptfleet.dispatcher.testing.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.Priority;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.Lease;
import io.promptfleet.dispatcher.capacity.TokenEstimator;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.intake.JobIntake;
import io.promptfleet.dispatcher.intake.Pending;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import io.promptfleet.dispatcher.testing.Fixtures;
import io.promptfleet.dispatcher.testing.ManualClock;
import java.time.Instant;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class RoutePlannerTest {
  private static final FleetConfig CONFIG = Fixtures.config("""
      providers:
        p: {base_url: "http://127.0.0.1:1/v1"}
        q: {base_url: "http://127.0.0.1:2/v1"}
      keys:
        k1: {provider: p, secret_env: E1, max_concurrency: 1, tokens_per_minute: 10000}
        k2: {provider: p, secret_env: E2, max_concurrency: 1, tokens_per_minute: 10000}
        big: {provider: q, secret_env: E3, max_concurrency: 1, tokens_per_minute: 100000}
        acme: {provider: p, secret_env: E4, tenant: acme}
      models:
        m:
          routes:
            - {provider: p, model: first, keys: [k1, k2], default_max_tokens: 100, max_tokens_cap: 4000}
            - {provider: q, model: second, default_max_tokens: 200}
        tiny:
          routes:
            - {provider: p, model: tiny, keys: [k1], max_prompt_tokens: 3}
        private:
          routes:
            - {provider: p, model: private, keys: [acme]}
        capped:
          routes:
            - {provider: q, model: wide, max_tokens_cap: 100000}
            - {provider: p, model: narrow, keys: [k1], max_tokens_cap: 4000}
        small:
          routes:
            - {provider: p, model: small, keys: [k1]}
      dispatcher:
        breaker: {window_size: 10, minimum_calls: 10, open_ms: 1000, half_open_calls: 1}
      """);
  private static final Instant NOW = Instant.ofEpochMilli(T0);

  private final ManualClock clock = new ManualClock();
  private final KeyPool keys = new KeyPool(CONFIG.keys(), 60_000);
  private final RouteBreakers breakers = new RouteBreakers(CONFIG.dispatcher().breaker(), new SimpleMeterRegistry(),
      clock);
  private final RoutePlanner planner = new RoutePlanner(CONFIG, keys, breakers);
  private final TokenEstimator tokens = new TokenEstimator();
  private final JobIntake intake = new JobIntake(CONFIG);

  private Pending pending(String model, String extra, String lastKey) {
    Decision.Dispatch d = (Decision.Dispatch) intake.ofJob(Fixtures.job("j", model, extra), NOW, NOW);
    return new Pending(new TopicPartition("t", 0), 0, Lane.NORMAL, model, d, Priority.NORMAL, T0,
        tokens.estimate(d.job()), null, lastKey);
  }

  private void take(RoutePlanner.Plan plan, String leaseId) {
    keys.acquire(new Lease(leaseId, plan.keyId(), "j", plan.route().name(), plan.deadline(), plan.reservedTokens(),
        T0), T0);
  }

  private void openBreaker(String route) {
    for (int i = 0; i < 10; i++) {
      breakers.tryAcquire(route);
      breakers.record(route, RouteBreakers.Verdict.ERROR, 0);
    }
    assertThat(breakers.state(route)).isEqualTo(CircuitBreaker.State.OPEN);
  }

  @Test
  void shouldReserveThePromptEstimateOnTheRoutePlusTheCompletionLimit() {
    Pending p = pending("m", "", null);

    RoutePlanner.Plan plan = planner.plan(p, NOW);

    assertThat(plan.route().name()).isEqualTo("p/first");
    assertThat(plan.reservedTokens()).isEqualTo(p.prompt().forRoute(CONFIG.models().get("m").routes().get(0)) + 100);
    assertThat(plan.deadline()).as("now plus default_job_ttl_ms").isEqualTo(NOW.plusMillis(3_600_000));
  }

  @Test
  void shouldGoDownTheFallbackChainWhenTheRoutesKeysAreFull() {
    take(planner.plan(pending("m", "", null), NOW), "a");
    take(planner.plan(pending("m", "", null), NOW), "b");

    RoutePlanner.Plan third = planner.plan(pending("m", "", null), NOW);

    assertThat(third.route().name()).isEqualTo("q/second");
    assertThat(third.keyId()).isEqualTo("big");
    take(third, "c");
    assertThat(planner.plan(pending("m", "", null), NOW)).as("every key of the chain is full").isNull();
  }

  @Test
  void shouldGoDownTheFallbackChainWhileTheFirstRoutesBreakerIsOpen() {
    openBreaker("p/first");

    assertThat(planner.plan(pending("m", "", null), NOW).route().name()).isEqualTo("q/second");
  }

  @Test
  void shouldNotFallBackToARouteWhoseCapTheJobsLimitExceeds() {
    take(planner.plan(pending("capped", ",\"max_tokens\":5000", null), NOW), "a");

    assertThat(planner.plan(pending("capped", ",\"max_tokens\":5000", null), NOW)).isNull();
    assertThat(planner.plan(pending("capped", ",\"max_tokens\":4000", null), NOW).route().name())
        .isEqualTo("p/narrow");
  }

  @Test
  void shouldPreferAnotherKeyThanTheOneARetryFailedOnWhenItHasRoom() {
    assertThat(planner.plan(pending("m", "", "k1"), NOW).keyId()).isEqualTo("k2");
    assertThat(planner.plan(pending("m", "", "k2"), NOW).keyId()).isEqualTo("k1");
    keys.coolDown("k1", T0 + 1_000);
    assertThat(planner.plan(pending("m", "", "k2"), NOW).keyId()).as("the same key when no other has room")
        .isEqualTo("k2");
  }

  @Test
  void shouldHandTheHalfOpenProbeBackWhenNoKeyOfTheRouteHasRoom() {
    openBreaker("p/first");
    clock.advance(1_001);
    keys.coolDown("k1", T0 + 10_000);
    keys.coolDown("k2", T0 + 10_000);

    RoutePlanner.Plan plan = planner.plan(pending("m", "", null), NOW);

    assertThat(plan.route().name()).isEqualTo("q/second");
    assertThat(breakers.tryAcquire("p/first")).as("the one probe permit was handed back").isTrue();
  }

  @Test
  void shouldSayWhyNoRouteCouldEverServeAJob() {
    Pending ok = pending("m", "", null);

    assertThat(planner.whyUnservable(ok.dispatch(), ok.prompt())).isNull();
    assertThat(why("private", "")).isEqualTo("no key serves model private");
    assertThat(why("private", ",\"tenant\":\"acme\"")).as("acme's own key").isNull();
    assertThat(why("small", ",\"max_tokens\":20000")).startsWith("the prompt (about ")
        .endsWith("more than any key of model small may use per rate window");
    assertThat(why("tiny", "")).startsWith("the prompt has about ")
        .endsWith("tokens, more than max_prompt_tokens 3 of model tiny");
  }

  private String why(String model, String extra) {
    Pending p = pending(model, extra, null);
    return planner.whyUnservable(p.dispatch(), p.prompt());
  }
}
