package io.promptfleet.worker.successor;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.FleetEventGist;
import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.worker.successor.SuccessorWaits.Leaving;
import io.promptfleet.worker.successor.SuccessorWaits.Successor;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SuccessorWaitsTest {
  private static final long LIMIT_MS = 1_000;

  private final Set<String> released = new HashSet<>();
  private final Set<String> running = new HashSet<>();
  private final Set<String> cancelled = new HashSet<>();
  private long now = 1_000_000;
  private final SuccessorWaits<String> waits = new SuccessorWaits<>("self", released::contains, running::contains,
      cancelled::contains, 100, 60_000, () -> now, () -> LIMIT_MS);

  private static Successor<String> successor(String lease, String after) {
    return new Successor<>(lease, after, "job-" + lease, Long.MAX_VALUE, "record-" + lease);
  }

  private static FleetEventGist released(String lease, LeaseOutcome outcome) {
    return new FleetEventGist(FleetEvent.Type.LEASE_RELEASED, 0, "w", lease, outcome);
  }

  private static FleetEventGist granted(String lease) {
    return new FleetEventGist(FleetEvent.Type.LEASE_GRANTED, 0, "dispatcher", lease, null);
  }

  /** This worker's own claim of {@code lease}, read back. */
  private static FleetEventGist claimedHere(String lease) {
    return new FleetEventGist(FleetEvent.Type.LEASE_STARTED, 0, "self", lease, null);
  }

  private static List<String> leases(List<Leaving<String>> out) {
    return out.stream().map(SuccessorWaitsTest::lease).toList();
  }

  /** Admits {@code s} and reads its claim back, as the worker's watcher would within a hop. */
  private Leaving<String> admitClaimed(Successor<String> s) {
    Leaving<String> next = waits.admit(s);
    assertThat(next).as("held").isNull();
    List<Leaving<String>> started = waits.accept(claimedHere(s.leaseId()));
    return started.isEmpty() ? null : started.get(0);
  }

  private static String lease(Leaving<String> l) {
    return l.successor().leaseId() + ":" + l.why().tag() + ":" + l.step().name().toLowerCase(java.util.Locale.ROOT);
  }

  @Test
  void shouldHoldASuccessorWhosePredecessorRunsHereAndStartItWhenThatCallEnds() {
    running.add("L");

    assertThat(admitClaimed(successor("S", "L"))).isNull();
    assertThat(waits.size()).isEqualTo(1);
    assertThat(waits.tick()).isEmpty();
    assertThat(waits.ended("other")).isEmpty();

    assertThat(leases(waits.ended("L"))).containsExactly("S:local:start");
    assertThat(waits.size()).isZero();
    assertThat(waits.ended("L")).as("once").isEmpty();
  }

  @Test
  void shouldStartOnlyOnceItsOwnClaimIsReadBack() {
    running.add("L");
    assertThat(waits.admit(successor("S", "L"))).isNull();
    assertThat(waits.ended("L")).as("its claim is not back yet").isEmpty();
    assertThat(waits.size()).isEqualTo(1);

    assertThat(waits.accept(new FleetEventGist(FleetEvent.Type.LEASE_STARTED, 0, "other", "S", null)))
        .as("another worker's claim").isEmpty();
    assertThat(waits.accept(granted("S"))).as("woken already: not woken twice").isEmpty();
    assertThat(waits.tick()).isEmpty();
    assertThat(leases(waits.accept(claimedHere("S")))).containsExactly("S:local:start");
    assertThat(waits.accept(claimedHere("S"))).as("once").isEmpty();
    assertThat(waits.size()).isZero();
  }

  @Test
  void shouldWithdrawAClaimNotReadBackWithinTheLimit() {
    running.add("L");
    waits.admit(successor("S", "L"));

    now += LIMIT_MS;
    assertThat(waits.tick()).isEmpty();
    now += 1;
    assertThat(leases(waits.tick())).containsExactly("S:handed_back:withdraw");
    assertThat(waits.size()).isZero();
  }

  /**
   * A late copy (no predecessor) waits for its claim only: not for a release, a grant or the liveness limit of a
   * predecessor; withdrawn if the claim is not back within the limit, and handed back (withdrawn) by a close.
   */
  @Test
  void shouldStartALateCopyOnceItsClaimIsReadBackAndOnlyThen() {
    assertThat(waits.admit(successor("C", null))).as("held").isNull();
    now += LIMIT_MS; // at the limit, not past it
    assertThat(waits.tick()).as("no predecessor to run nowhere known").isEmpty();
    assertThat(waits.accept(released("C", LeaseOutcome.SUCCEEDED))).as("its own release is not a wake-up").isEmpty();
    assertThat(waits.accept(new FleetEventGist(FleetEvent.Type.LEASE_STARTED, 0, "other", "C", null)))
        .as("another worker's claim").isEmpty();
    assertThat(leases(waits.accept(claimedHere("C")))).containsExactly("C:late_copy:start");
    assertThat(waits.size()).isZero();

    assertThat(waits.admit(successor("D", null))).isNull();
    now += LIMIT_MS + 1;
    assertThat(leases(waits.tick())).as("its claim not back in time").containsExactly("D:handed_back:withdraw");
    assertThat(waits.admit(successor("E", null))).isNull();
    assertThat(leases(waits.close())).containsExactly("E:handed_back:withdraw");
  }

  @Test
  void shouldStartOnceItsClaimIsBackWhenThePredecessorsReleaseOrTheGrantWasSeenBefore() {
    released.add("L1");
    waits.accept(granted("S2"));

    assertThat(waits.admit(successor("S1", "L1"))).isNull();
    assertThat(waits.admit(successor("S2", "L2"))).isNull();
    assertThat(waits.granted("S2")).isTrue();
    assertThat(waits.size()).isEqualTo(2);
    assertThat(leases(waits.accept(claimedHere("S1")))).containsExactly("S1:released:start");
    assertThat(leases(waits.accept(claimedHere("S2")))).containsExactly("S2:granted:start");
    assertThat(waits.size()).isZero();
  }

  @Test
  void shouldStartWhenThePredecessorsReleaseWithAnOutcomeIsRead() {
    running.add("L");
    admitClaimed(successor("S", "L"));

    assertThat(waits.accept(released("L", LeaseOutcome.HANDED_BACK))).as("handed back: L runs again").isEmpty();
    assertThat(waits.accept(new FleetEventGist(FleetEvent.Type.LEASE_STARTED, 0, "w", "L", null))).isEmpty();
    assertThat(waits.accept(released("S", LeaseOutcome.SUCCEEDED))).as("S's own release is no wake-up").isEmpty();

    assertThat(leases(waits.accept(released("L", LeaseOutcome.RETRY)))).containsExactly("S:released:start");
  }

  @Test
  void shouldStartWhenItsGrantIsRead() {
    running.add("L");
    admitClaimed(successor("S", "L"));

    assertThat(waits.accept(granted("L"))).as("L's grant is not S's").isEmpty();
    assertThat(leases(waits.accept(granted("S")))).containsExactly("S:granted:start");
  }

  @Test
  void shouldStartWhenItsDeadlinePassesOrItsJobIsCancelled() {
    running.add("L");
    admitClaimed(new Successor<>("S1", "L", "job-1", now + 500, "r1"));
    admitClaimed(new Successor<>("S2", "L", "job-2", Long.MAX_VALUE, "r2"));

    now += 499;
    assertThat(waits.tick()).isEmpty();
    now += 1;
    assertThat(leases(waits.tick())).containsExactly("S1:deadline:start");
    assertThat(waits.cancelled("job-x")).isEmpty();
    assertThat(leases(waits.cancelled("job-2"))).containsExactly("S2:cancelled:start");

    cancelled.add("job-3");
    assertThat(lease(admitClaimed(new Successor<>("S3", "L", "job-3", Long.MAX_VALUE, "r3"))))
        .isEqualTo("S3:cancelled:start");
    assertThat(lease(admitClaimed(new Successor<>("S4", "L", "job-4", now, "r4")))).isEqualTo("S4:deadline:start");
  }

  @Test
  void shouldHandBackASuccessorWhosePredecessorRunsNowhereKnownForLongerThanTheLimit() {
    admitClaimed(successor("S", "L"));

    now += LIMIT_MS;
    assertThat(waits.tick()).as("not longer than the limit yet").isEmpty();
    now += 1;
    assertThat(leases(waits.tick())).containsExactly("S:handed_back:withdraw");
  }

  @Test
  void shouldCountTheLimitFromWhenThePredecessorWasLastSeenRunning() {
    running.add("L");
    admitClaimed(successor("S", "L"));
    now += 10 * LIMIT_MS;
    assertThat(waits.tick()).as("runs: no limit").isEmpty();

    running.remove("L"); // e.g. its worker went silent, or it was handed back
    assertThat(waits.tick()).isEmpty();
    now += LIMIT_MS;
    running.add("L"); // acquired again by a live worker
    assertThat(waits.tick()).isEmpty();
    running.remove("L");
    now += 1;
    assertThat(waits.tick()).as("the clock starts again").isEmpty();
    now += LIMIT_MS + 1;
    assertThat(leases(waits.tick())).containsExactly("S:handed_back:withdraw");
  }

  @Test
  void shouldFindAReleaseItWasNotToldOfAtTheNextTick() {
    running.add("L");
    admitClaimed(successor("S", "L"));
    released.add("L");

    assertThat(leases(waits.tick())).containsExactly("S:released:start");
  }

  @Test
  void shouldDropASuccessorWhoseLockIsLostAndWithdrawItsClaim() {
    running.add("L");
    admitClaimed(successor("S", "L"));
    waits.admit(successor("T", "L2"));

    assertThat(leases(waits.drop("record-S"::equals))).containsExactly("S:handed_back:withdraw");
    assertThat(waits.drop("record-S"::equals)).isEmpty();
    assertThat(waits.ended("L")).isEmpty();
    assertThat(waits.size()).isEqualTo(1);
  }

  @Test
  void shouldHandEverySuccessorBackOnCloseAndAnyThatComesAfter() {
    running.add("L");
    admitClaimed(successor("S", "L"));
    waits.admit(successor("T", "L"));
    waits.accept(granted("T")); // woken, its claim not back yet

    assertThat(leases(waits.close())).containsExactlyInAnyOrder("S:handed_back:withdraw",
        "T:handed_back:withdraw");
    assertThat(lease(waits.admit(successor("U", "L")))).as("never admitted: nothing to withdraw")
        .isEqualTo("U:handed_back:hand_back");
    assertThat(waits.size()).isZero();
  }

  @Test
  void shouldStartEveryCopyOfALeaseThatWaitsTwice() {
    running.add("L");
    waits.admit(successor("S", "L"));
    waits.admit(new Successor<>("S", "L", "job-S", Long.MAX_VALUE, "record-S-again"));
    assertThat(waits.accept(claimedHere("S"))).isEmpty();

    assertThat(waits.accept(granted("S"))).extracting(l -> l.successor().held())
        .as("both start: the worker runs the first and acknowledges the other with its outcome")
        .containsExactlyInAnyOrder("record-S", "record-S-again");
  }

  @Test
  void shouldDropOnlyTheDeliveryWhoseLockWasLostAndStartTheOtherOnTheRelease() {
    // A share partition's new leader delivered the successor again to another lane while the first still held it;
    // then the first lane's consumer failed. The worker drops that lane's delivery only (Worker#onLockLost).
    running.add("L");
    admitClaimed(new Successor<>("S", "L", "job-S", Long.MAX_VALUE, "lane-1"));
    admitClaimed(new Successor<>("S", "L", "job-S", Long.MAX_VALUE, "lane-2"));

    assertThat(waits.drop("lane-1"::equals)).hasSize(1);
    assertThat(waits.size()).as("lane-2's delivery goes on waiting").isEqualTo(1);

    released.add("L");
    assertThat(waits.accept(released("L", LeaseOutcome.SUCCEEDED))).singleElement()
        .satisfies(l -> assertThat(l.successor().held()).isEqualTo("lane-2"));
  }
}
