package io.promptfleet.worker.successor;

import io.micrometer.core.instrument.Counter;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.FleetEventGist;
import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.common.logging.LogContext;
import io.promptfleet.worker.metrics.WorkerMetrics;
import io.promptfleet.worker.metrics.WorkerMetrics.Spec;
import io.promptfleet.worker.poll.Lane;
import io.promptfleet.worker.stream.ReplyPublisher;
import io.promptfleet.worker.successor.SuccessorWaits.Exit;
import io.promptfleet.worker.successor.SuccessorWaits.Leaving;
import io.promptfleet.worker.successor.SuccessorWaits.Step;
import java.time.Clock;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's side of {@link SuccessorWaits}, which decides; this class acts. A successor assignment or a late copy
 * is claimed when it comes ({@link #admit}: its {@code lease_started} is written at once), and each one that leaves
 * the wait takes its step: {@link Step#START} goes back to the worker's arrival path with why it may start now,
 * {@link Step#HAND_BACK} and {@link Step#WITHDRAW} release its delivery to the share group, the latter also writing
 * a {@code handed_back} release that ends this worker's claim ({@link #withdraw}).
 *
 * <p>Threads: the steps of successors woken by something the worker learnt (a fleet event, a cancel, a call's end,
 * the periodic tick) are taken on the worker's rechecks executor, never on the caller's thread (an event loop, a
 * watcher's thread): starting one may block briefly on a reply topic's metadata. Those that leave inside a lane's or
 * the draining thread's own call ({@link #admit}, {@link #lockLost}, {@link #drain}) are taken on it.
 */
public final class SuccessorHandOver {
  private static final Logger LOG = LoggerFactory.getLogger(SuccessorHandOver.class);

  /**
   * A successor assignment or late copy held in the wait: its delivery, the assignment its claim names, and when the
   * delivery came (claims of a lease written before a redelivery came are its previous holder's).
   */
  public record Held(ConsumerRecord<String, byte[]> record, Lane lane, Assignment assignment, long deliveredAtMs) {}

  /** The worker's arrival path, taken again by a held successor that may start now, with the reason it may. */
  @FunctionalInterface
  public interface Start {
    void start(Held held, Exit why);
  }

  private final String workerId;
  private final SuccessorWaits<Held> waits;
  private final ReplyPublisher publisher;
  private final Clock clock;
  private final Executor steps;
  private final BooleanSupplier draining;
  private final Start start;
  private final Map<Exit, Counter> exits = new EnumMap<>(Exit.class);
  private final Counter lateCopies;

  /**
   * @param steps    where woken successors take their step (the worker's rechecks thread)
   * @param draining true once the worker drains (a hand-back is then logged at DEBUG only)
   */
  public SuccessorHandOver(String workerId, SuccessorWaits<Held> waits, ReplyPublisher publisher, Clock clock,
      Executor steps, BooleanSupplier draining, WorkerMetrics metrics, Start start) {
    this.workerId = workerId;
    this.waits = waits;
    this.publisher = publisher;
    this.clock = clock;
    this.steps = steps;
    this.draining = draining;
    this.start = start;
    metrics.gauge(Spec.SUCCESSORS_WAITING, waits, SuccessorWaits::size);
    for (Exit x : Exit.values()) {
      if (x != Exit.LATE_COPY) {
        exits.put(x, metrics.counter(Spec.SUCCESSORS, x.tag()));
      }
    }
    this.lateCopies = metrics.counter(Spec.LATE_COPIES);
  }

  /**
   * A successor (or, with {@code lateCopy}, an ordinary assignment first delivered long after its dispatch) came:
   * held until its claim, written now, was read back and something lets it leave. On a lane's thread.
   */
  public void admit(Held held, boolean lateCopy, long sinceDispatchMs) {
    Assignment a = held.assignment();
    Leaving<Held> next = waits.admit(new SuccessorWaits.Successor<>(a.leaseId(), lateCopy ? null : a.afterLease(),
        a.job().jobId(), a.deadline() == null ? Long.MAX_VALUE : a.deadline().toEpochMilli(), held));
    if (next != null) {
      step(next); // handed back: the worker drains
      return;
    }
    if (lateCopy) {
      lateCopies.increment();
      LOG.debug("job {} lease {}: first delivered {} ms after its dispatch; claimed, runs once its claim is read "
          + "back", a.job().jobId(), a.leaseId(), sinceDispatchMs);
    } else {
      LOG.debug("job {} lease {}: waits for lease {} to end", a.job().jobId(), a.leaseId(), a.afterLease());
    }
    publisher.event(FleetEvent.leaseStarted(a, workerId, clock.instant()));
  }

  /** A successor that left its wait to start runs now (counted by why; late copies have their own counter). */
  public void started(Exit why) {
    if (why != Exit.LATE_COPY) {
      exits.get(why).increment();
    }
  }

  /** A lease's call on this worker ended with an outcome: the successors waiting for it start (the local hand-over). */
  public void ended(String leaseId) {
    leave(waits.ended(leaseId));
  }

  /** A fleet event was read (after the worker's released leases and claims took it: no lost wake-up). */
  public void accept(FleetEventGist event) {
    leave(waits.accept(event));
  }

  /** A cancel for {@code jobId} was read: a successor of that job starts, to answer without a request. */
  public void cancelled(String jobId) {
    leave(waits.cancelled(jobId));
  }

  /** The periodic look: deadlines passed, predecessors that run nowhere known, claims not read back in time. */
  public void tick() {
    leave(waits.tick());
  }

  /** Held successors of a delivery whose share lock was lost: handed back and withdrawn, on the caller's thread. */
  public void lockLost(Predicate<Held> ofDelivery) {
    waits.drop(ofDelivery).forEach(this::step);
  }

  /** The worker drains: every held successor, and any that comes from now on, is handed back. */
  public void drain() {
    List<Leaving<Held>> waiting = waits.close();
    if (!waiting.isEmpty()) {
      LOG.info("worker {}: handing {} waiting successor assignments back to the share group", workerId,
          waiting.size());
      waiting.forEach(this::step);
    }
  }

  /**
   * Withdraws this worker's claim of an assignment it gives back without a call: a {@code handed_back} release ends
   * only this worker's claim, so a copy of it elsewhere does not hold for a run that will not happen (the dispatcher
   * and the other workers' releases ignore a hand-back).
   */
  public void withdraw(Assignment a) {
    publisher.event(FleetEvent.leaseReleased(a, LeaseOutcome.HANDED_BACK).by(workerId, clock.instant()));
  }

  private void leave(List<Leaving<Held>> leaving) {
    for (Leaving<Held> l : leaving) {
      steps.execute(() -> {
        try {
          LogContext.put(l.successor().jobId(), l.successor().leaseId());
          step(l);
        } catch (RuntimeException e) {
          LOG.error("job {} lease {}: the successor could not be started", l.successor().jobId(),
              l.successor().leaseId(), e);
        } finally {
          LogContext.clear();
        }
      });
    }
  }

  private void step(Leaving<Held> l) {
    Held held = l.successor().held();
    switch (l.step()) {
      case START -> start.start(held, l.why());
      case HAND_BACK, WITHDRAW -> {
        boolean lateCopy = l.successor().afterLease() == null;
        if (!lateCopy) {
          exits.get(Exit.HANDED_BACK).increment();
        }
        if (draining.getAsBoolean()) {
          LOG.debug("job {} lease {}: handed back, the worker drains", l.successor().jobId(), l.successor().leaseId());
        } else if (lateCopy) {
          LOG.info("job {} lease {}: late copy handed back to the share group, its claim withdrawn (its claim was "
              + "not read back in time, or its share lock was lost)", l.successor().jobId(), l.successor().leaseId());
        } else {
          LOG.info("job {} lease {}: successor of lease {} handed back to the share group, its claim withdrawn (its "
              + "predecessor ran nowhere known and its end was not seen, its claim was not read back in time, or its "
              + "share lock was lost)", l.successor().jobId(), l.successor().leaseId(), l.successor().afterLease());
        }
        if (l.step() == Step.WITHDRAW) {
          withdraw(held.assignment());
        }
        held.lane().acknowledge(held.record(), AcknowledgeType.RELEASE);
      }
    }
  }
}
