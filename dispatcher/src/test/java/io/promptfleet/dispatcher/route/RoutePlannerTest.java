package io.promptfleet.dispatcher.route;

import static io.promptfleet.dispatcher.testing.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.Priority;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.SuccessorGate;
import io.promptfleet.dispatcher.capacity.Lease;
import io.promptfleet.dispatcher.capacity.TokenEstimator;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.intake.JobIntake;
import io.promptfleet.dispatcher.intake.Pending;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
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
        spill:
          routes:
            - {provider: p, model: spill, keys: [k1], overflow: true}
            - {provider: q, model: spill-q}
        three:
          routes:
            - {provider: q, model: t0}
            - {provider: p, model: t1, keys: [k1]}
            - {provider: p, model: t2, keys: [k2]}
        three-spill:
          routes:
            - {provider: q, model: u0}
            - {provider: p, model: u1, keys: [k1], overflow: true}
            - {provider: p, model: u2, keys: [k2]}
        slowish:
          routes:
            - {provider: p, model: slowish, keys: [k1]}
            - {provider: q, model: slowish-q, max_tokens_cap: 100}
        tenant:
          routes:
            - {provider: p, model: tenant, keys: [k1, acme]}
        narrow-keys:
          routes:
            - {provider: p, model: nk, keys: [k1]}
            - {provider: q, model: nk-q}
      dispatcher:
        breaker: {window_size: 10, minimum_calls: 10, open_ms: 1000, half_open_calls: 1}
      """);
  private static final Instant NOW = Instant.ofEpochMilli(T0);

  private final ManualClock clock = new ManualClock();
  private final KeyPool keys = new KeyPool(CONFIG.keys(), 60_000);
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final DispatcherMetrics metrics = new DispatcherMetrics(registry);
  private final RouteBreakers breakers = new RouteBreakers(CONFIG, metrics, clock);
  private final RoutePlanner planner = new RoutePlanner(CONFIG, keys, breakers, new Fallbacks(metrics),
      new SuccessorGate(CONFIG.dispatcher().successors()));
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
  void shouldKeepAJobWaitingForItsFirstRouteWhileThatRouteIsMerelyBusy() {
    take(planner.plan(pending("m", "", null), NOW), "a");
    take(planner.plan(pending("m", "", null), NOW), "b");

    assertThat(planner.plan(pending("m", "", null), NOW)).as("k1 and k2 at max_concurrency: wait, q/second idle")
        .isNull();
    assertThat(fallbacks()).isZero();
  }

  @Test
  void shouldOverflowToTheNextRouteWhenABusyRouteOptsIn() {
    take(planner.plan(pending("spill", "", null), NOW), "a");

    RoutePlanner.Plan next = planner.plan(pending("spill", "", null), NOW);

    assertThat(next.route().name()).isEqualTo("q/spill-q");
    assertThat(fallbacks("spill", "p/spill", "q/spill-q", "overflow")).isEqualTo(1.0);
    assertThat(planner.fallbacks().fallbacksTo("q/spill-q")).isEqualTo(1);
    assertThat(planner.fallbacks().fallbacksFrom("p/spill")).isEqualTo(1);
  }

  @Test
  void shouldFallBackWhenEveryKeyOfTheRouteCoolsDownOrIsDisabled() {
    keys.coolDown("k1", T0 + 1_000);
    keys.disable("k2", T0 + 1_000);

    assertThat(planner.plan(pending("m", "", null), NOW).route().name()).isEqualTo("q/second");
    assertThat(fallbacks("m", "p/first", "q/second", "unavailable")).isEqualTo(1.0);
  }

  @Test
  void shouldWaitWhenOneKeyIsBusyAndTheOtherCoolsDown() {
    take(planner.plan(pending("m", "", null), NOW), "a");
    keys.coolDown("k2", T0 + 1_000);
    keys.coolDown("k1", T0 + 1_000);
    assertThat(planner.plan(pending("m", "", null), NOW).route().name()).as("both down: fall back")
        .isEqualTo("q/second");

    KeyPool fresh = new KeyPool(CONFIG.keys(), 60_000);
    RoutePlanner p = new RoutePlanner(CONFIG, fresh, breakers);
    fresh.acquire(new Lease("x", "k1", "j", "p/first", NOW.plusSeconds(60), 10, T0), T0);
    fresh.coolDown("k2", T0 + 1_000);
    assertThat(p.plan(pending("m", "", null), NOW)).as("k1 is up but full: wait for it").isNull();
  }

  @Test
  void shouldApplyThePolicyAtEveryPositionOfTheChain() {
    openBreaker("q/t0");
    take(planner.plan(pending("three", "", null), NOW), "a");
    assertThat(keys.inFlight("k1")).as("the second route took it").isEqualTo(1);

    assertThat(planner.plan(pending("three", "", null), NOW)).as("t1 busy: wait, t2 is not looked at").isNull();

    openBreaker("q/u0");
    keys.release("a", null, T0);
    take(planner.plan(pending("three-spill", "", null), NOW), "b");
    RoutePlanner.Plan third = planner.plan(pending("three-spill", "", null), NOW);
    assertThat(third.route().name()).as("u1 busy and overflowing").isEqualTo("p/u2");
    assertThat(fallbacks("three-spill", "q/u0", "p/u2", "open")).as("counted with the first route's reason")
        .isEqualTo(1.0);
  }

  @Test
  void shouldTakeTheSlowRouteWhenItsFallbackCannotServeTheJob() {
    makeSlow("p/slowish");

    assertThat(planner.plan(pending("slowish", ",\"max_tokens\":50", null), NOW).route().name())
        .as("slow with a fallback: down the chain").isEqualTo("q/slowish-q");
    assertThat(fallbacks("slowish", "p/slowish", "q/slowish-q", "slow")).isEqualTo(1.0);
    assertThat(planner.plan(pending("slowish", ",\"max_tokens\":500", null), NOW).route().name())
        .as("the fallback's cap is 100: slowness alone does not stop the job").isEqualTo("p/slowish");
  }

  @Test
  void shouldFallBackWhenTheFirstRouteCannotServeTheJob() {
    RoutePlanner.Plan plan = planner.plan(pending("narrow-keys", ",\"max_tokens\":20000", null), NOW);

    assertThat(plan.route().name()).as("k1 holds 10,000 tokens per window: never this reservation")
        .isEqualTo("q/nk-q");
    assertThat(fallbacks("narrow-keys", "p/nk", "q/nk-q", "cannot_serve")).isEqualTo(1.0);
    assertThat(planner.plan(pending("narrow-keys", ",\"max_tokens\":20", null), NOW).route().name())
        .isEqualTo("p/nk");
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
    assertThat(planner.plan(pending("capped", ",\"max_tokens\":4000", null), NOW))
        .as("q/wide is only busy: the job waits for it").isNull();
    keys.coolDown("big", T0 + 1_000);
    assertThat(planner.plan(pending("capped", ",\"max_tokens\":4000", null), NOW).route().name())
        .isEqualTo("p/narrow");
    assertThat(planner.plan(pending("capped", ",\"max_tokens\":5000", null), NOW)).as("p/narrow cannot serve it")
        .isNull();
  }

  @Test
  void shouldKeepATenantsRetryOnTheTenantsOnlyKeyOfTheRoute() {
    assertThat(planner.plan(pending("tenant", ",\"tenant\":\"acme\"", "acme"), NOW).keyId()).isEqualTo("acme");
    assertThat(planner.plan(pending("tenant", "", "k1"), NOW).keyId()).as("the shared pool has one key")
        .isEqualTo("k1");
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

  private void makeSlow(String route) {
    for (int i = 0; i < 10; i++) {
      breakers.tryAcquire(route, true);
      breakers.record(route, RouteBreakers.Verdict.SUCCESS, 5_000);
    }
    assertThat(breakers.slow(route)).isTrue();
  }

  private double fallbacks(String model, String from, String to, String reason) {
    var c = registry.find("promptfleet.route.fallbacks").tags("model", model, "from", from, "to", to, "reason", reason)
        .counter();
    return c == null ? 0 : c.count();
  }

  private double fallbacks() {
    return registry.find("promptfleet.route.fallbacks").counters().stream().mapToDouble(c -> c.count()).sum();
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

  @Test
  void shouldReserveAnEmbeddingsJobsInputOnlyAndHoldItToMaxPromptTokens() {
    Pending p = embeddings("m", "[\"hello world\", \"hi\"]");

    RoutePlanner.Plan plan = planner.plan(p, NOW);

    assertThat(plan.route().name()).isEqualTo("p/first");
    assertThat(plan.reservedTokens()).as("3 input tokens; no default_max_tokens (100) for a job without completion")
        .isEqualTo(3);
    Pending four = embeddings("tiny", "[\"hello world\", \"hi there\"]");
    assertThat(planner.whyUnservable(four.dispatch(), four.prompt()))
        .isEqualTo("the prompt has about 4 tokens, more than max_prompt_tokens 3 of model tiny");
    assertThat(planner.plan(four, NOW)).isNull();
    Pending three = embeddings("tiny", "[[1, 2], [3]]");
    assertThat(planner.plan(three, NOW).reservedTokens()).as("token-id arrays count their ids").isEqualTo(3);
  }

  private Pending embeddings(String model, String input) {
    byte[] job = ("{\"job_id\":\"e\",\"model\":\"" + model + "\",\"endpoint\":\"/v1/embeddings\",\"input\":"
        + input + "}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    Decision.Dispatch d = (Decision.Dispatch) intake.ofJob(job, NOW, NOW);
    return new Pending(new TopicPartition("t", 0), 0, Lane.NORMAL, model, d, Priority.NORMAL, T0,
        tokens.estimate(d.job()), null, null);
  }

  private String why(String model, String extra) {
    Pending p = pending(model, extra, null);
    return planner.whyUnservable(p.dispatch(), p.prompt());
  }

  @Test
  void shouldPutATenantInItsOwnPoolOnlyWhereEveryRouteOfTheChainHasKeysOfIt() {
    assertThat(planner.poolOf("private", "acme")).as("acme's key is the chain's only key").isEqualTo("acme");
    assertThat(planner.poolOf("tenant", "acme")).as("acme's key on the only route: uses only it there")
        .isEqualTo("acme");
    assertThat(planner.poolOf("m", "acme")).as("no key of acme on m: the shared keys").isEmpty();
    assertThat(planner.poolOf("m", null)).isEmpty();
    assertThat(planner.poolOf("private", null)).isEmpty();
  }
}
