package io.promptfleet.dispatcher.ha;

import static io.promptfleet.dispatcher.testing.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.intake.JobIdWindow;
import io.promptfleet.dispatcher.lease.LeaseLedger;
import io.promptfleet.dispatcher.route.RouteBreakers;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.status.StatusBoard;
import io.promptfleet.dispatcher.testing.Fixtures;
import io.promptfleet.dispatcher.testing.ManualClock;
import io.promptfleet.dispatcher.transaction.Outbound;
import io.promptfleet.dispatcher.transaction.RecordSink;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** When the active dispatcher writes its state, and what a successor makes of it. */
class StateWriterTest {
  private static final FleetConfig CONFIG = Fixtures.config(Fixtures.TWO_KEYS + """
      dispatcher: {state_snapshot_ms: 5000}
      """);
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final KeyPool keys = new KeyPool(CONFIG.keys(), CONFIG.dispatcher().rateWindowMs());
  private final LeaseLedger ledger = new LeaseLedger(CONFIG, keys,
      new RouteBreakers(CONFIG.dispatcher().breaker(), registry, new ManualClock()), new StatusBoard(CONFIG),
      new DispatcherMetrics(registry), "d");
  private final JobIdWindow ids = new JobIdWindow(CONFIG.dispatcher().dedupeWindowMs());
  private final StateWriter writer = new StateWriter(CONFIG, ledger, keys, null, ids);
  private final List<Outbound> sent = new ArrayList<>();
  private final RecordSink sink = new RecordSink() {
    @Override
    public void begin() {}

    @Override
    public void send(Outbound o) {
      sent.add(o);
    }
  };

  @Test
  void shouldWriteInTheTermsFirstTransactionThenEveryIntervalAndAgainAfterAnAbort() {
    ledger.startTerm("t1-");
    ledger.acquire("k1", "j1", "p/first", Instant.ofEpochMilli(T0 + 600_000), 40, T0);
    ids.offer(null, "j1", JobIdWindow.position("llm.jobs.normal", 0, 1), T0);

    writer.write(sink, T0, () -> Map.of("llm.fleet.events:0", 7L));
    assertThat(sent).as("a snapshot part and a journal record, each to its partition").extracting(Outbound::partition)
        .containsExactly(StateSnapshot.PARTITION, StateSnapshot.IDS_PARTITION);
    writer.committed();
    sent.clear();

    writer.write(sink, T0 + 4_999, Map::of);
    assertThat(sent).as("not due yet").isEmpty();
    writer.write(sink, T0 + 5_000, Map::of);
    assertThat(sent).as("due; the journal was committed, nothing new in it").hasSize(1);
    writer.aborted();
    sent.clear();

    writer.write(sink, T0 + 5_001, Map::of);
    assertThat(sent).as("the aborted snapshot is written again at once").hasSize(1);
    writer.committed();
    sent.clear();
    ledger.startTerm("t2-");
    writer.write(sink, T0 + 5_002, Map::of);
    assertThat(sent).as("a new term writes one in its first transaction").hasSize(1);
  }

  @Test
  void shouldSnapshotTheTermTheLeasesTheWindowsAndThePositions() {
    ledger.startTerm("t1-");
    ledger.acquire("k1", "j1", "p/first", Instant.ofEpochMilli(T0 + 600_000), 40, T0);
    ledger.acquire("k2", "j2", "p/first", Instant.ofEpochMilli(T0 + 600_000), 60, T0 + 1);
    keys.coolDown("k2", T0 + 9_000);

    StateSnapshot.Reader reader = new StateSnapshot.Reader();
    writer.snapshot(T0 + 2, Map.of("llm.fleet.events:0", 7L)).parts()
        .forEach(p -> reader.accept(Fixtures.record("llm.dispatcher.state", 0, T0, "state", p)));
    StateSnapshot s = reader.newest();

    assertThat(s.term()).isEqualTo("t1-");
    assertThat(s.head().nextSeq()).isEqualTo(2);
    assertThat(s.head().feedback()).containsEntry("llm.fleet.events:0", 7L);
    assertThat(s.leases()).extracting(StateSnapshot.LeaseState::id).containsExactly("t1-0", "t1-1");
    assertThat(s.head().keys()).filteredOn(k -> k.key().equals("k2")).singleElement()
        .satisfies(k -> assertThat(k.coolUntil()).isEqualTo(T0 + 9_000));
  }
}
