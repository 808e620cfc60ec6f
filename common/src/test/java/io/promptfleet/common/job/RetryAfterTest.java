package io.promptfleet.common.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RetryAfterTest {
  private static final Instant NOW = Instant.parse("2026-11-27T10:00:00Z");

  @Test
  void shouldPreferRetryAfterMs() {
    assertThat(RetryAfter.millis(Map.of("retry-after-ms", "1500", "retry-after", "9"), NOW)).isEqualTo(1500L);
  }

  @Test
  void shouldRoundFractionalMillisUp() {
    assertThat(RetryAfter.millis(Map.of("retry-after-ms", "20.2"), NOW)).isEqualTo(21L);
  }

  @Test
  void shouldReadDeltaSeconds() {
    assertThat(RetryAfter.millis(Map.of("retry-after", "7"), NOW)).isEqualTo(7000L);
  }

  @Test
  void shouldReadAnHttpDateRelativeToNow() {
    assertThat(RetryAfter.millis(Map.of("retry-after", "Fri, 27 Nov 2026 10:00:12 GMT"), NOW)).isEqualTo(12_000L);
  }

  @Test
  void shouldTreatAnHttpDateInThePastAsNoWait() {
    assertThat(RetryAfter.millis(Map.of("retry-after", "Fri, 27 Nov 2026 09:00:00 GMT"), NOW)).isZero();
  }

  @Test
  void shouldIgnoreGarbageAndMissingHeaders() {
    assertThat(RetryAfter.millis(Map.of("retry-after", "soon"), NOW)).isNull();
    assertThat(RetryAfter.millis(Map.of("retry-after-ms", "-5"), NOW)).isNull();
    assertThat(RetryAfter.millis(Map.of(), NOW)).isNull();
  }

  @Test
  void shouldCapAbsurdWaits() {
    assertThat(RetryAfter.millis(Map.of("retry-after", "99999999"), NOW)).isEqualTo(RetryAfter.MAX_MS);
  }
}
