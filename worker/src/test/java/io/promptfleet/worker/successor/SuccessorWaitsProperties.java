package io.promptfleet.worker.successor;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.FleetEventGist;
import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.worker.successor.SuccessorWaits.Exit;
import io.promptfleet.worker.successor.SuccessorWaits.Leaving;
import io.promptfleet.worker.successor.SuccessorWaits.Successor;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Any interleaving of successors coming, predecessors running here or elsewhere, ending with an outcome or handed
 * back, releases (of every outcome) and grants read, cancels, time and ticks keeps the rule of issue 13: a successor
 * never starts while its predecessor may still run, i.e. never before its predecessor's release (with an outcome) or
 * its own grant was seen, unless its call answers without a request (deadline passed, job cancelled); it is handed
 * back only after its predecessor ran nowhere known for longer than the limit. Claim, then start: a successor that
 * may leave is claimed once, starts only when its own claim is read back (another worker's claim of it changes
 * nothing), and a claim not read back within the limit is withdrawn; each leaves once; and none is held forever once
 * its predecessor runs nowhere. jqwik prints the seed of a failing run.
 * (Claimed on arrival: a successor starts only once its own claim was read back, whatever woke it.) Late copies
 * (no predecessor) come among them: each starts exactly when its claim is read back, and is withdrawn only when that
 * does not happen within the limit.
 */
class SuccessorWaitsProperties {
  private static final int PREDECESSORS = 4;
  private static final int SUCCESSORS = 8;
  private static final long LIMIT_MS = 1_000;

  @Property(tries = 500)
  void shouldNeverStartASuccessorBeforeItsPredecessorEnded(
      @ForAll @Size(min = 20, max = 200) List<@IntRange(min = 0, max = 100_000) Integer> ops) {
    new Run().play(ops);
  }

  /** The world a worker would see, the waits under test, and what was seen. */
  private static final class Run {
    final Set<String> runningHere = new HashSet<>();
    final Set<String> claimedElsewhere = new HashSet<>();
    final Set<String> released = new HashSet<>();
    final Set<String> grantsSeen = new HashSet<>();
    final Set<String> cancelled = new HashSet<>();
    /**
     * When each predecessor was last seen running at a tick (the waits look at ticks: a run that began and ended
     * between two is not seen, as a worker's liveness is coarse anyway).
     */
    final Map<String, Long> seenRunning = new HashMap<>();
    final Map<String, Successor<String>> admitted = new HashMap<>();
    final Map<String, Long> admittedAt = new HashMap<>();
    final Set<String> left = new HashSet<>();
    /** Successors whose claim was written (on arrival), and when. */
    final Map<String, Long> claimedAt = new HashMap<>();
    /** Successors whose claim was read back. */
    final Set<String> readBack = new HashSet<>();
    long now = 1_000_000;
    final SuccessorWaits<String> waits = new SuccessorWaits<>("self", released::contains,
        l -> runningHere.contains(l) || claimedElsewhere.contains(l), cancelled::contains, 1_000, 600_000,
        () -> now, () -> LIMIT_MS);

    void play(List<Integer> ops) {
      for (int op : ops) {
        int arg = op / 16;
        String l = "L" + arg % PREDECESSORS;
        String s = "S" + arg % SUCCESSORS;
        switch (op % 16) {
          case 0, 1, 2 -> admit(s, arg);
          case 3 -> setRunning(l, runningHere, true);
          case 4 -> { // its call ends here with an outcome: released here first, then the hand-over
            if (runningHere.contains(l)) {
              released.add(l);
              setRunning(l, runningHere, false);
              check(waits.ended(l));
            }
          }
          case 5 -> setRunning(l, runningHere, false); // handed back: no release, it runs again elsewhere
          case 6 -> setRunning(l, claimedElsewhere, true);
          case 7 -> setRunning(l, claimedElsewhere, false); // its worker went silent, or handed it back
          case 8 -> { // a release read from the fleet events, of any outcome
            LeaseOutcome outcome = LeaseOutcome.values()[arg % LeaseOutcome.values().length];
            if (outcome != LeaseOutcome.HANDED_BACK) {
              released.add(l);
              claimedElsewhere.remove(l);
              runningHere.remove(l);
            }
            check(waits.accept(new FleetEventGist(FleetEvent.Type.LEASE_RELEASED, now, "w", l, outcome)));
          }
          case 9 -> {
            grantsSeen.add(s);
            check(waits.accept(new FleetEventGist(FleetEvent.Type.LEASE_GRANTED, now, "d", s, null)));
          }
          case 10 -> {
            cancelled.add("job-" + s);
            check(waits.cancelled("job-" + s));
          }
          case 11, 12 -> now += 50L * (1 + arg % 30);
          case 13 -> { // this worker's claim read back (only one it wrote)
            if (claimedAt.containsKey(s) && !left.contains(s)) {
              readBack.add(s);
              check(waits.accept(new FleetEventGist(FleetEvent.Type.LEASE_STARTED, now, "self", s, null)));
            }
          }
          case 14 -> assertThat(waits.accept(new FleetEventGist(FleetEvent.Type.LEASE_STARTED, now, "other", s,
              null))).as("another worker's claim of %s", s).isEmpty();
          default -> tick();
        }
        assertThat(waits.size()).isEqualTo(admitted.size() - left.size());
      }
      // Once no predecessor runs anywhere, nothing waits for longer than the limit
      runningHere.clear();
      claimedElsewhere.clear();
      tick();
      now += LIMIT_MS + 1;
      tick(); // a successor handed back, or claimed (its deadline, say) and not read back
      now += LIMIT_MS + 1;
      tick(); // withdrawn
      assertThat(waits.size()).as("none is held forever").isZero();
      assertThat(left).isEqualTo(admitted.keySet());
    }

