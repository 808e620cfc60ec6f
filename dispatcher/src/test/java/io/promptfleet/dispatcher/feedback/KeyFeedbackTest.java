package io.promptfleet.dispatcher.feedback;

import static io.promptfleet.dispatcher.testing.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.testing.Fixtures;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KeyFeedbackTest {
  private static final FleetConfig CONFIG = Fixtures.config(Fixtures.TWO_KEYS + """
      dispatcher: {cooldown_default_ms: 1000, cooldown_cap_ms: 10000, key_disabled_ms: 900000, rate_window_ms: 60000}
      """);

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final KeyPool keys = new KeyPool(CONFIG.keys(), 60_000);
  private double jitter = 0.5;
  private final KeyFeedback feedback = new KeyFeedback(CONFIG, keys, () -> jitter, new DispatcherMetrics(registry));

  private double keyEvents(String key, String event) {
    var c = registry.find("promptfleet.key.events").tag("key", key).tag("event", event).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void shouldCoolAKeyDownForTheRetryAfterItWasToldPlusJitter() {
    feedback.released(Fixtures.rateLimited("l", "k1", 2_000L, null), T0, T0);

    assertThat(keys.cooldownUntil("k1")).as("2 s plus 0.5 x 20 %% of it").isEqualTo(T0 + 2_200);
    assertThat(keys.choose(List.of("k1"), null, 1, T0 + 2_199)).isEmpty();
    assertThat(keys.choose(List.of("k1"), null, 1, T0 + 2_200)).contains("k1");
    assertThat(keyEvents("k1", "cooldown")).isEqualTo(1);
  }

  @Test
  void shouldReadRetryAfterFromTheHeadersInMillisecondsOrSeconds() {
    jitter = 0;
    feedback.released(Fixtures.rateLimited("l", "k1", null, Map.of("retry-after-ms", "1500")), T0, T0);
    feedback.released(Fixtures.rateLimited("l", "k2", null, Map.of("retry-after", "3")), T0, T0);

    assertThat(keys.cooldownUntil("k1")).isEqualTo(T0 + 1_500);
    assertThat(keys.cooldownUntil("k2")).isEqualTo(T0 + 3_000);
  }

  @Test
  void shouldCapTheCooldownAndUseTheDefaultWhenNoRetryAfterWasSent() {
    jitter = 0.999;
    feedback.released(Fixtures.rateLimited("l", "k1", 3_600_000L, null), T0, T0);
    jitter = 0;
    feedback.released(Fixtures.rateLimited("l", "k2", null, null), T0, T0);

    assertThat(keys.cooldownUntil("k1")).as("cooldown_cap_ms, then at most 20 %% jitter")
        .isBetween(T0 + 10_000, T0 + 12_000);
    assertThat(keys.cooldownUntil("k2")).as("cooldown_default_ms").isEqualTo(T0 + 1_000);
  }

  @Test
  void shouldDisableAKeyAfterAnAuthOrQuotaErrorAndCountItOnce() {
    feedback.released(Fixtures.released("l1", "k1", "p/first", "retry", ErrorCodes.UPSTREAM_AUTH, 401, null),
        T0, T0);
    feedback.released(Fixtures.released("l2", "k1", "p/first", "retry", ErrorCodes.UPSTREAM_AUTH, 401, null),
        T0 + 1, T0 + 1);
    feedback.released(Fixtures.released("l3", "k2", "p/first", "retry", ErrorCodes.UPSTREAM_QUOTA, 429, null),
        T0, T0);

    assertThat(keys.isDisabled("k1", T0 + 900_000)).as("the second error extends it").isTrue();
    assertThat(keys.isDisabled("k1", T0 + 900_001)).isFalse();
    assertThat(keys.isDisabled("k2", T0 + 1)).as("a quota 429 disables, it does not cool down").isTrue();
    assertThat(keys.isCoolingDown("k2", T0 + 1)).isFalse();
    assertThat(keyEvents("k1", "disabled")).isEqualTo(1);
  }

  @Test
  void shouldCapDispatchesByTheRemainingBudgetTheProviderAdvertisedUntilItsReset() {
    FleetEvent withHeaders = FleetEvent.leaseReleased("l", "j", "k1", "p/first",
        io.promptfleet.common.job.LeaseOutcome.SUCCEEDED).status(200).rateLimit(null,
        Map.of("x-ratelimit-remaining-requests", "0", "x-ratelimit-reset-requests", "1.5s",
            "x-ratelimit-reset-tokens", "1s")).by("w", null);

    feedback.released(withHeaders, T0, T0);
    feedback.released(withHeaders, T0 + 10, T0 + 10);

    assertThat(keys.choose(List.of("k1"), null, 1, T0 + 1_509)).as("until the later of the two resets").isEmpty();
    assertThat(keys.choose(List.of("k1"), null, 1, T0 + 1_510)).contains("k1");
    assertThat(keyEvents("k1", "remote_budget")).isEqualTo(2);
    assertThat(keyEvents("k1", "remote_budget_exhausted")).as("once per spell, with a WARN").isEqualTo(1);
    assertThat(keys.remoteExhaustedUntil("k1", T0 + 1_509)).isEqualTo(T0 + 1_510);
    assertThat(keys.remoteExhaustedUntil("k1", T0 + 1_510)).isZero();
  }

  @Test
  void shouldCapDispatchesByAzuresRemainingHeadersWhichComeWithoutResetTimesForTheRateWindow() {
    // Azure OpenAI sends x-ratelimit-remaining-requests/-tokens under OpenAI's names but no x-ratelimit-reset-*
    // (Azure OpenAI docs, "quota": the remaining counts of the resource's per-minute limits).
    FleetEvent azure = FleetEvent.leaseReleased("l", "j", "k1", "p/first",
        io.promptfleet.common.job.LeaseOutcome.SUCCEEDED).status(200).rateLimit(null,
        Map.of("x-ratelimit-remaining-requests", "0", "x-ratelimit-remaining-tokens", "118000")).by("w", null);

    feedback.released(azure, T0, T0);

    assertThat(keys.choose(List.of("k1"), null, 1, T0 + 59_999)).as("for the rate window").isEmpty();
    assertThat(keys.choose(List.of("k1"), null, 1, T0 + 60_000)).contains("k1");
    assertThat(keyEvents("k1", "remote_budget")).isEqualTo(1);
  }

  @Test
  void shouldRestoreOnlyWhatStillRunsWhenOldEventsAreReplayed() {
    long now = T0 + 120_000;
    feedback.released(Fixtures.rateLimited("l", "k1", 2_000L, null), T0, now);
    feedback.released(Fixtures.released("l", "k2", "p/first", "retry", ErrorCodes.UPSTREAM_AUTH, 401, null), T0,
        now);

    assertThat(keys.isCoolingDown("k1", now)).as("that cooldown ended long ago").isFalse();
    assertThat(keys.isDisabled("k2", now)).as("counted from the event's time").isTrue();
    assertThat(keys.isDisabled("k2", T0 + 900_000)).isFalse();
  }
}
