package io.promptfleet.dispatcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.TopicSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.dispatcher.intake.Inbound;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import io.promptfleet.dispatcher.intake.AllTopicsExist;
import io.promptfleet.dispatcher.intake.ReplyTopics;
import io.promptfleet.dispatcher.testing.Fixtures;
import io.promptfleet.dispatcher.testing.ManualClock;
import io.promptfleet.dispatcher.testing.RecordingSink;
import io.promptfleet.dispatcher.transaction.Outbound;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * The dispatcher's core driven as the loop owner drives it, with a manual clock and hand-made records: no Kafka.
 * Each test plays rounds (feedback, jobs, settle, write, commit) and checks what would be written.
 */
class DispatcherCoreTest {
  private static final FleetConfig CONFIG = Fixtures.config("""
      keys:
        k: {provider: p, secret_env: PF_TEST_K, max_concurrency: 2}
        k2: {provider: p, secret_env: PF_TEST_K, max_concurrency: 2}
      models:
        m:
          routes:
            - {provider: p, model: m, keys: [k]}
        n:
          routes:
            - {provider: p, model: n, keys: [k2]}
      dispatcher: {max_buffered_jobs: 12}
      """);
  private static final TopicSettings T = CONFIG.topics();

  private final ManualClock clock = new ManualClock();
  private final DispatcherCore core = new DispatcherCore(CONFIG, new SimpleMeterRegistry(), clock, () -> 0.5,
      "test", "pf-dispatcher-test");
  private final RecordingSink sink = new RecordingSink();
  private final List<String> partitionCalls = new ArrayList<>();
  private final JobPartitions partitions = new JobPartitions() {
    @Override
    public void pause(Lane lane) {
      partitionCalls.add("pause " + lane);
    }

    @Override
    public void pauseAll() {
      partitionCalls.add("pause all");
    }

    @Override
    public void resume(Lane lane) {
      partitionCalls.add("resume " + lane);
    }

    @Override
    public void resumeAll() {
      partitionCalls.add("resume all");
    }

    @Override
    public void pause(TopicPartition tp) {
      partitionCalls.add("pause " + tp);
    }

    @Override
    public void resume(TopicPartition tp) {
      partitionCalls.add("resume " + tp);
    }

    @Override
    public long position(TopicPartition tp) {
      return positions.getOrDefault(tp, -1L);
    }
  };
  private final Map<TopicPartition, Long> positions = new HashMap<>();
  /** Every reply topic exists, but those named in {@code pending} are not listed until a listing finds them. */
  private final java.util.Set<String> pending = new java.util.HashSet<>();
  private final ReplyTopics replyTopics = new ReplyTopics() {
    @Override
    public boolean listed(String topic) {
      return !pending.contains(topic);
    }

    @Override
    public boolean ready() {
      return true;
    }

    @Override
    public long ticket() {
      return 0;
    }

    @Override
    public Boolean answer(String topic, long ticket) {
      return pending.contains(topic) ? null : Boolean.TRUE;
    }
  };
  private long spillOffset;
  private long jobOffset;

  {
    core.activate("t-", replyTopics, List.of(), List.of(), clock.millis());
  }

  private Inbound job(String topic, String jobId) {
    return jobOf(topic, jobId, "m");
  }

  private Inbound jobOf(String topic, String jobId, String model) {
    return Fixtures.record(topic, jobOffset++, clock.millis(), jobId, Fixtures.job(jobId, model, ""));
  }

  /** One round as the loop owner plays it; returns what the committed transaction wrote. */
  private List<Outbound> round(List<Inbound> feedback, List<Inbound> jobs) {
    long now = clock.millis();
    feedback.forEach(r -> core.feedback(r, now));
    jobs.forEach(r -> core.job(r, now));
    core.settle(now, partitions);
    sink.reset();
    core.write(sink, now);
    if (sink.open) {
      core.committed(core.offsetsToCommit());
      for (Outbound o : sink.sent) {
        if (o.partition() != null) { // as the loop owner reports the committed spill copies
          core.spillWritten(new TopicPartition(o.topic(), o.partition()), spillOffset++);
        }
      }
    }
    return List.copyOf(sink.sent);
  }

  private static List<Assignment> assignments(List<Outbound> written) {
    return written.stream().filter(o -> o.topic().equals(T.assignments()))
        .map(o -> Json.read(o.value(), Assignment.class)).toList();
  }

  private static List<Result> results(List<Outbound> written) {
    return written.stream().filter(o -> o.topic().equals(T.defaultReplyTo()))
        .map(o -> Json.read(o.value(), Result.class)).toList();
  }

