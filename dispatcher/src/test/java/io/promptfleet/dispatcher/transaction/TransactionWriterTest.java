package io.promptfleet.dispatcher.transaction;

import static io.promptfleet.dispatcher.testing.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.TopicSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Result;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.TokenEstimator;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.intake.Inbound;
import io.promptfleet.dispatcher.intake.JobIntake;
import io.promptfleet.dispatcher.intake.Outbox;
import io.promptfleet.dispatcher.intake.Pending;
import io.promptfleet.dispatcher.intake.ReplyTopics;
import io.promptfleet.dispatcher.lease.ArchivedAssignment;
import io.promptfleet.dispatcher.lease.LeaseLedger;
import io.promptfleet.dispatcher.offsets.OffsetTracker;
import io.promptfleet.dispatcher.offsets.OffsetMap;
import io.promptfleet.dispatcher.route.RouteBreakers;
import io.promptfleet.dispatcher.route.RoutePlanner;
import io.promptfleet.dispatcher.schedule.ReadyQueues;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.status.StatusBoard;
import io.promptfleet.dispatcher.testing.Fixtures;
import io.promptfleet.dispatcher.testing.ManualClock;
import io.promptfleet.dispatcher.testing.RecordingSink;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

class TransactionWriterTest {
  private static final FleetConfig CONFIG = Fixtures.config(Fixtures.TWO_KEYS.replace("models:", """
        k3: {provider: o, secret_env: PF_TEST_K3, max_concurrency: 5}
      models:
        o:
          routes:
            - {provider: o, model: other}""") + """
      providers:
        p: {base_url: "http://127.0.0.1:1/v1"}
        o: {base_url: "http://127.0.0.1:2/v1"}
      """);
  private static final TopicSettings T = CONFIG.topics();
  private static final TopicPartition TP = new TopicPartition(T.jobsNormal(), 0);
  private static final long NOW = T0 + 1_000;

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final KeyPool keys = new KeyPool(CONFIG.keys(), 60_000);
  private final RouteBreakers breakers = new RouteBreakers(CONFIG.dispatcher().breaker(), registry,
      new ManualClock());
  private final DispatcherMetrics metrics = new DispatcherMetrics(registry);
  private final LeaseLedger ledger = new LeaseLedger(CONFIG, keys, breakers, new StatusBoard(CONFIG), metrics, "d");
  private final Outbox outbox = new Outbox();
  private final ReadyQueues<Pending> queues = new ReadyQueues<>(CONFIG.dispatcher().priority(), Pending::readyAtMs);
  private final OffsetTracker offsets = new OffsetTracker();
  private final TransactionWriter writer = new TransactionWriter(T, outbox, queues,
      new RoutePlanner(CONFIG, keys, breakers), ledger, offsets, metrics);
  private final RecordingSink sink = new RecordingSink();
  private final Set<String> listed = new HashSet<>(Set.of("llm.replies"));
  private final JobIntake intake = new JobIntake(CONFIG);
  private final TokenEstimator tokens = new TokenEstimator();

  {
    ledger.startTerm("t-");
    writer.replyTopics(new ReplyTopics() {
      @Override
      public boolean listed(String topic) {
        return listed.contains(topic);
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
        return null;
      }
    });
  }

  /** A job record read at {@code offset} and queued. */
  private void queue(String jobId, String model, long offset) {
    offsets.read(TP, offset);
    Decision.Dispatch d = (Decision.Dispatch) intake.ofJob(Fixtures.job(jobId, model, ""), Instant.ofEpochMilli(T0),
        Instant.ofEpochMilli(T0));
    queues.add(model, Lane.NORMAL, new Pending(TP, offset, Lane.NORMAL, model, d, Priority.NORMAL, T0,
        tokens.estimate(d.job()), null, null));
  }

  /** A job record read at {@code offset} and answered without running. */
  private void answer(String jobId, long offset) {
    offsets.read(TP, offset);
    Job job = Json.read(Fixtures.job(jobId, "m", ""), Job.class).withReplyTo("llm.replies");
    outbox.answer(TP, offset, null, job, JobStatus.REJECTED, ErrorCodes.UNKNOWN_MODEL, "no", 0);
  }

