package io.promptfleet.dispatcher.tenant;

import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.JobError;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.dispatcher.intake.CancelledJobs;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.intake.Outbox;
import io.promptfleet.dispatcher.intake.Pending;
import io.promptfleet.dispatcher.schedule.ReadyQueues;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.apache.kafka.common.TopicPartition;

/**
 * Jobs taken out of the ready queues because their tenant's budget has no room for them now ({@link TenantBudgets}):
 * they wait here, per tenant, in the order they came, so the other tenants' jobs go on. Their records' offsets stay
 * open (nothing is committed past them), and they count against their lane's buffer like queued jobs, so memory
 * stays bounded by configuration. While a job of a tenant's own job topic partition waits, that partition is paused
 * ({@link #pauseOrResume}): its backlog stays in Kafka instead of piling up here, and the lanes (which the other
 * tenants share) never fill with it. Nothing behind a waiting job could be committed anyway.
 *
 * <p>Each round ({@link #release}) a tenant's waiting jobs go back to the ready queues when its budget moved (a
 * reservation settled or was undone) or the UTC day changed, and a job whose deadline passed or that was cancelled
 * is answered once ({@code expired} naming the budget, or {@code cancelled}).
 *
 * <p>Not thread-safe: owned by the dispatcher thread.
 */
public final class BudgetWaits {

  /** A waiting job, and the budget state it waits for to change. */
  private record Held(Pending p, long version, long day) {}

  private final TenantBudgets budgets;
  private final CancelledJobs cancelled;
  private final Predicate<String> tenantTopic;
  private final Map<String, ArrayDeque<Held>> byTenant = new LinkedHashMap<>();
  /** Tenant job partitions this paused because a job of theirs waits. */
  private final Set<TopicPartition> paused = new HashSet<>();
  private final EnumMap<Lane, Integer> perLane = new EnumMap<>(Lane.class);
  private int size;

  /**
   * @param tenantTopic whether a topic is a tenant's own job topic (its partitions pause while a job of it waits;
   *                    shared, retry and spill partitions never do)
   */
  public BudgetWaits(TenantBudgets budgets, CancelledJobs cancelled, Predicate<String> tenantTopic) {
    this.tenantTopic = tenantTopic;
    this.budgets = budgets;
    this.cancelled = cancelled;
    for (Lane l : Lane.values()) {
      perLane.put(l, 0);
    }
  }

  /** A job of {@code tenant} waits until its budget moves or the day changes. */
  public void hold(String tenant, Pending p, long nowMs) {
    byTenant.computeIfAbsent(tenant, t -> new ArrayDeque<>())
        .add(new Held(p, budgets.version(tenant), TenantBudgets.dayOf(nowMs)));
    perLane.merge(p.lane(), 1, Integer::sum);
    size++;
  }

  /**
   * Answers the waiting jobs that expired or were cancelled (into the outbox) and puts back into the ready queues
   * those whose tenant's budget moved or whose day ended.
   */
  public void release(long nowMs, ReadyQueues<Pending> queues, Outbox outbox) {
    if (size == 0) {
      return;
    }
    long today = TenantBudgets.dayOf(nowMs);
    for (var e : byTenant.entrySet()) {
      long version = budgets.version(e.getKey());
      for (Iterator<Held> it = e.getValue().iterator(); it.hasNext(); ) {
        Held h = it.next();
        Pending p = h.p();
        Job job = p.dispatch().job();
        boolean cancel = cancelled.contains(job.jobId());
        boolean expired = p.dispatch().deadline() != null && nowMs >= p.dispatch().deadline().toEpochMilli();
        if (cancel || expired) {
          String msg = cancel ? "cancelled before it ran" : "the job's deadline " + p.dispatch().deadline()
              + " passed while it waited for tenant " + e.getKey() + "'s daily budget";
          outbox.add(p.tp(), p.offset(), new Decision.Answer(job.replyTo(), Result.terminal(job.jobId(),
              cancel ? JobStatus.CANCELLED : JobStatus.EXPIRED,
              new JobError(cancel ? ErrorCodes.CANCELLED : ErrorCodes.DEADLINE_EXCEEDED, msg, false),
              job.metadata(), p.dispatch().attempt() - 1)), null);
        } else if (h.version() != version || h.day() != today) {
          queues.add(p.group(), p.lane(), p);
        } else {
          continue;
        }
        it.remove();
        perLane.merge(p.lane(), -1, Integer::sum);
        size--;
      }
    }
    byTenant.values().removeIf(ArrayDeque::isEmpty);
  }

  /**
   * Pauses each tenant job partition a waiting job was read from (again every round: a lane's resume may have
   * resumed it), and resumes those that no job waits from any more.
   */
  public void pauseOrResume(Consumer<TopicPartition> pause, Consumer<TopicPartition> resume) {
    Set<TopicPartition> waiting = new HashSet<>();
    for (ArrayDeque<Held> q : byTenant.values()) {
      for (Held h : q) {
        if (tenantTopic.test(h.p().tp().topic())) {
          waiting.add(h.p().tp());
        }
      }
    }
    for (Iterator<TopicPartition> it = paused.iterator(); it.hasNext(); ) {
      TopicPartition tp = it.next();
      if (!waiting.contains(tp)) {
        it.remove();
        resume.accept(tp);
      }
    }
    for (TopicPartition tp : waiting) {
      pause.accept(tp);
      paused.add(tp);
    }
  }

  /** Tenant job partitions paused now because a job of theirs waits. */
  public Set<TopicPartition> paused() {
    return Collections.unmodifiableSet(paused);
  }

  /** Jobs waiting in a lane (they count against its buffer). */
  public int held(Lane lane) {
    return perLane.get(lane);
  }

  public int size() {
    return size;
  }

  /** Partitions were revoked: their waiting jobs are dropped (the next owner reads them again). */
  public void revoked(Collection<TopicPartition> partitions) {
    paused.removeAll(partitions); // assigned again, a partition starts unpaused
    for (ArrayDeque<Held> q : byTenant.values()) {
      for (Iterator<Held> it = q.iterator(); it.hasNext(); ) {
        Held h = it.next();
        if (partitions.contains(h.p().tp())) {
          it.remove();
          perLane.merge(h.p().lane(), -1, Integer::sum);
          size--;
        }
      }
    }
    byTenant.values().removeIf(ArrayDeque::isEmpty);
  }

  /** Standing by or rewound: nothing waits (the records are read again; the loop owner resumes what it reads). */
  public void clear() {
    paused.clear();
    byTenant.clear();
    perLane.replaceAll((l, n) -> 0);
    size = 0;
  }
}