  @Test
  void shouldAssignUpToTheKeysConcurrencyAndTheNextJobWhenAWorkerReleases() {
    List<Assignment> first = assignments(round(List.of(),
        List.of(job(T.jobsNormal(), "a"), job(T.jobsNormal(), "b"), job(T.jobsNormal(), "c"))));
    assertThat(first).extracting(a -> a.job().jobId()).containsExactly("a", "b");
    assertThat(core.offsetsToCommit()).isEmpty();

    clock.advance(10);
    Inbound release = Fixtures.event(T.fleetEvents(), 0, Fixtures.released(first.get(0).leaseId(), "k", "p/m",
        "succeeded", null, 200, 12L), clock.millis());
    List<Outbound> second = round(List.of(release), List.of());

    assertThat(assignments(second)).extracting(a -> a.job().jobId()).containsExactly("c");
    core.publishStatus(clock.advance(1_000), true);
    assertThat(core.status().keys().get(0).inFlight()).isEqualTo(2);
  }

  @Test
  void shouldAnswerEveryJobOnceWhenTheRoundIsReadAgainAfterAnAbortedTransaction() {
    List<Inbound> read = List.of(job(T.jobsNormal(), "a"), job(T.jobsNormal(), "b"));
    read.forEach(r -> core.job(r, clock.millis()));
    core.settle(clock.millis(), partitions);
    sink.failOnSend = new KafkaException("not the coordinator");
    assertThatThrownBy(() -> core.write(sink, clock.millis())).isInstanceOf(KafkaException.class);
    core.aborted(clock.millis());
    sink.failOnSend = null;

    List<Outbound> again = round(List.of(), read); // the loop owner seeks back and reads the same records

    assertThat(assignments(again)).extracting(a -> a.job().jobId()).as("the aborted leases were given back")
        .containsExactly("a", "b");
    assertThat(core.offsetsToCommit()).isEmpty();
  }

  @Test
  void shouldAnswerACancelledJobThatWaitsForAKeyInTheSameRound() {
    round(List.of(), List.of(job(T.jobsNormal(), "a"), job(T.jobsNormal(), "b"), job(T.jobsNormal(), "c")));
    clock.advance(5);

    List<Outbound> written = round(List.of(Fixtures.record(T.cancels(), 0, clock.millis(), "c", null)), List.of());

    assertThat(results(written)).singleElement().satisfies(r -> {
      assertThat(r.jobId()).isEqualTo("c");
      assertThat(r.status()).isEqualTo(JobStatus.CANCELLED);
    });
    assertThat(core.offsetsToCommit()).isEmpty();
    assertThat(core.hasWork()).isFalse();
  }

  @Test
  void shouldSendAFullModelsJobsToItsSpillPartitionWhileAnotherModelsJobsGoOn() {
    // max_buffered_jobs 12: a model keeps 3 per lane in memory; k serves m two streams at a time
    List<Outbound> written = round(List.of(), List.of(job(T.jobsLow(), "a"), job(T.jobsLow(), "b"),
        job(T.jobsLow(), "c"), job(T.jobsLow(), "d"), job(T.jobsLow(), "e"), jobOf(T.jobsLow(), "x", "n")));

    TopicPartition mLow = new TopicPartition(T.prefix() + ".jobs.spill.m", Lane.LOW.ordinal());
    assertThat(written).filteredOn(o -> o.partition() != null).extracting(Outbound::key)
        .as("beyond m's three in memory: copied to m's spill partition, in order").containsExactly("d", "e");
    assertThat(written).filteredOn(o -> o.partition() != null).allSatisfy(o -> {
      assertThat(new TopicPartition(o.topic(), o.partition())).isEqualTo(mLow);
      assertThat(new String(o.headers().lastHeader("pf.spill.topic").value())).isEqualTo(T.jobsLow());
    });
    assertThat(assignments(written)).extracting(a -> a.job().jobId()).as("x of model n is not held up by m")
        .containsExactlyInAnyOrder("a", "b", "x");
    assertThat(partitionCalls).as("m's spill partition pauses while m's queue is full; no lane pauses")
        .doesNotContain("pause LOW");

    // a later job of m goes behind d and e while they wait in the spill partition
    List<Outbound> later = round(List.of(), List.of(job(T.jobsLow(), "f")));
    assertThat(later).filteredOn(o -> o.partition() != null).extracting(Outbound::key).containsExactly("f");

    // m's streams end; the spill partition is read back in order
    positions.put(mLow, 0L);
    List<Outbound> back = round(List.of(), List.of(copy(written, "d", mLow, 0), copy(written, "e", mLow, 1)));
    assertThat(back).filteredOn(o -> o.partition() != null).as("read back: queued, never copied again").isEmpty();
  }

