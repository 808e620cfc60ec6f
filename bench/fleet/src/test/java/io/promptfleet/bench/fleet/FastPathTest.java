package io.promptfleet.bench.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class FastPathTest {

  @Test
  void shouldAverageTheKeysSamplesInStepsOfTimeAsAShareOfItsLimit() {
    // 2-ms samples: 0.5 s all 64 calls, 0.5 s half of them, then a last 0.25 s step with none.
    long[] samples = new long[250 + 250 + 125];
    Arrays.fill(samples, 0, 250, 64);
    Arrays.fill(samples, 250, 500, 32);

    assertThat(FastPath.timeline(samples, 500, 64)).isEqualTo("100 50 0");
  }

  @Test
  void shouldKeepAStepShorterThanTheSamplingAsOneSamplePerStep() {
    assertThat(FastPath.timeline(new long[] {4, 2}, 1, 4)).isEqualTo("100 50");
  }
}
