package io.promptfleet.dispatcher.feedback;

import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.common.codec.CancelRecords;
import io.promptfleet.common.config.TopicSettings;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.FleetEventGist;
import io.promptfleet.common.kafka.FleetEventHeaders;
import io.promptfleet.common.kafka.TopicAdmin;
import io.promptfleet.dispatcher.intake.CancelledJobs;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.intake.Inbound;
import io.promptfleet.dispatcher.intake.Outbox;
import io.promptfleet.dispatcher.lease.ArchivedAssignment;
import io.promptfleet.dispatcher.lease.LeaseLedger;
import io.promptfleet.dispatcher.status.StatusBoard;
import io.promptfleet.dispatcher.tenant.SpendSnapshot;
import io.promptfleet.dispatcher.tenant.TenantBudgets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies the feedback read while active to the dispatcher's state, one record at a time:
 *
 * <ul>
 *   <li>{@code lease_released}: the lease ends ({@link LeaseLedger#released}), then the key's feedback
 *       ({@link KeyFeedback#released}) and the tenant's spend ({@link TenantBudgets#released}); a {@code handed_back} release is ignored (the share group delivers the
 *       assignment again, under the same lease);</li>
 *   <li>{@code worker_heartbeat}: the status board;</li>
 *   <li>a cancel: remembered ({@link CancelledJobs}), and a sweep of the ready queues is due;</li>
 *   <li>an archived assignment (the share group's dead-letter queue): answered once through the ledger;</li>
 *   <li>a tenant spend snapshot ({@link SpendSnapshot}, the dispatcher's own record): skipped;</li>
 *   <li>an unreadable fleet event or cancel: dead-lettered with the reason in the next transaction.</li>
 * </ul>
 *
 * <p>Not thread-safe: owned by the dispatcher thread. The takeover replays the same records differently
 * ({@code ha.Takeover}).
 */
public final class FeedbackRouter {
  private static final Logger LOG = LoggerFactory.getLogger(FeedbackRouter.class);

  private final TopicSettings topics;
  private final LeaseLedger ledger;
  private final KeyFeedback keyFeedback;
  private final CancelledJobs cancelled;
  private final StatusBoard board;
  private final Outbox outbox;
  private final TenantBudgets budgets;

  public FeedbackRouter(TopicSettings topics, LeaseLedger ledger, KeyFeedback keyFeedback, CancelledJobs cancelled,
      StatusBoard board, Outbox outbox) {
    this(topics, ledger, keyFeedback, cancelled, board, outbox, null);
  }

  /** With the tenants' budgets, which a release settles (null: none). */
  public FeedbackRouter(TopicSettings topics, LeaseLedger ledger, KeyFeedback keyFeedback, CancelledJobs cancelled,
      StatusBoard board, Outbox outbox, TenantBudgets budgets) {
    this.budgets = budgets;
    this.topics = topics;
    this.ledger = ledger;
    this.keyFeedback = keyFeedback;
    this.cancelled = cancelled;
    this.board = board;
    this.outbox = outbox;
  }

  /** One record of the fleet events, the cancels or the assignments' dead-letter queue. */
  public void apply(Inbound r, long nowMs) {
    if (r.topic().equals(topics.assignmentsDlq())) {
      archived(r, nowMs);
      return;
    }
    if (r.topic().equals(topics.cancels())) {
      String jobId = FeedbackRecords.cancelledJobId(r);
      if (jobId == null) {
        outbox.deadLetter(r, CancelRecords.UNREADABLE);
      } else {
        cancelled.add(jobId);
      }
      return;
    }
    if (SpendSnapshot.is(r)) {
      return; // written by the active dispatcher for a takeover (ha.Takeover), not a fleet event
    }
    String started = leaseStarted(r);
    if (started != null) {
      // the workers' claims among themselves, not parsed (one such event per attempt); a started lease may be
      // followed by a successor (dispatcher.successors)
      ledger.started(started);
      return;
    }
    FleetEvent e;
    try {
      e = FeedbackRecords.fleetEvent(r);
    } catch (RuntimeException ex) {
      outbox.deadLetter(r, "unreadable fleet event: " + ex.getMessage());
      return;
    }
    long at = r.timestamp();
    switch (e.type()) {
      case LEASE_RELEASED -> {
        if (e.outcome() == LeaseOutcome.HANDED_BACK) {
          // The assignment went back to the share group: another worker runs it under the same lease and
          // releases it then. Releasing now would let a new dispatch take the stream's concurrency twice.
          return;
        }
        ledger.released(e, at, nowMs);
        keyFeedback.released(e, at, nowMs);
        if (budgets != null) {
          budgets.released(e, nowMs);
        }
      }
      case WORKER_HEARTBEAT -> board.heartbeat(e, nowMs);
      case LEASE_STARTED -> {
        if (e.leaseId() != null) {
          ledger.started(e.leaseId()); // one written without a gist header
        }
      }
      case LEASE_GRANTED -> {
        // this dispatcher's own word to the workers: the ledger gave the unit when it wrote it
      }
    }
  }

  /** The lease id of a lease_started event, from the record's gist header (null: another event, or no header). */
  private static String leaseStarted(Inbound r) {
    try {
      FleetEventGist g = FleetEventHeaders.gist(r.headers());
      return g != null && g.type() == FleetEvent.Type.LEASE_STARTED && g.leaseId() != null ? g.leaseId() : null;
    } catch (IllegalArgumentException e) {
      return null; // read whole, and dead-lettered if that fails too
    }
  }

  private void archived(Inbound r, long nowMs) {
    ArchivedAssignment x = FeedbackRecords.archived(r);
    if (!x.readable()) {
      LOG.error("archived assignment {} ({}) cannot be read{}; its job, if any, gets no result", x.where(), x.why(),
          r.value() == null ? " (no value: is " + TopicAdmin.GROUP_DLQ_COPY_RECORD + " off?)" : "");
      return;
    }
    Decision.Archived answer = ledger.archived(x, nowMs);
    if (answer != null) {
      outbox.archived(answer, r);
    }
  }
}