  @Test
  void shouldResumeASpillPartitionThatThePauseOfEveryPartitionForParkedJobsPausedWithTheRest() {
    TopicPartition mLow = new TopicPartition(T.prefix() + ".jobs.spill.m", Lane.LOW.ordinal());
    List<Outbound> written = round(List.of(), List.of(job(T.jobsLow(), "a"), job(T.jobsLow(), "b"),
        job(T.jobsLow(), "c"), job(T.jobsLow(), "d"), job(T.jobsLow(), "e")));
    assertThat(partitionCalls).as("m's queue is full: d and e wait in its spill partition").contains("pause " + mLow);
    // m's streams end; its queue drains and the spill partition is read again
    positions.put(mLow, 0L);
    List<Inbound> releases = new ArrayList<>();
    for (Assignment a : assignments(written)) {
      releases.add(Fixtures.event(T.fleetEvents(), releases.size(), Fixtures.released(a.leaseId(), "k", "p/m",
          "succeeded", null, 200, 12L), clock.millis()));
    }
    clock.advance(10);
    round(releases, List.of());
    assertThat(partitionCalls.get(partitionCalls.size() - 1)).as("c dispatched, m's queue empty")
        .isEqualTo("resume " + mLow);
    // before d and e come back, a burst of model n's jobs names a reply topic no listing has shown yet
    String late = T.prefix() + ".replies.late";
    pending.add(late);
    List<Inbound> burst = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      burst.add(Fixtures.record(T.jobsNormal(), jobOffset++, clock.millis(), "late-" + i,
          Fixtures.job("late-" + i, "n", ",\"reply_to\":\"" + late + "\"")));
    }
    partitionCalls.clear();
    round(List.of(), burst);
    assertThat(partitionCalls).as("12 parked jobs fill the buffer: every partition pauses").contains("pause all");
    // the listing finds the topic: the parked jobs go on, and every partition paused for them resumes
    pending.clear();
    clock.advance(10);
    partitionCalls.clear();
    round(List.of(), List.of());
    assertThat(partitionCalls).as("m's spill partition, paused with all the others, resumes with them: else d and e,"
        + " and every later job of m behind them, wait for a rebalance").contains("resume all")
        .doesNotContain("pause " + mLow, "pause all");
  }

  /** The copy of {@code jobId} in {@code written}, as read back from {@code tp} at {@code offset}. */
  private Inbound copy(List<Outbound> written, String jobId, TopicPartition tp, long offset) {
    Outbound o = written.stream().filter(w -> jobId.equals(w.key()) && w.partition() != null).findFirst()
        .orElseThrow();
    positions.put(tp, offset + 1);
    return new Inbound(tp.topic(), tp.partition(), offset, o.timestamp(), o.key(), o.value(), o.headers());
  }

  @Test
  void shouldTakeOverAndAnswerAnArchivedAssignmentOfItsPredecessorOnce() {
    Assignment a = assignments(round(List.of(), List.of(job(T.jobsHigh(), "a")))).get(0);
    DispatcherCore successor = new DispatcherCore(CONFIG, new SimpleMeterRegistry(), clock, () -> 0.5, "next",
        "pf-dispatcher-next");
    Inbound written = Fixtures.record(T.assignments(), 0, clock.millis(), "a", Json.bytes(a));
    Inbound archived = Fixtures.archived(T.assignmentsDlq(), 0, a, 5, clock.millis());

    successor.activate("n-", new AllTopicsExist(), List.of(written), List.of(archived), clock.advance(100));
    sink.reset();
    successor.write(sink, clock.millis());
    List<Outbound> first = List.copyOf(sink.sent);
    sink.reset();
    successor.feedback(archived, clock.millis());
    successor.write(sink, clock.millis());

    assertThat(first).extracting(Outbound::topic).containsExactly(T.fleetEvents(), T.defaultReplyTo());
    assertThat(sink.sent).as("read again live: the lease is released already").isEmpty();
  }

  @Test
  void shouldDropWhatWaitsOnARevokedPartition() {
    round(List.of(), List.of(job(T.jobsNormal(), "a"), job(T.jobsNormal(), "b"), job(T.jobsNormal(), "c")));

    core.revoked(List.of(new TopicPartition(T.jobsNormal(), 0)));

    assertThat(core.hasWork()).isFalse();
    assertThat(core.offsetsToCommit()).isEmpty();
  }
}
