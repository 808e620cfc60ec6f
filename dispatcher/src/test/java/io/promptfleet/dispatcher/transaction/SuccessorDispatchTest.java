package io.promptfleet.dispatcher.transaction;

import static io.promptfleet.dispatcher.testing.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.kafka.FleetEventHeaders;
import io.promptfleet.common.job.SuccessorProtocol;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.SuccessorGate;
import io.promptfleet.dispatcher.capacity.TokenEstimator;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.intake.JobIntake;
import io.promptfleet.dispatcher.intake.Outbox;
import io.promptfleet.dispatcher.intake.Pending;
import io.promptfleet.dispatcher.lease.LeaseLedger;
import io.promptfleet.dispatcher.offsets.OffsetTracker;
import io.promptfleet.dispatcher.route.Fallbacks;
import io.promptfleet.dispatcher.route.RouteBreakers;
import io.promptfleet.dispatcher.route.RoutePlanner;
import io.promptfleet.dispatcher.schedule.ReadyQueues;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.status.StatusBoard;
import io.promptfleet.dispatcher.testing.Fixtures;
import io.promptfleet.dispatcher.testing.ManualClock;
import io.promptfleet.dispatcher.testing.RecordingSink;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * Successor assignments through the dispatch round ({@code dispatcher.successors}): one per started lease of a full
 * key, marked {@code after_lease}; the predecessor's release hands its unit over without a word; a lease that ends
 * without a successor while another of its key waits grants its unit with a {@code lease_granted} event.
 */
class SuccessorDispatchTest {
  private static final String YAML = """
      keys:
        k1: {provider: p, secret_env: PF_TEST_K1, max_concurrency: 2, requests_per_minute: 100,
             tokens_per_minute: 100000}
      models:
        m:
          routes:
            - {provider: p, model: first, default_max_tokens: 100}
      dispatcher:
        successors: true
      """;
  private static final long NOW = T0 + 1_000;

  /** A dispatch round's parts over one key of 2 streams. */
  private static final class Rig {
    private final FleetConfig config;
    private final KeyPool keys;
    private final LeaseLedger ledger;
    private final StatusBoard board;
    private final ReadyQueues<Pending> queues;
    private final OffsetTracker offsets = new OffsetTracker();
    private final TransactionWriter writer;
    private final JobIntake intake;
    private final TokenEstimator tokens = new TokenEstimator();
    private final TopicPartition tp;
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    Rig(String yaml) {
      config = Fixtures.config(yaml);
      keys = new KeyPool(config.keys(), 60_000);
      RouteBreakers breakers = new RouteBreakers(config.dispatcher().breaker(), registry, new ManualClock());
      DispatcherMetrics metrics = new DispatcherMetrics(registry);
      SuccessorGate gate = new SuccessorGate(config.dispatcher().successors());
      board = new StatusBoard(config, gate);
      ledger = new LeaseLedger(config, keys, breakers, board, metrics, "d");
      ledger.startTerm("t-");
      queues = new ReadyQueues<>(config.dispatcher().priority(), Pending::readyAtMs);
      writer = new TransactionWriter(config.topics(), new Outbox(), queues,
          new RoutePlanner(config, keys, breakers, new Fallbacks(null), gate), ledger, offsets, metrics);
      intake = new JobIntake(config);
      tp = new TopicPartition(config.topics().jobsNormal(), 0);
    }

    private void queue(String jobId, long offset) {
      offsets.read(tp, offset);
      Decision.Dispatch d = (Decision.Dispatch) intake.ofJob(Fixtures.job(jobId, "m", ""), Instant.ofEpochMilli(T0),
          Instant.ofEpochMilli(T0));
      queues.add("m", Lane.NORMAL, new Pending(tp, offset, Lane.NORMAL, "m", d, Priority.NORMAL, T0,
          tokens.estimate(d.job()), null, null));
    }

    private List<Assignment> round(long nowMs) {
      RecordingSink sink = new RecordingSink();
      writer.write(sink, nowMs);
      writer.committed(writer.offsetsToCommit());
      grantsSent = sink.to(config.topics().fleetEvents()).stream()
          .filter(o -> FleetEventHeaders.gist(o.headers()).type() == FleetEvent.Type.LEASE_GRANTED)
          .map(o -> Json.read(o.value(), FleetEvent.class)).toList();
      return sink.to(config.topics().assignments()).stream().map(o -> Json.read(o.value(), Assignment.class)).toList();
    }

    private List<FleetEvent> grantsSent = List.of();

    private void release(Assignment a, long nowMs) {
      ledger.released(FleetEvent.leaseReleased(a, LeaseOutcome.SUCCEEDED).by("w", Instant.ofEpochMilli(nowMs)), nowMs,
          nowMs);
    }
  }

