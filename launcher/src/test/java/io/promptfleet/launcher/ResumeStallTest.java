package io.promptfleet.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** When a resumed batch stops waiting for lines nobody will answer, and what it says. */
class ResumeStallTest {
  private static final long S = 1_000_000_000L;

  @Test
  void shouldStopAResumedRunWithLinesInFlightAndNoAnswerForTheWait() {
    ResumeStall stall = new ResumeStall(true, "60s", 1_000 * S);

    assertThat(stall.stalled(1_059 * S, 3)).isFalse();
    assertThat(stall.stalled(1_060 * S, 3)).isTrue();
    assertThat(stall.stalled(1_060 * S, 0)).as("nothing in flight").isFalse();
    stall.answered(1_050 * S);
    assertThat(stall.stalled(1_100 * S, 3)).as("an answer restarts the wait").isFalse();
    assertThat(stall.stalled(1_110 * S, 3)).isTrue();
  }

  @Test
  void shouldNeverStopAFreshRun() {
    ResumeStall stall = new ResumeStall(false, "60s", 1_000 * S);

    assertThat(stall.stalled(100_000 * S, 2_000)).isFalse();
  }

  @Test
  void shouldNameTheProblemSomeLinesAndWhatToDo() {
    String m = new ResumeStall(true, "5m", 0).message(
        List.of("req-9", "req-1", "req-2", "req-3", "req-4", "req-5", "req-6"), "llm.replies",
        Instant.parse("2026-12-01T06:00:00Z"));

    assertThat(m)
        .startsWith("stopped: no answer for 5m with 7 lines unanswered (req-1, req-2, req-3, req-4, req-5, ...)")
        .contains("dedupe_window_ms", "another --reply-to than llm.replies", "before 2026-12-01T06:00:00Z",
            "Re-run the same command later", "new output file (-o)", "--resume-wait")
        .contains("still waiting or running, on a busy or slow fleet (see ./promptfleet status)",
            "give --resume-wait more time on a slow fleet");
  }
}
