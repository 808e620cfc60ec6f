package io.promptfleet.dispatcher.ha;

import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.Route;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.Lease;
import io.promptfleet.dispatcher.intake.JobIdWindow;
import io.promptfleet.dispatcher.lease.LeaseLedger;
import io.promptfleet.dispatcher.tenant.SpendSnapshot;
import io.promptfleet.dispatcher.tenant.TenantBudgets;
import io.promptfleet.dispatcher.transaction.Outbound;
import io.promptfleet.dispatcher.transaction.RecordSink;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * The active dispatcher's side of a scalable takeover: every {@code dispatcher.state_snapshot_ms}, and in the first
 * transaction of each term, a {@link StateSnapshot} of the lease table, the rate windows and the key feedback goes to
 * the dispatcher state topic, with the job ids admitted since the last one ({@link JobIdWindow#journal}) and every
 * budgeted tenant's spend snapshot, in the round's transaction: whatever a successor sees of the round's
 * assignments, it sees the snapshot that covers them, or none of either.
 *
 * <p>A transaction that aborts loses its snapshot: the next round writes one again. Not thread-safe: owned by the
 * dispatcher thread.
 */
public final class StateWriter {
  private final FleetConfig config;
  private final LeaseLedger ledger;
  private final KeyPool keys;
  private final TenantBudgets budgets;
  private final JobIdWindow ids;
  private final long everyMs;
  private long lastMs = Long.MIN_VALUE;
  private String lastTerm;
  private boolean written;

  public StateWriter(FleetConfig config, LeaseLedger ledger, KeyPool keys, TenantBudgets budgets, JobIdWindow ids) {
    this.config = config;
    this.ledger = ledger;
    this.keys = keys;
    this.budgets = budgets;
    this.ids = ids;
    this.everyMs = config.dispatcher().stateSnapshotMs();
    ids.journaling(everyMs > 0);
  }

  /** Whether snapshots are written at all ({@code dispatcher.state_snapshot_ms} > 0). */
  public boolean enabled() {
    return everyMs > 0;
  }

  /**
   * Writes a snapshot into the round's transaction when one is due.
   *
   * @param feedback the feedback consumer's positions ({@link StateSnapshot#position} keys): every record below them
   *                 is applied
   */
  public void write(RecordSink sink, long nowMs, Supplier<Map<String, Long>> feedback) {
    written = false;
    if (everyMs <= 0 || ledger.term().equals(lastTerm) && nowMs - lastMs < everyMs) {
      return;
    }
    String topic = config.topics().dispatcherState();
    sink.begin();
    StateSnapshot snapshot = snapshot(nowMs, feedback.get());
    List<byte[]> parts = snapshot.parts();
    for (int i = 0; i < parts.size(); i++) {
      Outbound o = record(topic, StateSnapshot.PARTITION, StateSnapshot.KIND, "state", parts.get(i));
      o.headers().add(StateSnapshot.PART_HEADER, StateSnapshot.kindBytes(snapshot.partHeader(i, parts.size())));
      sink.send(o);
    }
    for (byte[] r : ids.journal(StateSnapshot.IDS_PER_RECORD)) {
      sink.send(record(topic, StateSnapshot.IDS_PARTITION, StateSnapshot.IDS_KIND, "ids", r));
    }
    if (budgets != null && budgets.any()) {
      for (SpendSnapshot s : budgets.snapshotsNow(nowMs)) {
        RecordHeaders h = new RecordHeaders();
        h.add(SpendSnapshot.HEADER, SpendSnapshot.kindBytes());
        sink.send(new Outbound(config.topics().fleetEvents(), s.key(), s.bytes(), h));
      }
    }
    lastMs = nowMs;
    lastTerm = ledger.term();
    written = true;
  }

  /** The state as of now (the round's leases included). */
  StateSnapshot snapshot(long nowMs, Map<String, Long> feedback) {
    List<StateSnapshot.LeaseState> leases = new ArrayList<>();
    Map<String, Route> routes = new HashMap<>();
    for (Lease l : keys.leases().values()) {
      TenantBudgets.Charge c = budgets == null ? null : budgets.charge(l.leaseId());
      if (c != null && c.route() != null) {
        routes.putIfAbsent(c.route().name(), c.route());
      }
      leases.add(new StateSnapshot.LeaseState(l.leaseId(), l.keyId(), l.jobId(), l.route(),
          l.expiresAt().toEpochMilli(), l.reservedTokens(), l.reservedAtMs(), c == null ? null : c.tenant(),
          c == null ? null : c.model(), c == null ? null : c.day(), c == null ? null : c.cost(), l.afterLease()));
    }
    return new StateSnapshot(ledger.term(), nowMs, new StateSnapshot.Head(ledger.nextSeq(), ledger.knownSinceMs(),
        Map.copyOf(feedback), keys.snapshot(nowMs), ledger.expiredUnreleasedIds(), routes), leases);
  }

  /** The round's transaction committed. */
  public void committed() {
    if (written) {
      ids.journalCommitted();
      written = false;
    }
  }

  /** The round's transaction aborted: its snapshot and ids are written again next round. */
  public void aborted() {
    if (written) {
      ids.journalAborted();
      lastMs = Long.MIN_VALUE;
      lastTerm = null;
      written = false;
    }
  }

  /** This dispatcher stands by: its next term starts with a snapshot. */
  public void clear() {
    lastMs = Long.MIN_VALUE;
    lastTerm = null;
    written = false;
  }

  private static Outbound record(String topic, int partition, String kind, String key, byte[] value) {
    RecordHeaders h = new RecordHeaders();
    h.add(StateSnapshot.HEADER, StateSnapshot.kindBytes(kind));
    return new Outbound(topic, partition, null, key, value, h);
  }
}
