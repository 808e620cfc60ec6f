package io.promptfleet.simulator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.MultiMap;
import org.junit.jupiter.api.Test;

class RateLimitsTest {

  @Test
  void shouldFormatDurationsLikeOpenAi() {
    assertThat(RateLimits.formatDuration(0)).isEqualTo("0ms");
    assertThat(RateLimits.formatDuration(6)).isEqualTo("6ms");
    assertThat(RateLimits.formatDuration(1000)).isEqualTo("1s");
    assertThat(RateLimits.formatDuration(1500)).isEqualTo("1.5s");
    assertThat(RateLimits.formatDuration(12_345)).isEqualTo("12.345s");
    assertThat(RateLimits.formatDuration(360_000)).isEqualTo("6m0s");
    assertThat(RateLimits.formatDuration(61_200)).isEqualTo("1m1.2s");
  }

  @Test
  void shouldCountDownRemainingRequestsAndTokensPerKeyWithinAMinute() {
    RateLimits limits = new RateLimits(10_000, 2_000_000);
    MultiMap first = MultiMap.caseInsensitiveMultiMap();
    MultiMap second = MultiMap.caseInsensitiveMultiMap();
    MultiMap otherKey = MultiMap.caseInsensitiveMultiMap();
    MultiMap nextMinute = MultiMap.caseInsensitiveMultiMap();

    limits.apply(first, "k", 100, 0, false, 0);
    limits.apply(second, "k", 100, 1_000, false, 0);
    limits.apply(otherKey, "other", 100, 1_000, false, 0);
    limits.apply(nextMinute, "k", 100, 61_000, false, 0);

    assertThat(first.get("x-ratelimit-remaining-requests")).isEqualTo("9999");
    assertThat(second.get("x-ratelimit-remaining-requests")).isEqualTo("9998");
    assertThat(second.get("x-ratelimit-remaining-tokens")).isEqualTo("1999800");
    assertThat(otherKey.get("x-ratelimit-remaining-requests")).isEqualTo("9999");
    assertThat(nextMinute.get("x-ratelimit-remaining-requests")).isEqualTo("9999");
    assertThat(second.get("x-ratelimit-reset-requests")).isEqualTo("12ms");
  }

  @Test
  void shouldReportNothingRemainingOnA429() {
    MultiMap headers = MultiMap.caseInsensitiveMultiMap();

    new RateLimits(10_000, 2_000_000).apply(headers, "k", 10, 0, true, 2_000);

    assertThat(headers.get("x-ratelimit-remaining-requests")).isEqualTo("0");
    assertThat(headers.get("x-ratelimit-reset-requests")).isEqualTo("2s");
  }

  @Test
  void shouldReportTheConfiguredLimitsAndNothingRemainingOnceTheyAreUsed() {
    RateLimits limits = new RateLimits(2, 1_000_000);
    MultiMap first = MultiMap.caseInsensitiveMultiMap();
    MultiMap third = MultiMap.caseInsensitiveMultiMap();

    limits.apply(first, "k", 10, 0, false, 0);
    limits.apply(MultiMap.caseInsensitiveMultiMap(), "k", 10, 10, false, 0);
    limits.apply(third, "k", 10, 20, false, 0);

    assertThat(first.get("x-ratelimit-limit-requests")).isEqualTo("2");
    assertThat(first.get("x-ratelimit-limit-tokens")).isEqualTo("1000000");
    assertThat(first.get("x-ratelimit-remaining-requests")).isEqualTo("1");
    assertThat(third.get("x-ratelimit-remaining-requests")).isEqualTo("0");
    assertThat(third.get("x-ratelimit-reset-requests")).as("3 requests of a 2-per-minute budget").isEqualTo("1m30s");
  }
}