    void admit(String s, int arg) {
      if (admitted.containsKey(s)) {
        return; // one delivery of each successor here
      }
      String after = arg % 5 == 4 ? null : "L" + (arg / SUCCESSORS) % PREDECESSORS; // null: a late copy
      long deadline = arg % 3 == 0 ? now + 100L * (arg % 50) : Long.MAX_VALUE;
      Successor<String> successor = new Successor<>(s, after, "job-" + s, deadline, s);
      admitted.put(s, successor);
      admittedAt.put(s, now);
      assertThat(waits.admit(successor)).as("held (the worker claims it now)").isNull();
      claimedAt.put(s, now);
    }

    void setRunning(String l, Set<String> where, boolean runs) {
      if (runs) {
        where.add(l);
      } else {
        where.remove(l);
      }
    }

    void tick() {
      for (int i = 0; i < PREDECESSORS; i++) {
        String l = "L" + i;
        if (runningHere.contains(l) || claimedElsewhere.contains(l)) {
          seenRunning.put(l, now);
        }
      }
      check(waits.tick());
    }

    void check(List<Leaving<String>> leaving) {
      for (Leaving<String> out : leaving) {
        Successor<String> s = out.successor();
        assertThat(left).as("%s is not held any more", s.leaseId()).doesNotContain(s.leaseId());
        switch (out.step()) {
          case START -> {
            assertThat(readBack).as("%s starts only once its claim was read back", s.leaseId())
                .contains(s.leaseId());
            checkWhy(out);
          }
          case WITHDRAW -> {
            if (!readBack.contains(s.leaseId())) {
              assertThat(now - claimedAt.get(s.leaseId())).as("%s's claim, never read back, withdrawn only after "
                  + "the limit", s.leaseId()).isGreaterThan(LIMIT_MS);
            } else {
              checkWhy(out);
            }
          }
          default -> throw new AssertionError(out.step() + " of an admitted successor");
        }
        left.add(s.leaseId());
      }
    }

    /** Why a successor left (started or handed back) holds. */
    void checkWhy(Leaving<String> out) {
      Successor<String> s = out.successor();
      String after = s.afterLease();
      switch (out.why()) {
        case LOCAL, RELEASED, GRANTED -> assertThat(released.contains(after) || grantsSeen.contains(s.leaseId()))
            .as("%s starts (%s) only once %s's release or its own grant was seen", s.leaseId(), out.why(), after)
            .isTrue();
        case DEADLINE -> assertThat(now).as("%s's deadline passed", s.leaseId()).isGreaterThanOrEqualTo(
            s.deadlineMs());
        case CANCELLED -> assertThat(cancelled).contains(s.jobId());
        case LATE_COPY -> assertThat(after).as("%s leaves as a late copy only if it has no predecessor", s.leaseId())
            .isNull();
        case HANDED_BACK -> {
          assertThat(after).as("late copy %s handed back with its claim read back", s.leaseId()).isNotNull();
          assertThat(runningHere.contains(after) || claimedElsewhere.contains(after))
              .as("%s handed back while %s runs", s.leaseId(), after).isFalse();
          long since = Math.max(seenRunning.getOrDefault(after, 0L), admittedAt.get(s.leaseId()));
          assertThat(now - since).as("%s handed back only after %s ran nowhere for longer than the limit",
              s.leaseId(), after).isGreaterThan(LIMIT_MS);
        }
        default -> throw new AssertionError(out.why());
      }
      if (out.why() == Exit.LOCAL) {
        assertThat(released).contains(after);
      }
    }
  }
}
