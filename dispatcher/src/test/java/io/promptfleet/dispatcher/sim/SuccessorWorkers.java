package io.promptfleet.dispatcher.sim;

import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.FleetEventGist;
import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.common.kafka.FleetEventHeaders;
import io.promptfleet.common.codec.Json;
import io.promptfleet.dispatcher.sim.Simulation.LeaseFact;
import io.promptfleet.dispatcher.sim.Simulation.WorkerState;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;
import org.apache.kafka.common.header.Headers;

/**
 * The workers' side of successor assignments ({@code dispatcher.successors}, issue 13) in a {@link Simulation}, as
 * docs/DESIGN.md "Successor assignments, the worker's side" states the rules: a worker that gets an ordinary
 * assignment starts its call at once and writes {@code lease_started} (with its gist header, as real workers do);
 * one that gets a successor S ({@code after_lease} L) holds it without a call until L's call is known to have ended
 * — L's last call ended with an outcome on S's worker (the local hand-over), L's {@code lease_released} with an
 * outcome other than handed_back is on the fleet events (its worker's, or the dispatcher's answer to L's archived
 * assignment), or a committed {@code lease_granted} for S is — and then
 * starts it (and writes its {@code lease_started}). A waiting S whose job is cancelled, or whose deadline passed, is
 * answered without a call (a cancelled result, or a retry request {@code deadline_exceeded} that the dispatcher
 * answers as expired) and released. A running call past its job's deadline ends there too (the worker's
 * {@code AttemptTimers}): no call outlives its deadline, so none outlives its lease.
 *
 * <p>Every modelled lease is "at the provider" while {@link LeaseFact#calling}; {@link Invariants} checks that no key
 * ever has more such calls than its max_concurrency. Counts what happened, so a run can show that successors were
 * really dispatched, started and granted. Not thread-safe.
 */
final class SuccessorWorkers {
  private final Simulation sim;
  /** Successors whose {@code lease_granted} a committed transaction wrote. */
  private final Set<String> granted = new HashSet<>();
  /** Leases the dispatcher released itself (an archived assignment's answer), with an outcome. */
  private final Set<String> releasedByDispatcher = new HashSet<>();
  int dispatched;
  int grants;
  int startedLocal;
  int startedReleased;
  int startedGranted;
  int withoutCall;
  /** The most calls one key ever had at the provider at once. */
  int peakCalls;

  SuccessorWorkers(Simulation sim) {
    this.sim = sim;
  }

  /** How many successors started their call, whatever let them. */
  int started() {
    return startedLocal + startedReleased + startedGranted;
  }

  /**
   * A committed transaction wrote a fleet event: a lease_granted names a successor that may start now; a
   * lease_released (the answer to an archived assignment) ends its lease for the workers as a worker's would.
   */
  void written(byte[] value, Headers headers) {
    FleetEventGist g = FleetEventHeaders.gist(headers);
    FleetEvent.Type type = g == null ? null : g.type();
    String leaseId = g == null ? null : g.leaseId();
    LeaseOutcome outcome = g == null ? null : g.outcome();
    if (g == null) {
      try {
        FleetEvent e = Json.read(value, FleetEvent.class);
        type = e.type();
        leaseId = e.leaseId();
        outcome = e.outcome();
      } catch (RuntimeException notAnEvent) {
        return; // a snapshot of the dispatcher's state, not an event
      }
    }
    if (leaseId == null) {
      return;
    }
    if (type == FleetEvent.Type.LEASE_GRANTED && granted.add(leaseId)) {
      grants++;
    } else if (type == FleetEvent.Type.LEASE_RELEASED && outcome != null && outcome != LeaseOutcome.HANDED_BACK) {
      releasedByDispatcher.add(leaseId);
    }
  }

  boolean wasGranted(String leaseId) {
    return granted.contains(leaseId);
  }

  /** A committed assignment reaches a worker (its first delivery, or again after a hand-back or a crash). */
  void delivered(LeaseFact l) {
    l.worker = WorkerState.RUNNING;
    l.calling = false;
    l.workerId = "w" + Math.floorMod((l.id() + "#" + l.deliveries).hashCode(), 3);
    if (l.after == null) {
      start(l);
    } else if (l.deliveries == 1) {
      dispatched++;
    }
  }

  /**
   * The workers act on what they can see now: calls past their deadline end, waiting successors whose job was
   * cancelled or whose deadline passed are answered without a call, and the others start when their predecessor's
   * call is known to have ended.
   */
  void act() {
    long now = sim.clock.millis();
    for (LeaseFact l : sim.running()) {
      boolean late = now >= l.a.deadline().toEpochMilli();
      if (l.calling) {
        if (late) {
          sim.deadlineExceeded(l);
        }
        continue;
      }
      if (l.job.cancelled) {
        withoutCall++;
        sim.answerCancelledWithoutCall(l);
      } else if (late) {
        withoutCall++;
        sim.deadlineExceeded(l);
      } else {
        LeaseFact p = sim.leases.get(l.after);
        if (p != null && l.workerId.equals(p.endedOn)) {
          startedLocal++;
          start(l);
        } else if (p != null && p.releaseOffset >= 0 || releasedByDispatcher.contains(l.after)) {
          startedReleased++;
          start(l);
        } else if (granted.contains(l.id())) {
          startedGranted++;
          start(l);
        }
      }
    }
  }

  /** The worker starts the call and tells the fleet (lease_started, with its gist header). */
  private void start(LeaseFact l) {
    l.calling = true;
    long now = sim.clock.millis();
    FleetEvent e = FleetEvent.leaseStarted(l.a, l.workerId, Instant.ofEpochMilli(now));
    sim.kafka.append(Simulation.T.fleetEvents(), l.key(), Json.bytes(e), FleetEventHeaders.of(e), now);
  }

  /** The calls at the provider now, per key, never above its max_concurrency (the safety property). */
  void checkProvider(Invariants invariants) {
    for (var e : sim.config.keys().entrySet()) {
      int calls = 0;
      for (LeaseFact l : sim.leases.values()) {
        if (l.calling && l.worker == WorkerState.RUNNING && l.key().equals(e.getKey())) {
          calls++;
        }
      }
      peakCalls = Math.max(peakCalls, calls);
      if (calls > e.getValue().maxConcurrency()) {
        throw invariants.violation("8", "key " + e.getKey() + " has " + calls + " calls at the provider, "
            + "max_concurrency " + e.getValue().maxConcurrency() + ": " + sim.leases.values().stream()
            .filter(l -> l.calling && l.worker == WorkerState.RUNNING && l.key().equals(e.getKey()))
            .map(l -> l.id() + (l.after == null ? "" : " after " + l.after + (granted.contains(l.id())
                ? " (granted)" : ""))).toList());
      }
    }
  }

  @Override
  public String toString() {
    return "successors dispatched " + dispatched + ", granted " + grants + ", started " + started() + " (local "
        + startedLocal + ", released " + startedReleased + ", granted " + startedGranted + "), answered without a "
        + "call " + withoutCall + "; peak calls on a key " + peakCalls;
  }

  static boolean endsCall(Step.Outcome o) {
    return switch (o) {
      case HANDED_BACK, WORKER_CRASH, POISON -> false;
      default -> true;
    };
  }
}