  @Test
  void shouldWriteTheOutboxFirstThenAssignmentsAndCommitTheOffsetsOfBoth() {
    answer("rejected", 0);
    queue("runs", "m", 1);

    writer.write(sink, NOW);

    assertThat(sink.begun).isEqualTo(1);
    assertThat(sink.sent).extracting(Outbound::topic).containsExactly("llm.replies", T.assignments());
    Assignment a = Json.read(sink.sent.get(1).value(), Assignment.class);
    assertThat(sink.sent.get(1).key()).isEqualTo("runs");
    assertThat(a.leaseId()).startsWith("t-");
    assertThat(a.keyId()).isIn("k1", "k2");
    assertThat(a.route().name()).isEqualTo("p/first");
    assertThat(a.dispatchedAt()).isEqualTo(Instant.ofEpochMilli(NOW));
    assertThat(ledger.held()).containsKey(a.leaseId());
    Map<TopicPartition, OffsetAndMetadata> commit = writer.offsetsToCommit();
    assertThat(commit).containsEntry(TP, new OffsetAndMetadata(2));
    writer.committed(commit);
    assertThat(writer.offsetsToCommit()).isEmpty();
    assertThat(outbox.isEmpty()).isTrue();
    assertThat(registry.get("promptfleet.dispatcher.assignments").counter().count()).isEqualTo(1);
  }

  @Test
  void shouldOpenNoTransactionWhenThereIsNothingToWrite() {
    writer.write(sink, NOW);

    assertThat(sink.begun).isZero();
  }

  @Test
  void shouldCopyARecordIntoADeadLetterWithTheReasonAndWhereItCameFrom() {
    RecordHeaders h = new RecordHeaders();
    h.add("trace", "abc".getBytes(StandardCharsets.UTF_8));
    Inbound bad = new Inbound(T.fleetEvents(), 2, 41, T0 + 7, "the-key", "garbage".getBytes(StandardCharsets.UTF_8),
        h);
    outbox.deadLetter(bad, "unreadable fleet event: no type");

    writer.write(sink, NOW);

    assertThat(sink.sent).singleElement().satisfies(o -> {
      assertThat(o.topic()).isEqualTo(T.deadLetters());
      assertThat(o.key()).isEqualTo("the-key");
      assertThat(o.value()).isEqualTo("garbage".getBytes(StandardCharsets.UTF_8));
      assertThat(header(o, "trace")).isEqualTo("abc");
      assertThat(header(o, "pf.dlq.reason")).isEqualTo("unreadable fleet event: no type");
      assertThat(header(o, "pf.dlq.topic")).isEqualTo(T.fleetEvents());
      assertThat(header(o, "pf.dlq.partition")).isEqualTo("2");
      assertThat(header(o, "pf.dlq.offset")).isEqualTo("41");
      assertThat(header(o, "pf.dlq.timestamp")).isEqualTo(Long.toString(T0 + 7));
    });
    assertThat(registry.get("promptfleet.dispatcher.dead.letters").counter().count()).isEqualTo(1);
  }

  @Test
  void shouldWriteADeadLetterAndTheRejectedResultWhereTheJobCouldBeAnswered() {
    Inbound r = Fixtures.record(T.jobsNormal(), 0, T0, "j", Fixtures.job("j", "m", ",\"api_key\":\"sk\""));
    offsets.read(TP, 0);
    outbox.add(TP, 0, intake.ofJob(r.value(), Instant.ofEpochMilli(T0), Instant.ofEpochMilli(T0)), r);

    writer.write(sink, NOW);

    assertThat(sink.sent).extracting(Outbound::topic).containsExactly(T.deadLetters(), "llm.replies");
    assertThat(Json.read(sink.sent.get(1).value(), Result.class).status()).isEqualTo(JobStatus.REJECTED);
  }

