package io.promptfleet.dispatcher.intake;

import static io.promptfleet.dispatcher.intake.JobIdWindow.Verdict.DUPLICATE;
import static io.promptfleet.dispatcher.intake.JobIdWindow.Verdict.NEW;
import static io.promptfleet.dispatcher.intake.JobIdWindow.Verdict.SAME_RECORD;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class JobIdWindowTest {
  private static final long HOUR = 3_600_000;
  private static final long P1 = JobIdWindow.position("llm.jobs.normal", 0, 41);
  private static final long P2 = JobIdWindow.position("llm.jobs.normal", 0, 42);

  @Test
  void shouldTellASecondRecordOfAnIdFromTheSameRecordReadAgain() {
    JobIdWindow w = new JobIdWindow(HOUR);

    assertThat(w.offer(null, "job-1", P1, 1_000)).isEqualTo(NEW);
    assertThat(w.offer(null, "job-1", P1, 2_000)).as("re-read after a rewind").isEqualTo(SAME_RECORD);
    assertThat(w.offer(null, "job-1", P2, 3_000)).as("produced twice").isEqualTo(DUPLICATE);
    assertThat(w.offer(null, "job-1", JobIdWindow.position("llm.jobs.high", 0, 41), 3_000))
        .as("same offset, another topic").isEqualTo(DUPLICATE);
    assertThat(w.offer(null, "job-2", P2, 3_000)).isEqualTo(NEW);
    assertThat(w.size()).isEqualTo(2);
  }

  @Test
  void shouldKeepTenantsApart() {
    JobIdWindow w = new JobIdWindow(HOUR);

    assertThat(w.offer("acme", "job-1", P1, 1_000)).isEqualTo(NEW);
    assertThat(w.offer("globex", "job-1", P2, 1_000)).isEqualTo(NEW);
    assertThat(w.offer(null, "job-1", P2 + 1, 1_000)).as("the shared topics are a namespace too").isEqualTo(NEW);
    assertThat(w.offer("acme", "job-1", P2 + 2, 1_000)).isEqualTo(DUPLICATE);
    assertThat(w.offer("acm", "ejob-1", P2 + 3, 1_000)).as("the tenant and id are separated").isEqualTo(NEW);
  }

  @Test
  void shouldForgetIdsOnceTheyLeaveTheWindow() {
    JobIdWindow w = new JobIdWindow(HOUR);
    w.offer(null, "old", P1, 0);

    assertThat(w.offer(null, "old", P2, HOUR - 1)).as("inside the window").isEqualTo(DUPLICATE);
    assertThat(w.offer(null, "old", P2, HOUR + HOUR / 60 + 1)).as("after it: a new job").isEqualTo(NEW);
    assertThat(w.size()).isEqualTo(1);
  }

  @Test
  void shouldTreatEveryRecordOfASeededIdAsADuplicate() {
    JobIdWindow w = new JobIdWindow(HOUR);
    w.seed(null, "dispatched", 10_000, 20_000);
    w.seed(null, "long-ago", 20_000 - HOUR - 1, 20_000);

    assertThat(w.offer(null, "dispatched", P1, 20_000)).isEqualTo(DUPLICATE);
    assertThat(w.offer(null, "long-ago", P1, 20_000)).as("outside the window when seeded").isEqualTo(NEW);
  }

  @Test
  void shouldAdmitEverythingWhenOffAndForgetOnClear() {
    JobIdWindow off = new JobIdWindow(0);
    assertThat(off.offer(null, "a", P1, 1)).isEqualTo(NEW);
    assertThat(off.offer(null, "a", P2, 2)).isEqualTo(NEW);

    JobIdWindow w = new JobIdWindow(HOUR);
    w.offer(null, "a", P1, 1);
    w.clear();
    assertThat(w.offer(null, "a", P2, 2)).isEqualTo(NEW);
  }
}
