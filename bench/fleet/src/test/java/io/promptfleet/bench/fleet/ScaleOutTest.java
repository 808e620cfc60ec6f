package io.promptfleet.bench.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.bench.fleet.FleetChecker.ReplyRecord;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScaleOutTest {
  private static ReplyRecord result(long at) {
    return new ReplyRecord(0, at, Result.terminal("j" + at, JobStatus.SUCCEEDED, null, null, 1));
  }

  @Test
  void shouldMeasureTheRateOfBurstsOverFiveSecondWindowsAfterTheWarmUp() {
    // Bursts of 16 results every 2.5 s for 60 s (6.4 jobs/s), after a warm-up of double speed.
    List<ReplyRecord> replies = new ArrayList<>();
    for (long t = 0; t < 8_000; t += 1_250) {
      for (int i = 0; i < 16; i++) {
        replies.add(result(t));
      }
    }
    for (long t = 8_000; t < 68_000; t += 2_500) {
      for (int i = 0; i < 16; i++) {
        replies.add(result(t + i));
      }
    }

    assertThat(ScaleOut.medianRate(replies, Duration.ofSeconds(30))).isEqualTo(6.4);
  }

  @Test
  void shouldReportZeroWhenTheBacklogDrainedBeforeTheWarmUpEnded() {
    assertThat(ScaleOut.medianRate(List.of(result(0), result(5_000)), Duration.ofSeconds(30))).isZero();
  }
}