  @Test
  void shouldWriteAnArchivedAnswerWithTheLeaseReleasedEventThatMarksIt() {
    Job job = Json.read(Fixtures.job("j", "m", ""), Job.class).withReplyTo("llm.replies");
    Assignment a = new Assignment("l1", job, 1, Priority.NORMAL, null, "k1", null, null, null, "llm.replies");
    Inbound dead = Fixtures.archived(T.assignmentsDlq(), 0, a, 5, T0);
    outbox.archived(ledger.answer(new ArchivedAssignment(a, 5, "limit", "x"), true, NOW), dead);

    writer.write(sink, NOW);

    assertThat(sink.sent).extracting(Outbound::topic).containsExactly(T.fleetEvents(), "llm.replies");
    assertThat(sink.sent.get(0).key()).isEqualTo("k1");
    assertThat(Json.read(sink.sent.get(0).value(), FleetEvent.class).leaseId()).isEqualTo("l1");
    assertThat(Json.read(sink.sent.get(1).value(), Result.class).error().code())
        .isEqualTo(ErrorCodes.DELIVERY_LIMIT);
  }

  @Test
  void shouldNeverSendToAReplyTopicDeletedSinceIntake() {
    answer("dropped", 0);
    listed.clear();
    Job job = Json.read(Fixtures.job("j", "m", ""), Job.class).withReplyTo("llm.replies");
    Assignment a = new Assignment("l1", job, 1, Priority.NORMAL, null, "k1", null, null, null, "llm.replies");
    Inbound dead = Fixtures.archived(T.assignmentsDlq(), 0, a, 5, T0);
    outbox.archived(ledger.answer(new ArchivedAssignment(a, 5, "limit", "x"), true, NOW), dead);

    writer.write(sink, NOW);

    assertThat(sink.begun).as("the dropped answer's offset still commits").isEqualTo(1);
    assertThat(sink.sent).extracting(Outbound::topic).as("the archived one is dead-lettered instead")
        .containsExactly(T.fleetEvents(), T.deadLetters());
    assertThat(header(sink.sent.get(1), "pf.dlq.reason")).startsWith("reply_to topic llm.replies does not exist");
    assertThat(writer.offsetsToCommit()).containsEntry(TP, new OffsetAndMetadata(1));
  }

  @Test
  void shouldSkipAModelWhoseKeysAreFullAndGoOnWithAnother() {
    for (int i = 0; i < 6; i++) {
      queue("m" + i, "m", i);
    }
    queue("o0", "o", 6);

    writer.write(sink, NOW);

    assertThat(sink.to(T.assignments())).extracting(Outbound::key)
        .as("k1 and k2 hold two streams each").hasSize(5).contains("o0");
    assertThat(queues.size()).isEqualTo(2);
    assertThat(writer.offsetsToCommit().get(TP).offset()).as("not past the first job still waiting").isEqualTo(4);
    assertThat(OffsetMap.decode(4, writer.offsetsToCommit().get(TP).metadata())).as("the one handled above it")
        .containsExactly(new OffsetMap.Range(6, 7));
  }

  @Test
  void shouldWriteAtMostFiveThousandRecordsPerTransaction() {
    for (int i = 0; i < TransactionWriter.MAX_RECORDS_PER_TRANSACTION - 1; i++) {
      answer("a" + i, i);
    }
    queue("first", "o", 5_000);
    queue("second", "o", 5_001);

    writer.write(sink, NOW);

    assertThat(sink.sent).hasSize(TransactionWriter.MAX_RECORDS_PER_TRANSACTION);
    assertThat(queues.size()).isEqualTo(1);
  }

  @Test
  void shouldUndoTheRoundsLeasesAndKeepOnlyWhatNoRecordBringsBackWhenTheTransactionFails() {
    answer("rejected", 0);
    Inbound bad = Fixtures.record(T.cancels(), 3, T0, null, "{}".getBytes(StandardCharsets.UTF_8));
    outbox.deadLetter(bad, "unreadable cancel");
    queue("runs", "m", 1);
    sink.failOnSend = new KafkaException("broker gone");
    sink.failTopic = T.assignments();

    assertThatThrownBy(() -> writer.write(sink, NOW)).isSameAs(sink.failOnSend);
    writer.aborted(NOW);

    assertThat(ledger.held()).isEmpty();
    assertThat(keys.inFlight("k1") + keys.inFlight("k2")).isZero();
    assertThat(keys.requestsInWindow("k1", NOW) + keys.requestsInWindow("k2", NOW)).isZero();
    assertThat(writer.unreplayable()).singleElement().satisfies(e -> assertThat(e.source()).isSameAs(bad));
    assertThat(writer.unreplayable()).as("taken").isEmpty();
  }

  private static String header(Outbound o, String name) {
    var h = o.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }
}
