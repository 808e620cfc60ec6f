package io.promptfleet.dispatcher.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.config.RetrySettings;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

class BackoffProperties {

  @Property
  void shouldDrawAFullJitterDelayWithinTheDoublingCappedBound(@ForAll @LongRange(min = 1, max = 5_000) long base,
      @ForAll @LongRange(min = 0, max = 100_000) long extra, @ForAll @IntRange(min = 2, max = 60) int attempt,
      @ForAll long seed) {
    RetrySettings s = new RetrySettings(base, base + extra, 10);
    Random r = new Random(seed);
    Backoff b = new Backoff(s, r::nextDouble);
    long bound = Math.min(base + extra, base * (1L << Math.min(attempt - 2, 40)));
    assertThat(b.boundMs(attempt)).isEqualTo(bound);
    long d = b.delayMs(attempt);
    assertThat(d).isBetween(0L, bound);
  }

  @Property
  void shouldUseTheWholeRangeNotJustItsEnds(@ForAll long seed) {
    Backoff b = new Backoff(new RetrySettings(1_000L, 1_000L, 5), new Random(seed)::nextDouble);
    long below = 0;
    for (int i = 0; i < 200; i++) {
      if (b.delayMs(2) < 500) {
        below++;
      }
    }
    assertThat(below).isBetween(40L, 160L);
  }
}
