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

  @Test
  void shouldHandItsIdsToASuccessorWithTheirPositionsThroughItsJournal() {
    JobIdWindow active = new JobIdWindow(HOUR);
    active.journaling(true);
    active.offer(null, "queued", P1, 1_000); // admitted, not dispatched yet: its record is read again after a takeover
    active.seed(null, "dispatched", 500, 1_000);
    java.util.List<byte[]> records = active.journal(1);
    active.journalCommitted();

    JobIdWindow successor = new JobIdWindow(HOUR);
    records.forEach(r -> assertThat(successor.apply(r, 2_000)).isEqualTo(1));

    assertThat(successor.offer(null, "queued", P1, 2_000)).as("its own record read again").isEqualTo(SAME_RECORD);
    assertThat(successor.offer(null, "queued", P2, 2_000)).as("a second record of it").isEqualTo(DUPLICATE);
    assertThat(successor.offer(null, "dispatched", P2, 2_000)).isEqualTo(DUPLICATE);
    assertThat(successor.journal(10)).as("ids read back are not journaled again").isEmpty();
    assertThat(successor.apply(new byte[] {9, 0}, 2_000)).as("unreadable").isEqualTo(-1);
  }

  @Test
  void shouldJournalAgainWhatAnAbortedTransactionCarried() {
    JobIdWindow w = new JobIdWindow(HOUR);
    w.journaling(true);
    w.offer(null, "job-1", P1, 1_000);
    assertThat(w.journal(10)).hasSize(1);
    w.journalAborted();
    w.offer(null, "job-2", P2, 1_000);
    assertThat(w.journal(10)).as("job-1 again, with job-2").singleElement()
        .satisfies(r -> assertThat(r).hasSize(5 + 2 * 24));
    w.journalCommitted();
    assertThat(w.journal(10)).isEmpty();
  }
}
