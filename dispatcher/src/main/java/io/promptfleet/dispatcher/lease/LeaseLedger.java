package io.promptfleet.dispatcher.lease;

import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.SuccessorMode;
import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.JobError;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.logging.LogContext;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.Lease;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.route.RouteBreakers;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.status.StatusBoard;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.LinkedHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lease ledger: every lease ends exactly once, and with it every job gets exactly one answer (guarantee 1).
 *
 * <p>A lease is one dispatched attempt. It holds one unit of its key's concurrency, one request and a token
 * reservation in the key's rate windows ({@link KeyPool}), and the breaker permit its route planner took. It ends in
 * exactly one of these ways, each giving back what it held:
 *
 * <ul>
 *   <li>{@link #released}: the worker's {@code lease_released} event (the worker wrote the job's terminal record);
 *       the reservation is corrected to the reported usage and the attempt's outcome judges the route's breaker;</li>
 *   <li>{@link #archived}: the share group archived the assignment after its delivery limit; the ledger answers the
 *       job {@code failed}/{@code delivery_limit} with a dispatcher-made {@code lease_released}, but only while the
 *       lease is held (or expired without a release), so a duplicate, a takeover or a worker's late release never
 *       makes a second answer;</li>
 *   <li>{@link #expire}: nobody released it by the job's deadline plus {@code lease_grace_ms}; remembered, so an
 *       archived assignment of it is still answered;</li>
 *   <li>{@link #undo}: its transaction aborted, so nothing reached a worker.</li>
 * </ul>
 *
 * A takeover ({@code ha.Takeover}) restores leases through {@link #restore} and {@link #restoreEnded}.
 *
 * <p>Not thread-safe: owned by the dispatcher thread. While it ends one lease, the job and lease ids are in the
 * thread's logging context ({@link LogContext}), so a breaker transition that the attempt causes names them too.
 */
public final class LeaseLedger {
  private static final Logger LOG = LoggerFactory.getLogger(LeaseLedger.class);
  private static final int MAX_EXPIRED_REMEMBERED = 10_000;

  private final FleetConfig config;
  private final KeyPool keys;
  private final RouteBreakers breakers;
  private final StatusBoard board;
  private final DispatcherMetrics metrics;
  private final String clientId;
  /** Leases that expired without a release: an archived assignment of one of them is still answered. */
  /** The start of what this term read back (Long.MIN_VALUE before the first takeover: everything is known). */
  private long knownSinceMs = Long.MIN_VALUE;
  private final LinkedHashMap<String, Boolean> expiredUnreleased = new LinkedHashMap<>(16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
      return size() > MAX_EXPIRED_REMEMBERED;
    }
  };
  private String leasePrefix = "";
  private long leaseSeq;
  /** lease_granted events not yet written (put back when their transaction aborts). */
  private final List<FleetEvent> grants = new ArrayList<>();

  /**
   * @param clientId names the dispatcher as the {@code worker_id} of the {@code lease_released} events it makes
   */
  public LeaseLedger(FleetConfig config, KeyPool keys, RouteBreakers breakers, StatusBoard board,
      DispatcherMetrics metrics, String clientId) {
    this.config = config;
    this.keys = keys;
    this.breakers = breakers;
    this.board = board;
    this.metrics = metrics;
    this.clientId = clientId;
  }

  /** A new term as the active dispatcher: lease ids start with {@code prefix} (random, unique per term). */
  public void startTerm(String prefix) {
    this.leasePrefix = prefix;
    grants.clear(); // an earlier term's (kept when its last transaction aborted): the rebuild decides anew
  }

  /**
   * The term's knowledge starts at {@code fromMs} (the takeover read assignments and releases back to there): a
   * lease dispatched before it that the ledger does not know may still have been open, so an archived assignment of
   * it is answered rather than dropped (its job would otherwise get no result at all).
   */
  public void knownSince(long fromMs) {
    this.knownSinceMs = fromMs;
  }

  /** Dispatched before what this term read back: the ledger cannot tell whether its lease was released. */
  public boolean beforeKnown(Assignment a) {
    return a.dispatchedAt() != null && a.dispatchedAt().toEpochMilli() < knownSinceMs;
  }

  /**
   * Takes a lease on {@code keyId} for one attempt of {@code jobId} on {@code route}, which the route planner chose
   * with room for it (and whose breaker permit the lease now holds). It expires at the deadline plus
   * {@code lease_grace_ms}.
   */
  public Lease acquire(String keyId, String jobId, String route, Instant deadline, long reservedTokens,
      long nowMs) {
    return take(keyId, jobId, route, deadline, reservedTokens, nowMs, null);
  }

  /**
   * A successor lease on {@code keyId} (its key's every unit held): it follows the key's oldest started lease without
   * a successor ({@link KeyPool#predecessorFor}), counts its request and tokens, and holds no unit until that lease
   * ends. The route planner chose the key with {@link KeyPool#chooseSuccessor}.
   */
  public Lease acquireSuccessor(String keyId, String jobId, String route, Instant deadline, long reservedTokens,
      long nowMs) {
    Lease lease = take(keyId, jobId, route, deadline, reservedTokens, nowMs, keys.predecessorFor(keyId));
    metrics.successor("dispatched");
    return lease;
  }

  /** The term's next lease, expiring at the deadline plus {@code lease_grace_ms}, taken on its key. */
  private Lease take(String keyId, String jobId, String route, Instant deadline, long reservedTokens, long nowMs,
      String afterLease) {
    String leaseId = leasePrefix + Long.toString(leaseSeq++, 36);
    Lease lease = new Lease(leaseId, keyId, jobId, route, deadline.plusMillis(config.dispatcher().leaseGraceMs()),
        reservedTokens, nowMs, afterLease);
    keys.acquire(lease, nowMs);
    return lease;
  }

  /**
   * A worker's {@code lease_started} was read: an ordinary lease may now be followed by a successor (nothing is
   * kept with {@code dispatcher.successors: false}).
   */
  public void started(String leaseId) {
    if (config.dispatcher().successors() != SuccessorMode.OFF) {
      keys.started(leaseId);
    }
  }

  /**
   * The {@code lease_granted} events to write in this round's transaction: successors given a unit without their
   * predecessor's release since the last call ({@link KeyPool#drainGrants}), and those of an aborted round
   * ({@link #grantsLost}). Taken: the list is emptied.
   */
  public List<FleetEvent> takeGrants(long nowMs) {
    for (Lease l : keys.drainGrants()) {
      metrics.successor("granted");
      if (!keys.stillHeld(l)) {
        continue; // ended since: nobody waits for the word
      }
      LOG.debug("lease {} of job {} on key {} granted a unit without its predecessor's release", l.leaseId(),
          l.jobId(), l.keyId());
      grants.add(FleetEvent.leaseGranted(l.leaseId(), l.jobId(), l.keyId(), l.route(), clientId,
          Instant.ofEpochMilli(nowMs)));
    }
    if (grants.isEmpty()) {
      return List.of();
    }
    List<FleetEvent> out = List.copyOf(grants);
    grants.clear();
    return out;
  }

  /** Grants taken for a transaction that aborted: written in the next one. */
  public void grantsLost(List<FleetEvent> lost) {
    grants.addAll(0, lost);
  }

  /**
   * A takeover's end: successors wait for their restored predecessors again, but for those granted a unit
   * ({@code granted}: the lease_granted events read back) ({@link KeyPool#relinkSuccessors}).
   */
  public void relinkSuccessors(java.util.Set<String> granted) {
    keys.relinkSuccessors(granted);
  }

  /** Leases whose assignments were never written (their transaction aborted): everything they held goes back. */
  public void undo(List<Lease> leases, long nowMs) {
    for (Lease l : leases) {
      keys.undo(l.leaseId(), nowMs);
      breakers.release(l.route());
    }
  }

  /**
   * A worker's {@code lease_released} event at {@code atMs} (not {@code handed_back}: that assignment runs again
   * under the same lease). Gives the concurrency back, corrects the reservation to the usage, counts the usage for
   * the status board, and records the attempt's verdict on its route's breaker. Unknown leases are ignored.
   */
  public void released(FleetEvent e, long atMs, long nowMs) {
    if (e.leaseId() == null) {
      return;
    }
    LogContext.put(e.jobId(), e.leaseId());
    try {
      release(e, atMs, nowMs);
    } finally {
      LogContext.clear();
    }
  }

  private void release(FleetEvent e, long atMs, long nowMs) {
    Long used = e.usage() == null ? null : e.usage().totalTokens();
    boolean waiting = keys.isWaiting(e.leaseId());
    String successor = waiting ? null : keys.successorOf(e.leaseId());
    Optional<Lease> l = keys.release(e.leaseId(), used, nowMs);
    if (l.isPresent() && waiting) {
      metrics.successor("ended_waiting");
    } else if (l.isPresent() && successor != null) {
      metrics.successor("followed");
    }
    if (l.isEmpty()) {
      return;
    }
    metrics.leasesReleased.increment();
    metrics.leaseHeld(l.get().keyId(), nowMs - l.get().reservedAtMs());
    board.usage(e.route(), e.usage(), nowMs);
    if (l.get().route() != null) {
      RouteBreakers.Verdict v = RouteBreakers.verdictOf(e.outcome(), e.errorCode());
      if (v == RouteBreakers.Verdict.RATE_LIMITED && keys.isCoolingDown(l.get().keyId(), atMs)) {
        // The key is cooling down already: this 429 is the same event as the one that started it (a stream
        // dispatched before the cooldown). One storm on one key is the key's problem, not the route's; a
        // provider-wide limit still shows up as 429s from every key.
        v = RouteBreakers.Verdict.NEUTRAL;
      }
      breakers.record(l.get().route(), v, e.timeToFirstTokenMs() == null ? 0 : e.timeToFirstTokenMs());
    }
  }

  /**
   * An assignment the share group archived, read live: its answer when the lease is still held (in the key pool,
   * or expired without a release) or may be (dispatched before what this term read back, {@link #beforeKnown}),
   * which releases it; else null (released already: nothing to answer).
   */
  public Decision.Archived archived(ArchivedAssignment x, long nowMs) {
    Assignment a = x.assignment();
    LogContext.put(a.job().jobId(), a.leaseId());
    try {
      Optional<Lease> l = keys.release(a.leaseId(), null, nowMs);
      boolean held = l.isPresent() || expiredUnreleased.remove(a.leaseId()) != null || beforeKnown(a);
      if (l.isPresent()) {
        metrics.leasesReleased.increment();
        if (l.get().route() != null) {
          breakers.release(l.get().route());
        }
      }
      return answer(x, held, nowMs);
    } finally {
      LogContext.clear();
    }
  }

  /**
   * The answer to an archived assignment: {@code failed}/{@code delivery_limit} and the dispatcher-made
   * {@code lease_released} event that marks the lease released for any dispatcher that reads the dead letter again;
   * null (logged) when the lease was not {@code held}.
   */
  public Decision.Archived answer(ArchivedAssignment x, boolean held, long nowMs) {
    Assignment a = x.assignment();
    if (!held) {
      LOG.info("archived assignment {} of job {} (lease {}): the lease was released already, nothing to answer",
          x.where(), a.job().jobId(), a.leaseId());
      return null;
    }
    int deliveries = x.deliveries();
    int attempts = a.attempt() + Math.max(0, deliveries - 1);
    String msg = "the assignment was delivered " + deliveries + " time(s) without an answer (workers crashed or could "
        + "not publish); the share group archived it (" + x.why() + ")";
    LOG.warn("job {}: {}; answering failed/{} (lease {} on key {})", a.job().jobId(), msg, ErrorCodes.DELIVERY_LIMIT,
        a.leaseId(), a.keyId());
    Result result = Result.terminal(a.job().jobId(), JobStatus.FAILED, new JobError(ErrorCodes.DELIVERY_LIMIT, msg,
        false), a.job().metadata(), attempts);
    FleetEvent released = FleetEvent.leaseReleased(a, LeaseOutcome.FAILED).error(ErrorCodes.DELIVERY_LIMIT)
        .by(clientId, Instant.ofEpochMilli(nowMs));
    return new Decision.Archived(new Decision.Answer(a.replyTo(), result), released);
  }

  /** Reclaims the leases nobody released by their expiry; remembers them for a late archived assignment. */
  public List<Lease> expire(long nowMs) {
    List<Lease> expired = keys.expire(Instant.ofEpochMilli(nowMs));
    for (Lease l : expired) {
      LogContext.put(l.jobId(), l.leaseId());
      try {
        metrics.leasesExpired.increment();
        expiredUnreleased.put(l.leaseId(), Boolean.TRUE);
        breakers.release(l.route());
        LOG.warn("lease {} of job {} on key {} expired without release", l.leaseId(), l.jobId(), l.keyId());
      } finally {
        LogContext.clear();
      }
    }
    return expired;
  }

  /**
   * Takeover: a lease read back from {@code llm.assignments} that no fleet event released. Still before its expiry:
   * it holds its key again (true). Expired during the outage: its request and tokens count in the rate windows and
   * an archived assignment of it is still answered (false). A lease of a key no longer configured is skipped.
   */
  public boolean restore(Lease l, long nowMs) {
    if (!config.keys().containsKey(l.keyId())) {
      return false;
    }
    if (Instant.ofEpochMilli(nowMs).isBefore(l.expiresAt())) {
      keys.restore(l, nowMs);
      return true;
    }
    keys.restoreUsage(l.keyId(), l.reservedAtMs(), l.reservedTokens(), nowMs);
    expiredUnreleased.put(l.leaseId(), Boolean.TRUE);
    return false;
  }

  /** Takeover: a lease read back that ended (released, or archived): its {@code tokens} count in the windows. */
  public void restoreEnded(Lease l, long tokens, long nowMs) {
    keys.restoreUsage(l.keyId(), l.reservedAtMs(), tokens, nowMs);
  }

  /** The term's lease-id prefix (a state snapshot names the term it covers). */
  public String term() {
    return leasePrefix;
  }

  /** The sequence number of the term's next lease: the term's leases below it are in a snapshot taken now. */
  public long nextSeq() {
    return leaseSeq;
  }

  /** The start of what the term knows ({@link #knownSince}). */
  public long knownSinceMs() {
    return knownSinceMs;
  }

  /** The leases that expired without a release, oldest first (for a state snapshot). */
  public List<String> expiredUnreleasedIds() {
    return List.copyOf(expiredUnreleased.keySet());
  }

  /** Takeover from a snapshot: a key's rate windows, cooldown and remote budgets as its predecessor had them. */
  public void restoreWindows(KeyPool.KeySnapshot k, long nowMs) {
    keys.restore(k, nowMs);
  }

  /** Takeover from a snapshot: leases its predecessor had seen expire without a release. */
  public void restoreExpired(List<String> leaseIds) {
    leaseIds.forEach(id -> expiredUnreleased.put(id, Boolean.TRUE));
  }

  /**
   * Takeover from a snapshot: a lease its predecessor held, already counted in the rate windows the snapshot
   * restored. Still before its expiry: it holds its key again (true); expired since: remembered for a late archived
   * assignment (false). A lease of a key no longer configured is skipped.
   */
  public boolean restoreHeld(Lease l, long nowMs) {
    if (!config.keys().containsKey(l.keyId())) {
      return false;
    }
    if (Instant.ofEpochMilli(nowMs).isBefore(l.expiresAt())) {
      keys.restoreHeld(l);
      return true;
    }
    expiredUnreleased.put(l.leaseId(), Boolean.TRUE);
    return false;
  }

  /**
   * Takeover: a release read back for a lease restored from a snapshot; its reservation is corrected to the usage
   * ({@code null}: left as reserved). False when no such lease is held (or it expired: then no longer unreleased).
   */
  public boolean restoreReleased(String leaseId, Long usedTokens, long nowMs) {
    expiredUnreleased.remove(leaseId);
    return keys.release(leaseId, usedTokens, nowMs).isPresent();
  }

  /** Whether the lease expired without a release and no archived assignment answered it yet. */
  public boolean expiredUnreleased(String leaseId) {
    return expiredUnreleased.containsKey(leaseId);
  }

  /** Leases held now (live view, for tests and logs). */
  public Map<String, Lease> held() {
    return keys.leases();
  }
}