  @Test
  void shouldFollowEachStartedLeaseOfAFullKeyWithOneSuccessor() {
    Rig r = new Rig(YAML);
    for (int i = 0; i < 5; i++) {
      r.queue("j" + i, i);
    }
    List<Assignment> first = r.round(NOW);
    assertThat(first).as("k1 holds two streams").hasSize(2).allSatisfy(a -> assertThat(a.afterLease()).isNull());
    assertThat(r.round(NOW + 1)).as("no lease has started yet: nothing may follow").isEmpty();

    r.ledger.started(first.get(0).leaseId());
    List<Assignment> second = r.round(NOW + 2);
    assertThat(second).singleElement().satisfies(s -> {
      assertThat(s.afterLease()).isEqualTo(first.get(0).leaseId());
      assertThat(s.keyId()).isEqualTo("k1");
    });
    assertThat(r.keys.inFlight("k1")).as("a waiting successor holds no unit").isEqualTo(2);
    assertThat(r.keys.waitingSuccessors("k1")).isEqualTo(1);
    assertThat(r.round(NOW + 3)).as("one successor per lease").isEmpty();

    r.release(first.get(0), NOW + 4);
    assertThat(r.keys.isWaiting(second.get(0).leaseId())).as("took its predecessor's unit").isFalse();
    assertThat(r.keys.inFlight("k1")).isEqualTo(2);
    assertThat(r.round(NOW + 5)).as("k1 is full again and its new ordinary lease has not started").isEmpty();
    assertThat(r.grantsSent).as("its worker reads the predecessor's release: nothing to grant").isEmpty();
  }

  @Test
  void shouldGrantTheUnitOfALeaseWithoutASuccessorToAWaitingOneAndSayIt() {
    Rig r = new Rig(YAML);
    for (int i = 0; i < 3; i++) {
      r.queue("j" + i, i);
    }
    List<Assignment> first = r.round(NOW);
    r.ledger.started(first.get(0).leaseId());
    Assignment successor = r.round(NOW + 1).get(0);
    assertThat(successor.afterLease()).isEqualTo(first.get(0).leaseId());

    r.release(first.get(1), NOW + 2); // ended first, with no successor of its own
    assertThat(r.keys.isWaiting(successor.leaseId())).isFalse();
    assertThat(r.round(NOW + 3)).isEmpty();
    assertThat(r.grantsSent).singleElement().satisfies(g -> {
      assertThat(g.leaseId()).isEqualTo(successor.leaseId());
      assertThat(g.jobId()).isEqualTo(successor.job().jobId());
      assertThat(g.keyId()).isEqualTo("k1");
    });

    r.release(first.get(0), NOW + 4); // the predecessor it no longer waits for
    assertThat(r.keys.inFlight("k1")).as("the granted successor and nothing else").isEqualTo(1);
  }

  @Test
  void shouldWriteNoSuccessorWhenTheSettingIsOff() {
    Rig off = new Rig(YAML.replace("successors: true", "successors: false"));
    for (int i = 0; i < 3; i++) {
      off.queue("j" + i, i);
    }
    List<Assignment> first = off.round(NOW);
    off.ledger.started(first.get(0).leaseId());
    assertThat(off.round(NOW + 1)).isEmpty();
  }

  @Test
  void shouldWriteSuccessorsInAutoOnlyWhileEveryLiveWorkerReportsTheCurrentProtocol() {
    Rig r = new Rig(YAML.replace("successors: true", "successors: auto"));
    for (int i = 0; i < 4; i++) {
      r.queue("j" + i, i);
    }
    List<Assignment> first = r.round(NOW);
    assertThat(first).hasSize(2);
    r.ledger.started(first.get(0).leaseId());
    assertThat(r.round(NOW + 1)).as("no worker known yet").isEmpty();

    long t = NOW + 2;
    r.board.heartbeat(beat("w-new", SuccessorProtocol.CURRENT, t), t);
    r.board.heartbeat(beat("w-old", null, t), t);
    t += SuccessorGate.HEARD_FROM_ALL_MS;
    r.board.heartbeat(beat("w-new", SuccessorProtocol.CURRENT, t), t);
    r.board.heartbeat(beat("w-old", null, t), t);
    assertThat(r.round(t)).as("w-old does not know successors: it would start one at once").isEmpty();

    t += 60_001; // w-old stopped beating a minute ago: the board forgets it
    r.board.heartbeat(beat("w-new", SuccessorProtocol.CURRENT, t), t);
    r.board.workers(t);
    assertThat(r.round(t)).singleElement()
        .satisfies(a -> assertThat(a.afterLease()).isEqualTo(first.get(0).leaseId()));
  }

  private static FleetEvent beat(String worker, Integer protocol, long at) {
    return FleetEvent.heartbeat(Instant.ofEpochMilli(at), worker, 8, 8, null, protocol);
  }
}
