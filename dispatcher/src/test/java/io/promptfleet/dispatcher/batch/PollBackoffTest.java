package io.promptfleet.dispatcher.batch;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The wait between polls of a submitted batch: doubling from the first interval to the cap, jittered ±20 %. */
class PollBackoffTest {

  @Test
  void shouldDoubleFromTheFirstIntervalUpToTheCap() {
    PollBackoff b = new PollBackoff(30_000, 300_000, () -> 0.5); // no jitter at the middle of the range
    assertThat(b.delayMs(0)).isEqualTo(30_000);
    assertThat(b.delayMs(1)).isEqualTo(60_000);
    assertThat(b.delayMs(3)).isEqualTo(240_000);
    assertThat(b.delayMs(4)).isEqualTo(300_000);
    assertThat(b.delayMs(1_000)).isEqualTo(300_000);
  }

  @Property
  void shouldStayWithinTwentyPercentOfTheUnjitteredWait(@ForAll @IntRange(min = 0, max = 100) int polls,
      @ForAll @DoubleRange(min = 0, max = 1, maxIncluded = false) double random) {
    PollBackoff b = new PollBackoff(100, 5_000, () -> random);
    double plain = Math.min(5_000, 100 * Math.pow(2, polls));
    assertThat(b.delayMs(polls)).isBetween((long) Math.floor(plain * 0.8), (long) Math.ceil(plain * 1.2));
  }
}
