package io.promptfleet.dispatcher.transaction;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.kafka.FleetEventHeaders;
import io.promptfleet.common.config.TopicSettings;
import io.promptfleet.common.job.DeadLetterHeaders;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.dispatcher.capacity.Lease;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.intake.Inbound;
import io.promptfleet.dispatcher.intake.Outbox;
import io.promptfleet.dispatcher.intake.Pending;
import io.promptfleet.dispatcher.intake.ReplyTopics;
import io.promptfleet.dispatcher.lease.LeaseLedger;
import io.promptfleet.dispatcher.offsets.OffsetTracker;
import io.promptfleet.dispatcher.route.RoutePlanner;
import io.promptfleet.dispatcher.spill.SpillTopics;
import io.promptfleet.dispatcher.schedule.ReadyQueues;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.tenant.BudgetWaits;
import io.promptfleet.dispatcher.tenant.SpendSnapshot;
import io.promptfleet.dispatcher.tenant.TenantBudgets;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.JobError;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one dispatch round writes, in one Kafka transaction: first everything in the {@link Outbox} (results, dead
 * letters with their {@code pf.dlq.*} headers, answers to archived assignments with their {@code lease_released}
 * events), then assignments, the next job of the ready queues at a time ({@link ReadyQueues#next}: priority lanes
 * by weight, aging), each on the route and key the {@link RoutePlanner} finds and under a lease of the
 * {@link LeaseLedger}, until {@value #MAX_RECORDS_PER_TRANSACTION} records or nothing can go. A job that cannot be planned
 * blocks its pool of that model for the rest of the round ({@link RoutePlanner#poolOf}: the shared keys, or a
 * tenant's own); other models, and other pools of the same model, go on. Before a job is planned its tenant's
 * daily budget is checked ({@link TenantBudgets}): a job that does not fit is answered {@code rejected}/{@code
 * budget_exceeded} or waits in {@link BudgetWaits} (other tenants go on), and a dispatched one reserves its worst
 * case; the round ends with the tenants' spend snapshots ({@link SpendSnapshot}) on the fleet events topic. Offsets of every job record answered or
 * assigned are marked done ({@link OffsetTracker}) and committed with the transaction.
 *
 * <p>The loop owner runs the transaction: {@link #write} into its {@link RecordSink}, then commits the
 * {@link #offsetsToCommit()} and calls {@link #committed}; or, when Kafka fails, aborts and calls {@link #aborted},
 * which undoes this round's leases and hands back the entries that would not be read again.
 *
 * <p>Not thread-safe: owned by the dispatcher thread.
 */
public final class TransactionWriter {
  private static final Logger LOG = LoggerFactory.getLogger(TransactionWriter.class);
  /** At most this many records per transaction. */
  public static final int MAX_RECORDS_PER_TRANSACTION = 5_000;

  private final TopicSettings topics;
  private final Outbox outbox;
  private final ReadyQueues<Pending> queues;
  private final RoutePlanner planner;
  private final LeaseLedger ledger;
  private final OffsetTracker offsets;
  private final DispatcherMetrics metrics;
  private final TenantBudgets budgets;
  private final BudgetWaits waits;
  /** Per model group, the capacity pools blocked for this round (asked for every queued tenant on each pick). */
  private final Map<String, Set<String>> blocked = new HashMap<>();
  /** This round's lease_granted events: put back for the next round if its transaction aborts. */
  private List<FleetEvent> grants = List.of();
  /** Leases taken this round: undone if its transaction aborts. */
  private final List<Lease> acquired = new ArrayList<>();
  /** Outbox entries of this round not from a job partition: a rewind does not read them again. */
  private final List<Outbox.Entry> unreplayable = new ArrayList<>();
  private ReplyTopics replyTopics;

  public TransactionWriter(TopicSettings topics, Outbox outbox, ReadyQueues<Pending> queues, RoutePlanner planner,
      LeaseLedger ledger, OffsetTracker offsets, DispatcherMetrics metrics) {
    this(topics, outbox, queues, planner, ledger, offsets, metrics, null, null);
  }

  /** With tenants' budgets (null: none is checked). */
  public TransactionWriter(TopicSettings topics, Outbox outbox, ReadyQueues<Pending> queues, RoutePlanner planner,
      LeaseLedger ledger, OffsetTracker offsets, DispatcherMetrics metrics, TenantBudgets budgets,
      BudgetWaits waits) {
    this.budgets = budgets;
    this.waits = waits;
    this.topics = topics;
    this.outbox = outbox;
    this.queues = queues;
    this.planner = planner;
    this.ledger = ledger;
    this.offsets = offsets;
    this.metrics = metrics;
  }

  /** The listing of existing topics for this term (null while standing by): results never go to a deleted one. */
  public void replyTopics(ReplyTopics topics) {
    this.replyTopics = topics;
  }

  /**
   * Writes this round's records into {@code sink}: the outbox, then assignments. Opens the transaction
   * ({@link RecordSink#begin}) only when there is something to write.
   */
  public void write(RecordSink sink, long nowMs) {
    Instant now = Instant.ofEpochMilli(nowMs);
    blocked.clear();
    acquired.clear();
    unreplayable.clear();
    if (waits != null) {
      waits.release(nowMs, queues, outbox); // expired or cancelled ones answered below, the rest may go again
    }
    // Listed before anything is sent: a send that throws mid-outbox aborts the round, and these must survive it.
    for (Outbox.Entry o : outbox.entries()) {
      if (o.tp() == null) {
        unreplayable.add(o);
      }
    }
    int n = 0;
    for (Outbox.Entry o : outbox.entries()) {
      sink.begin();
      emit(o.decision(), o.source(), sink);
      if (o.tp() != null) {
        offsets.done(o.tp(), o.offset());
      }
      n++;
    }
    outbox.clear();
    grants = ledger.takeGrants(nowMs);
    for (FleetEvent g : grants) {
      sink.begin();
      sink.send(fleetEvent(g));
      n++;
    }
    while (n < MAX_RECORDS_PER_TRANSACTION) {
      ReadyQueues.Choice<Pending> c = queues.next(nowMs, g -> false,
          (g, tenant) -> isBlocked(g, tenant));
      if (c == null) {
        break;
      }
      Pending p = c.item();
      TenantBudgets.Check budget = budgets == null ? null : budgets.check(p, nowMs);
      if (budget != null && budget.verdict() != TenantBudgets.Verdict.GO) {
        queues.skip(c); // not dispatched: the lane's and the tenant's turn is not used up
        n += overBudget(p, budget, sink, nowMs);
        continue;
      }
      RoutePlanner.Plan plan = planner.plan(p, now);
      if (plan == null) {
        // no key of its pool on this model's chain has room: the pool's jobs of the model wait for this round; other
        // models, and tenants of this model with keys of their own, go on
        blocked.computeIfAbsent(c.group(), g -> new HashSet<>()).add(planner.poolOf(c.group(), queues.tenant(c)));
        continue;
      }
      var job = p.dispatch().job();
      Lease lease = plan.successor()
          ? ledger.acquireSuccessor(plan.keyId(), job.jobId(), plan.route().name(), plan.deadline(),
              plan.reservedTokens(), nowMs)
          : ledger.acquire(plan.keyId(), job.jobId(), plan.route().name(), plan.deadline(), plan.reservedTokens(),
              nowMs);
      acquired.add(lease);
      if (budgets != null) {
        budgets.reserve(lease.leaseId(), p, plan.route(), plan.reservedTokens(), nowMs);
      }
      Assignment a = new Assignment(lease.leaseId(), job, p.dispatch().attempt(), p.priority(), plan.route(),
          plan.keyId(), p.dispatch().enqueuedAt(), now, plan.deadline(), job.replyTo(), p.lastError(),
          plan.reservedTokens(), lease.afterLease());
      Outbound record = new Outbound(topics.assignments(), job.jobId(), Json.bytes(a), null);
      sink.begin();
      sink.send(record);
      queues.take(c);
      offsets.done(p.tp(), p.offset());
      metrics.dispatched.increment();
      n++;
    }
    if (budgets != null) {
      budgets.purge(nowMs);
    }
    if (budgets != null && budgets.any()) {
      for (SpendSnapshot s : budgets.snapshotsDue(nowMs)) {
        RecordHeaders h = new RecordHeaders();
        h.add(SpendSnapshot.HEADER, SpendSnapshot.kindBytes());
        sink.begin();
        sink.send(new Outbound(topics.fleetEvents(), s.key(), s.bytes(), h));
      }
    }
  }

  /**
   * A job its tenant's budget has no room for now (taken from its queue): answered rejected, or waiting in
   * {@link BudgetWaits}. Returns the records written.
   */
  private int overBudget(Pending p, TenantBudgets.Check budget, RecordSink sink, long nowMs) {
    var job = p.dispatch().job();
    if (budget.rejects()) {
      metrics.tenantBudgetExceeded(budget.tenant(), "rejected");
      sink.begin();
      emit(new Decision.Answer(job.replyTo(), Result.terminal(job.jobId(), JobStatus.REJECTED,
          new JobError(ErrorCodes.BUDGET_EXCEEDED, budget.message(), false), job.metadata(),
          p.dispatch().attempt() - 1)), null, sink);
      offsets.done(p.tp(), p.offset());
      return 1;
    }
    if (budget.verdict() == TenantBudgets.Verdict.EXCEEDED) {
      metrics.tenantBudgetExceeded(budget.tenant(), "queued");
      LOG.debug("job {} waits for the next UTC day: {}", job.jobId(), budget.message());
    }
    waits.hold(budget.tenant(), p, nowMs);
    return 0;
  }

  private boolean isBlocked(String group, String tenant) {
    Set<String> pools = blocked.get(group);
    return pools != null && pools.contains(planner.poolOf(group, tenant));
  }

  /** The input offsets to commit with this round's transaction (empty when none moved). */
  public Map<TopicPartition, OffsetAndMetadata> offsetsToCommit() {
    return offsets.toCommit();
  }

  /** The transaction committed with these offsets. */
  public void committed(Map<TopicPartition, OffsetAndMetadata> commit) {
    grants = List.of();
    offsets.markCommitted(commit);
  }

  /**
   * The transaction aborted: this round's leases are undone. The caller forgets everything read (the loop owner
   * reads again from the committed offsets), then puts back {@link #unreplayable()}.
   */
  public void aborted(long nowMs) {
    ledger.grantsLost(grants);
    grants = List.of();
    ledger.undo(acquired, nowMs);
    if (budgets != null) {
      budgets.undo(acquired.stream().map(Lease::leaseId).toList(), nowMs);
      waits.clear(); // their records are read again
    }
    acquired.clear();
  }

  /** The outbox entries of the aborted round that no job record will bring back (taken: the list is emptied). */
  public List<Outbox.Entry> unreplayable() {
    List<Outbox.Entry> kept = new ArrayList<>(unreplayable);
    unreplayable.clear();
    return kept;
  }

  /** A fleet event the dispatcher writes, keyed by its key as the workers' are, with its gist header. */
  private Outbound fleetEvent(FleetEvent e) {
    return new Outbound(topics.fleetEvents(), e.keyId(), Json.bytes(e), FleetEventHeaders.of(e));
  }

  private void emit(Decision d, Inbound r, RecordSink sink) {
    if (d instanceof Decision.Duplicate dup) {
      // nothing to write: the offset passes with this transaction; logged at 1, 2, 4, 8, ... (a batch re-run may
      // bring millions)
      metrics.duplicates.increment();
      long n = (long) metrics.duplicates.count();
      if (Long.bitCount(n) == 1) {
        LOG.info("job {} at {}-{}@{}: its job_id was admitted within dispatcher.dedupe_window_ms; not run again, no "
            + "second result ({} such duplicates so far)", dup.jobId(), r.topic(), r.partition(), r.offset(), n);
      }
    } else if (d instanceof Decision.DeadLetter dl) {
      RecordHeaders h = new RecordHeaders();
      r.headers().forEach(h::add);
      h.add(DeadLetterHeaders.REASON, dl.reason().getBytes(StandardCharsets.UTF_8));
      h.add(DeadLetterHeaders.TOPIC, r.topic().getBytes(StandardCharsets.UTF_8));
      h.add(DeadLetterHeaders.PARTITION, Integer.toString(r.partition()).getBytes(StandardCharsets.UTF_8));
      h.add(DeadLetterHeaders.OFFSET, Long.toString(r.offset()).getBytes(StandardCharsets.UTF_8));
      h.add(DeadLetterHeaders.TIMESTAMP, Long.toString(r.timestamp()).getBytes(StandardCharsets.UTF_8));
      sink.send(new Outbound(topics.deadLetters(), r.key(), r.value(), h));
      metrics.deadLettered.increment();
      LOG.info("dead-lettered {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), dl.reason());
      if (dl.answer() != null) {
        emit(dl.answer(), r, sink);
      }
    } else if (d instanceof Decision.Spill o) {
      // the job as it was produced, behind its model's earlier spilled jobs; its offset passes with this transaction
      // (only records of the job topics are diverted, never one read back from a spill partition)
      sink.send(new Outbound(o.to().topic(), o.to().partition(), r.timestamp(), r.key(), r.value(),
          SpillTopics.copyHeaders(r.headers(), r.topic())));
      metrics.spilled(o.to().topic(), o.to().partition());
    } else if (d instanceof Decision.Archived x) {
      sink.send(fleetEvent(x.released()));
      emit(x.answer(), r, sink);
    } else if (d instanceof Decision.Answer a && replyTopics != null && replyTopics.ready()
        && !replyTopics.listed(a.replyTo())) {
      // Checked at intake; it was deleted since. A send would wait max.block.ms for metadata, then abort.
      if (r != null && r.topic().equals(topics.assignmentsDlq())) {
        emit(new Decision.DeadLetter("reply_to topic " + a.replyTo() + " does not exist; the job would have been "
            + a.result().status().wireName() + ": " + a.result().error().message(), null), r, sink);
      } else {
        LOG.error("job {}: its reply topic {} does not exist any more; its {} result is dropped", a.result().jobId(),
            a.replyTo(), a.result().status().wireName());
      }
    } else if (d instanceof Decision.Answer a) {
      sink.send(new Outbound(a.replyTo(), a.result().jobId(), Json.bytes(a.result()), null));
      metrics.answered(a.result().status().wireName());
    }
  }
}
