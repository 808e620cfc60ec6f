package io.promptfleet.bench.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.bench.fleet.FleetChecker.JobRecord;
import io.promptfleet.bench.fleet.FleetChecker.KeyConcurrency;
import io.promptfleet.bench.fleet.FleetChecker.Report;
import io.promptfleet.bench.fleet.FleetChecker.ReplyRecord;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class FleetCheckerTest {
  private final List<ReplyRecord> replies = new ArrayList<>();
  private long offset;

  private void chunk(String job, int attempt, long seq, String delta) {
    replies.add(new ReplyRecord(offset++, 1_000, new Chunk(job, attempt, seq, delta, null)));
  }

  private void result(String job, int attempt, JobStatus status, String content, long at) {
    replies.add(new ReplyRecord(offset++, at, new Result(job, attempt, status, content, "stop", null, null, null,
        attempt, null, null, null, null)));
  }

  private void answered(String job, int attempt, String... deltas) {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < deltas.length; i++) {
      chunk(job, attempt, i, deltas[i]);
      text.append(deltas[i]);
    }
    result(job, attempt, JobStatus.SUCCEEDED, text.toString(), 1_000);
  }

  private static List<JobRecord> jobs(String... ids) {
    return java.util.Arrays.stream(ids).map(id -> new JobRecord(id, 0)).toList();
  }

  private Report check(List<JobRecord> jobs) {
    return FleetChecker.check("t", jobs, replies, Set.of(), List.of(), -1);
  }

  @Test
  void shouldPassEveryJobAnsweredOnceWithWholeChunks() {
    answered("a", 1, "he", "llo");
    chunk("b", 1, 0, "par"); // the partial attempt of a killed worker
    answered("b", 2, "who", "le");

    Report r = check(jobs("a", "b"));

    assertThat(r.clean()).isTrue();
    assertThat(r.chunkGaps()).isEmpty();
    assertThat(r.produced()).isEqualTo(2);
    assertThat(r.results()).isEqualTo(2);
    assertThat(r.laterAttempts()).isEqualTo(1);
  }

  @Test
  void shouldCountAJobWithoutAResultAsLostUnlessItWasDeadLettered() {
    answered("a", 1, "x");
    chunk("b", 1, 0, "stream without an end");

    Report r = check(jobs("a", "b", "c"));
    Report dead = FleetChecker.check("t", jobs("a", "b", "c"), replies, Set.of("c"), List.of(), -1);

    assertThat(r.lost()).containsExactly("b", "c");
    assertThat(r.clean()).isFalse();
    assertThat(dead.lost()).containsExactly("b");
    assertThat(dead.deadLettered()).containsExactly("c");
  }

  @Test
  void shouldCountAFailedOrRejectedResultAsAnswered() {
    result("a", 5, JobStatus.FAILED, null, 1_000);
    result("b", 0, JobStatus.REJECTED, null, 1_000);

    Report r = check(jobs("a", "b"));

    assertThat(r.lost()).isEmpty();
    assertThat(r.statuses()).containsEntry(JobStatus.FAILED, 1).containsEntry(JobStatus.REJECTED, 1);
  }

  @Test
  void shouldCountASecondResultAsADuplicateEvenOfAnotherAttempt() {
    answered("a", 1, "x");
    answered("a", 2, "x");
    answered("b", 1, "y");

    Report r = check(jobs("a", "b"));

    assertThat(r.duplicated()).containsExactly("a");
    assertThat(r.results()).isEqualTo(3);
    assertThat(r.clean()).isFalse();
  }

  @Test
  void shouldFindAMissingChunkARepeatedOneAndOneAfterTheResult() {
    chunk("gap", 1, 0, "a");
    chunk("gap", 1, 2, "c");
    result("gap", 1, JobStatus.SUCCEEDED, "ac", 1_000);
    chunk("twice", 1, 0, "a");
    chunk("twice", 1, 0, "a");
    result("twice", 1, JobStatus.SUCCEEDED, "a", 1_000);
    chunk("late", 1, 0, "a");
    result("late", 1, JobStatus.SUCCEEDED, "a", 1_000);
    chunk("late", 1, 1, "b");
    chunk("tail", 1, 0, "a");
    result("tail", 1, JobStatus.SUCCEEDED, "ab", 1_000); // the last chunk never written

    Report r = check(jobs("gap", "twice", "late", "tail"));

    assertThat(r.chunkGaps()).hasSize(4).anySatisfy(g -> assertThat(g).startsWith("gap: attempt 1 has chunk 2"))
        .anySatisfy(g -> assertThat(g).startsWith("twice: chunk 0 of attempt 1 twice"))
        .anySatisfy(g -> assertThat(g).startsWith("late: chunk 1 of attempt 1 after the result"))
        .anySatisfy(g -> assertThat(g).startsWith("tail: the 1 chunks"));
    assertThat(r.clean()).as("chunk gaps are reported, not what fails the run").isTrue();
  }

  @Test
  void shouldIgnoreChunksOfAnAttemptThatDidNotWin() {
    chunk("a", 1, 0, "x");
    chunk("a", 1, 5, "gap in a dead attempt");
    answered("a", 2, "y");

    assertThat(check(jobs("a")).chunkGaps()).isEmpty();
  }

  @Test
  void shouldNameAKeyOverItsConcurrencyOnly() {
    Report r = FleetChecker.check("t", List.of(), List.of(), Set.of(), List.of(new KeyConcurrency("k1", 16, 16),
        new KeyConcurrency("k2", 17, 16)), -1);

    assertThat(r.overLimit()).extracting(KeyConcurrency::key).containsExactly("k2");
    assertThat(r.clean()).isFalse();
  }

  @Test
  void shouldMeasureTheRecoveryFromTheFirstWindowBackAtTheRate() {
    // 10 results/s before the fault at t=100 s, none for 3 s after it, then 10/s again.
    List<JobRecord> jobs = new ArrayList<>();
    LongStream.range(0, 300).filter(i -> i < 100 || i >= 130).forEach(i -> {
      String id = "j" + i;
      jobs.add(new JobRecord(id, 0));
      result(id, 1, JobStatus.SUCCEEDED, null, 90_000 + i * 100);
    });

    Report r = FleetChecker.check("t", jobs, replies, Set.of(), List.of(), 100_000);

    assertThat(r.baselinePerSecond()).isEqualTo(10.0);
    assertThat(r.firstResultAfterFaultMs()).isEqualTo(3_000);
    assertThat(r.recoverMs()).isEqualTo(3_000);
  }

  @Test
  void shouldReportNoRecoveryWhenTheRateNeverComesBack() {
    List<JobRecord> jobs = new ArrayList<>();
    LongStream.range(0, 110).forEach(i -> {
      String id = "j" + i;
      jobs.add(new JobRecord(id, 0));
      // 10/s before the fault, then 1 result every 2 s
      result(id, 1, JobStatus.SUCCEEDED, null, i < 100 ? 90_000 + i * 100 : 100_000 + (i - 100) * 2_000);
    });

    Report r = FleetChecker.check("t", jobs, replies, Set.of(), List.of(), 100_000);

    assertThat(r.firstResultAfterFaultMs()).isZero();
    assertThat(r.recoverMs()).isEqualTo(-1);
  }
}
