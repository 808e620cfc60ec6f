package io.promptfleet.dispatcher.ha;

import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.dispatcher.capacity.Lease;
import io.promptfleet.dispatcher.capacity.TokenEstimator;
import io.promptfleet.dispatcher.capacity.TokenLimits;
import io.promptfleet.dispatcher.feedback.FeedbackRecords;
import io.promptfleet.dispatcher.feedback.KeyFeedback;
import io.promptfleet.dispatcher.intake.CancelledJobs;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.intake.Inbound;
import io.promptfleet.dispatcher.intake.JobIdWindow;
import io.promptfleet.dispatcher.intake.Outbox;
import io.promptfleet.dispatcher.lease.ArchivedAssignment;
import io.promptfleet.dispatcher.lease.LeaseLedger;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.tenant.SpendRebuild;
import io.promptfleet.dispatcher.tenant.SpendSnapshot;
import io.promptfleet.dispatcher.tenant.TenantBudgets;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a dispatcher does when it becomes the active one: it starts a new lease term and rebuilds the lease table,
 * the rate windows, the key feedback, the job-id window and the tenants' spend from what the loop owner streams to
 * it from Kafka ({@link #begin} ... {@link #finish}).
 *
 * <p>From a snapshot ({@link StateSnapshot}, written by the active dispatcher every {@code state_snapshot_ms} in its
 * transactions, {@link StateWriter}): the snapshot's leases, windows, cooldowns and budgets, then only what came
 * after it, the assignments of its term above its sequence number and the fleet events and archived assignments
 * above its positions, and the job-id journal of the dedupe window. Without one (an older active dispatcher, or
 * snapshots off), the last {@code rebuild_lookback_ms} of every topic ({@link #readFromMs}).
 *
 * <p>Either way every assignment read back holds a lease unless a {@code lease_released} event released it or
 * it expired; released ones still count in the rate windows (with the usage their release reported). Its
 * reservation is the one the assignment carries (older assignments: the prompt is estimated again). Cooldowns,
 * disabled keys and remote budgets still running are restored, and cancels (read back over the lookback) are
 * remembered. The tenants' spend of today is rebuilt from their newest spend snapshots and the assignments and
 * releases since ({@link SpendRebuild}). Archived assignments (the share group's dead-letter queue) are applied after
 * every release, so only a lease nobody released is answered: a dead letter its predecessor answered finds the
 * dispatcher-made release and gets nothing.
 *
 * <p>Not thread-safe: called on the dispatcher thread. Holds no Kafka client: the records are handed to it.
 */
public final class Takeover {
  /** Leases a {@code lease_released} event of the window names, known or not (an activation's scratch). */
  private final Set<String> releasedSeen = new HashSet<>();
  /** Leases read back as held whose lease_started was read: they may take a successor again. */
  private final Set<String> startedSeen = new HashSet<>();
  /** Successors granted a unit (lease_granted read back): they do not wait for their predecessor again. */
  private final Set<String> grantedSeen = new HashSet<>();
  private static final Logger LOG = LoggerFactory.getLogger(Takeover.class);
  /** A route with every default, for the image and attachment estimates of a model no longer configured. */
  private static final RouteSettings DEFAULT_ROUTE = new RouteSettings("-", null, null, null, null, null, null);

  /** What a rebuild found: leases still in flight, and how many assignments and feedback records it read. */
  public record Rebuilt(int inFlight, int assignments, int feedbackRecords) {}

  private final FleetConfig config;
  private final String instanceId;
  private final LeaseLedger ledger;
  private final KeyFeedback keyFeedback;
  private final CancelledJobs cancelled;
  private final Outbox outbox;
  private final TokenEstimator tokens;
  private final DispatcherMetrics metrics;
  private final TenantBudgets budgets;
  private final JobIdWindow ids;
  private SpendRebuild spend;
  /** The rebuild under way: its snapshot (null: none), its clock, the leases read back and not released yet. */
  private StateSnapshot snapshot;
  private long nowMs;
  private final Map<String, Lease> open = new HashMap<>();
  private int read;
  private int feedbackRead;
  private int restored;
  private boolean stale;

  public Takeover(FleetConfig config, String instanceId, LeaseLedger ledger, KeyFeedback keyFeedback,
      CancelledJobs cancelled, Outbox outbox, TokenEstimator tokens, DispatcherMetrics metrics) {
    this(config, instanceId, ledger, keyFeedback, cancelled, outbox, tokens, metrics, null, new JobIdWindow(0));
  }

  /**
   * With the tenants' budgets, whose spend of today it rebuilds too ({@link SpendRebuild}; null: none), and the
   * window of job ids admitted lately, which it seeds with the job ids of the assignments read back.
   */
  public Takeover(FleetConfig config, String instanceId, LeaseLedger ledger, KeyFeedback keyFeedback,
      CancelledJobs cancelled, Outbox outbox, TokenEstimator tokens, DispatcherMetrics metrics,
      TenantBudgets budgets, JobIdWindow ids) {
    this.ids = ids;
    this.budgets = budgets;
    this.config = config;
    this.instanceId = instanceId;
    this.ledger = ledger;
    this.keyFeedback = keyFeedback;
    this.cancelled = cancelled;
    this.outbox = outbox;
    this.tokens = tokens;
    this.metrics = metrics;
  }

  /** From when (epoch ms) the loop owner reads {@code llm.assignments} and the feedback topics back. */
  public long readFromMs(long nowMs) {
    return nowMs - config.dispatcher().rebuildLookbackMs();
  }

  /**
   * From when (epoch ms) the loop owner reads {@code llm.assignments} back after {@code snapshot} (null: none, the
   * whole lookback): its time less {@value #TAIL_SLACK_MS} ms (records are stamped when sent, after the round's
   * clock; the slack absorbs a clock stepping back). Assignments the snapshot covers are skipped by lease id.
   */
  public long assignmentsFromMs(StateSnapshot snapshot, long nowMs) {
    return snapshot == null ? readFromMs(nowMs) : Math.max(readFromMs(nowMs), snapshot.atMs() - TAIL_SLACK_MS);
  }

  /** How far before a snapshot's time the tail of assignments is read. */
  public static final long TAIL_SLACK_MS = 5_000;

  /**
   * Starts the term (lease ids begin with {@code leasePrefix}) and rebuilds from records handed over as lists:
   * {@link #begin} without a snapshot, every assignment, every feedback record but the archived assignments, then
   * those, and {@link #finish}.
   *
   * @param assignments the records of {@code llm.assignments} since {@link #readFromMs}
   * @param feedback    the records of the fleet events, cancels and the assignments' dead-letter queue since then,
   *                    each partition in offset order
   */
  public Rebuilt activate(String leasePrefix, List<Inbound> assignments, List<Inbound> feedback, long nowMs) {
    begin(leasePrefix, null, nowMs);
    assignments.forEach(this::assignment);
    for (Inbound r : feedback) {
      if (!r.topic().equals(config.topics().assignmentsDlq())) {
        feedback(r);
      }
    }
    for (Inbound r : feedback) {
      if (r.topic().equals(config.topics().assignmentsDlq())) {
        feedback(r);
      }
    }
    return finish();
  }

  /**
   * Starts the term (lease ids begin with {@code leasePrefix}) and a rebuild: from {@code snapshot} (the newest
   * complete one of the dispatcher state topic), or from nothing (null: an older active dispatcher wrote none, or
   * snapshots are off; then the loop owner hands over the whole lookback). Then, streamed, in this order: the job-id
   * journal ({@link #ids}), the assignments since {@link #assignmentsFromMs} ({@link #assignment}), the fleet events
   * since the snapshot's positions and the cancels of the lookback ({@link #feedback}), the archived assignments
   * since the snapshot's positions ({@link #feedback}, after every release), and {@link #finish}.
   */
  public void begin(String leasePrefix, StateSnapshot snapshot, long nowMs) {
    ledger.startTerm(leasePrefix);
    this.snapshot = snapshot;
    this.nowMs = nowMs;
    releasedSeen.clear();
    startedSeen.clear();
    grantedSeen.clear();
    open.clear();
    stale = false;
    read = 0;
    feedbackRead = 0;
    restored = 0;
    spend = budgets == null ? null : budgets.rebuild();
    if (snapshot == null) {
      ledger.knownSince(readFromMs(nowMs));
      return;
    }
    StateSnapshot.Head h = snapshot.head();
    ledger.knownSince(h.knownSinceMs());
    h.keys().forEach(k -> ledger.restoreWindows(k, nowMs));
    ledger.restoreExpired(h.expired());
    for (StateSnapshot.LeaseState s : snapshot.leases()) {
      if (ledger.restoreHeld(s.lease(), nowMs)) {
        restored++;
      }
      if (spend != null && s.tenant() != null && s.day() != null) {
        spend.restored(s.id(), new TenantBudgets.Charge(s.tenant(), s.model(), s.day(), s.reserved(),
            s.cost() == null ? 0 : s.cost(), s.route() == null ? null : h.routes().get(s.route())), s.tenant(),
            s.at());
      }
    }
  }

  /** A record of the job-id journal (partition {@link StateSnapshot#IDS_PARTITION} of the state topic). */
  public void ids(Inbound r) {
    if (ids.apply(r.value(), nowMs) < 0) {
      LOG.debug("skipping unreadable job-id journal record at {}-{}@{}", r.topic(), r.partition(), r.offset());
    }
  }

  /** An assignment read back: its job id is remembered; unless the snapshot covers it, it holds a lease. */
  public void assignment(Inbound r) {
    Assignment a;
    try {
      a = Json.read(r.value(), Assignment.class);
    } catch (RuntimeException e) {
      LOG.debug("skipping unreadable assignment at {}-{}@{}", r.topic(), r.partition(), r.offset());
      return;
    }
    try {
      long at = a.dispatchedAt() == null ? r.timestamp() : a.dispatchedAt().toEpochMilli();
      ids.seed(a.job().tenant(), a.job().jobId(), at, nowMs);
      if (snapshot != null && a.leaseId() != null && !a.leaseId().startsWith(snapshot.term())
          && at > snapshot.atMs() + TAIL_SLACK_MS) {
        stale = true; // a later term wrote no snapshot (an older dispatcher version): the snapshot misses its leases
      }
      if (covered(a.leaseId())) {
        return;
      }
      Instant deadline = a.deadline() == null ? Instant.ofEpochMilli(r.timestamp())
          .plusMillis(config.dispatcher().defaultJobTtlMs()) : a.deadline();
      long reserve = a.reservedTokens() != null ? a.reservedTokens() : promptOf(a) + TokenLimits.reserved(a.job(),
          a.route() == null ? null : a.route().defaultMaxTokens());
      open.put(a.leaseId(), new Lease(a.leaseId(), a.keyId(), a.job().jobId(),
          a.route() == null ? null : a.route().name(), deadline.plusMillis(config.dispatcher().leaseGraceMs()),
          reserve, at, a.afterLease()));
      if (spend != null) {
        spend.assignment(a, reserve, at);
      }
      read++;
    } catch (RuntimeException e) {
      LOG.debug("skipping unreadable assignment at {}-{}@{}", r.topic(), r.partition(), r.offset());
    }
  }

  /**
   * True when the assignments read after the snapshot include one of another term dispatched after it: a dispatcher
   * that writes no snapshots (an older version, during a rolling upgrade) was active since, so the snapshot does not
   * hold its leases. The loop owner then starts again without a snapshot ({@code DispatcherCore#restart}).
   */
  public boolean snapshotStale() {
    return stale;
  }

  /**
   * Whether the snapshot holds this lease's state already: one of the snapshot's term below its next sequence
   * number, or one of an earlier term (the snapshot's term rebuilt those when it began, and a term writes a snapshot
   * in its first transaction, so no later term wrote assignments without one).
   */
  private boolean covered(String leaseId) {
    if (snapshot == null || leaseId == null) {
      return false;
    }
    if (!leaseId.startsWith(snapshot.term())) {
      return true;
    }
    try {
      return Long.parseLong(leaseId.substring(snapshot.term().length()), 36) < snapshot.head().nextSeq();
    } catch (NumberFormatException e) {
      return true;
    }
  }

  /**
   * A fleet event, cancel or archived assignment read back (archived ones after every fleet event: a lease released
   * by anyone is not answered again).
   */
  public void feedback(Inbound r) {
    feedbackRead++;
    if (r.topic().equals(config.topics().assignmentsDlq())) {
      archived(r, open, nowMs);
    } else {
      replay(r, open, nowMs);
    }
  }

  /** Ends the rebuild: the leases read back and not released hold their keys again; the tenants' spend is set. */
  public Rebuilt finish() {
    for (Lease l : open.values()) {
      if (ledger.restore(l, nowMs)) {
        restored++;
      }
    }
    open.clear();
    ledger.relinkSuccessors(grantedSeen);
    grantedSeen.clear();
    startedSeen.forEach(ledger::started);
    startedSeen.clear();
    metrics.leasesRebuilt.increment(restored);
    if (spend != null) {
      spend.finish(nowMs, ledger.held().keySet());
      spend = null;
    }
    LOG.info("dispatcher {} rebuilt {} in-flight leases from {}, {} assignments and {} feedback records",
        instanceId, restored, snapshot == null ? "no snapshot (lookback " + config.dispatcher().rebuildLookbackMs()
            + " ms)" : "the snapshot of " + Instant.ofEpochMilli(snapshot.atMs()) + " (" + snapshot.leases().size()
            + " leases)", read, feedbackRead);
    snapshot = null;
    return new Rebuilt(restored, read, feedbackRead);
  }

  /** A fleet event or cancel of the lookback. Unreadable ones were dead-lettered when they arrived. */
  private void replay(Inbound r, Map<String, Lease> open, long nowMs) {
    if (r.topic().equals(config.topics().cancels())) {
      String jobId = FeedbackRecords.cancelledJobId(r);
      if (jobId != null) {
        cancelled.add(jobId);
      }
      return;
    }
    if (SpendSnapshot.is(r)) {
      if (spend != null) {
        spend.snapshot(r);
      }
      return;
    }
    FleetEvent e;
    try {
      e = FeedbackRecords.fleetEvent(r);
    } catch (RuntimeException ex) {
      LOG.debug("skipping unreadable fleet event {}-{}@{}", r.topic(), r.partition(), r.offset());
      return;
    }
    long at = r.timestamp();
    switch (e.type()) {
      case LEASE_RELEASED -> {
        if (e.outcome() == LeaseOutcome.HANDED_BACK) {
          return; // the assignment ran again under the same lease
        }
        if (e.leaseId() != null) {
          releasedSeen.add(e.leaseId());
          Lease l = open.remove(e.leaseId());
          Long used = e.usage() == null ? null : e.usage().totalTokens();
          if (l != null) {
            ledger.restoreEnded(l, used == null ? l.reservedTokens() : used, nowMs);
          } else if (snapshot != null) {
            ledger.restoreReleased(e.leaseId(), used, nowMs); // a lease of the snapshot
          }
        }
        keyFeedback.released(e, at, nowMs);
        if (spend != null) {
          spend.released(e);
        }
      }
      case LEASE_STARTED -> {
        if (e.leaseId() != null && (open.containsKey(e.leaseId()) || ledger.held().containsKey(e.leaseId()))) {
          startedSeen.add(e.leaseId()); // held now: may take a successor once restored
        }
      }
      case LEASE_GRANTED -> {
        if (e.leaseId() != null && (open.containsKey(e.leaseId()) || ledger.held().containsKey(e.leaseId()))) {
          grantedSeen.add(e.leaseId()); // its call may run already: it must not wait for its predecessor again
        }
      }
      case WORKER_HEARTBEAT -> {
        // the status board only shows live workers
      }
    }
  }

  /** An archived assignment of the lookback: answered when its lease was still open. */
  private void archived(Inbound r, Map<String, Lease> open, long nowMs) {
    ArchivedAssignment x = FeedbackRecords.archived(r);
    if (!x.readable()) {
      return; // logged when it arrived
    }
    Lease l = open.remove(x.assignment().leaseId());
    if (l != null && config.keys().containsKey(l.keyId())) {
      ledger.restoreEnded(l, l.reservedTokens(), nowMs);
    }
    boolean held = l != null;
    if (!held && snapshot != null) { // a lease of the snapshot: held, or expired without a release
      boolean expired = ledger.expiredUnreleased(x.assignment().leaseId());
      held = ledger.restoreReleased(x.assignment().leaseId(), null, nowMs) || expired;
    }
    // Not read back (older than the lookback) and no release of it in the window either: answering it beats losing
    // the job. A release in the window (a worker's, or the dispatcher's answer to this very dead letter) means done.
    boolean unknown = ledger.beforeKnown(x.assignment()) && !releasedSeen.contains(x.assignment().leaseId());
    Decision.Archived answer = ledger.answer(x, held || unknown, nowMs);
    if (answer != null) {
      outbox.archived(answer, r);
    }
  }

  /**
   * The prompt estimate of an assignment read back: on its route when the route is still configured, else the
   * largest of its model's chain, else with the configuration's default image and attachment estimates.
   */
  private long promptOf(Assignment a) {
    TokenEstimator.Estimate e = tokens.estimate(a.job());
    if (e.unsizedImages() == 0 && e.attachments() == 0) {
      return e.fixedTokens();
    }
    List<RouteSettings> chain = config.model(a.job().model()).map(m -> m.routes()).orElse(List.of());
    for (RouteSettings r : chain) {
      if (a.route() != null && r.toRoute(a.job().model()).name().equals(a.route().name())) {
        return e.forRoute(r);
      }
    }
    return chain.isEmpty() ? e.forRoute(DEFAULT_ROUTE) : e.max(chain);
  }
}
