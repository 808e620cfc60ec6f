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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a dispatcher does when it becomes the active one: it starts a new lease term and rebuilds the lease table
 * and the rate windows from the records the loop owner read back from Kafka for the last
 * {@code rebuild_lookback_ms} ({@link #readFromMs}).
 *
 * <p>Every assignment written in the lookback holds a lease unless a {@code lease_released} event released it or
 * it expired; released ones still count in the rate windows (with the usage their release reported). Cooldowns,
 * disabled keys and remote budgets still running are restored, and cancels are remembered. The tenants' spend of
 * today is rebuilt from their newest spend snapshots and the assignments and releases since ({@link SpendRebuild}). Archived assignments
 * (the share group's dead-letter queue) are applied after every release, so only a lease nobody released is
 * answered: a dead letter its predecessor answered finds the dispatcher-made release and gets nothing.
 *
 * <p>Not thread-safe: called on the dispatcher thread. Holds no Kafka client: the records are handed to it.
 */
public final class Takeover {
  /** Leases a {@code lease_released} event of the window names, known or not (an activation's scratch). */
  private final Set<String> releasedSeen = new HashSet<>();
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
   * Starts the term (lease ids begin with {@code leasePrefix}) and rebuilds.
   *
   * @param assignments the records of {@code llm.assignments} since {@link #readFromMs}
   * @param feedback    the records of the fleet events, cancels and the assignments' dead-letter queue since then,
   *                    each partition in offset order
   */
  public Rebuilt activate(String leasePrefix, List<Inbound> assignments, List<Inbound> feedback, long nowMs) {
    ledger.startTerm(leasePrefix);
    ledger.knownSince(readFromMs(nowMs));
    releasedSeen.clear();
    spend = budgets == null ? null : budgets.rebuild();
    Map<String, Lease> open = new HashMap<>();
    int read = 0;
    for (Inbound r : assignments) {
      try {
        Assignment a = Json.read(r.value(), Assignment.class);
        Instant deadline = a.deadline() == null ? Instant.ofEpochMilli(r.timestamp())
            .plusMillis(config.dispatcher().defaultJobTtlMs()) : a.deadline();
        long at = a.dispatchedAt() == null ? r.timestamp() : a.dispatchedAt().toEpochMilli();
        long reserve = promptOf(a) + TokenLimits.reserved(a.job(),
            a.route() == null ? null : a.route().defaultMaxTokens());
        open.put(a.leaseId(), new Lease(a.leaseId(), a.keyId(), a.job().jobId(),
            a.route() == null ? null : a.route().name(), deadline.plusMillis(config.dispatcher().leaseGraceMs()),
            reserve, at));
        if (spend != null) {
          spend.assignment(a, reserve, at);
        }
        ids.seed(a.job().tenant(), a.job().jobId(), at, nowMs);
        read++;
      } catch (RuntimeException e) {
        LOG.debug("skipping unreadable assignment at {}-{}@{}", r.topic(), r.partition(), r.offset());
      }
    }
    List<Inbound> archived = new ArrayList<>();
    for (Inbound r : feedback) {
      if (r.topic().equals(config.topics().assignmentsDlq())) {
        archived.add(r); // after every release in the window: a lease released by anyone is not answered again
      } else {
        replay(r, open, nowMs);
      }
    }
    for (Inbound r : archived) {
      archived(r, open, nowMs);
    }
    int restored = 0;
    for (Lease l : open.values()) {
      if (ledger.restore(l, nowMs)) {
        restored++;
      }
    }
    metrics.leasesRebuilt.increment(restored);
    if (spend != null) {
      spend.finish(nowMs, ledger.held().keySet());
      spend = null;
    }
    LOG.info("dispatcher {} rebuilt {} in-flight leases from {} assignments and {} feedback records (lookback {} ms)",
        instanceId, restored, read, feedback.size(), config.dispatcher().rebuildLookbackMs());
    return new Rebuilt(restored, read, feedback.size());
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
          if (l != null) {
            Long used = e.usage() == null ? null : e.usage().totalTokens();
            ledger.restoreEnded(l, used == null ? l.reservedTokens() : used, nowMs);
          }
        }
        keyFeedback.released(e, at, nowMs);
        if (spend != null) {
          spend.released(e);
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
    // Not read back (older than the lookback) and no release of it in the window either: answering it beats losing
    // the job. A release in the window (a worker's, or the dispatcher's answer to this very dead letter) means done.
    boolean unknown = ledger.beforeKnown(x.assignment()) && !releasedSeen.contains(x.assignment().leaseId());
    Decision.Archived answer = ledger.answer(x, l != null || unknown, nowMs);
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
