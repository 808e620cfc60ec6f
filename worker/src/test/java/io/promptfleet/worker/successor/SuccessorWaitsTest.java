package io.promptfleet.worker.successor;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.FleetEventGist;
import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.worker.successor.SuccessorWaits.Exit;
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
  private final SuccessorWaits<String> waits = new SuccessorWaits<>(released::contains, running::contains,
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

  private static List<String> leases(List<Leaving<String>> out) {
    return out.stream().map(l -> l.successor().leaseId() + ":" + l.why().tag()).toList();
  }

  @Test
  void shouldHoldASuccessorWhosePredecessorRunsHereAndStartItWhenThatCallEnds() {
    running.add("L");

    assertThat(waits.admit(successor("S", "L"))).isNull();
    assertThat(waits.size()).isEqualTo(1);
    assertThat(waits.tick()).isEmpty();
    assertThat(waits.ended("other")).isEmpty();

    assertThat(leases(waits.ended("L"))).containsExactly("S:local");
    assertThat(waits.size()).isZero();
    assertThat(waits.ended("L")).as("once").isEmpty();
  }

  @Test
  void shouldStartAtOnceWhenThePredecessorsReleaseOrTheGrantWasSeenBefore() {
    released.add("L1");
    waits.accept(granted("S2"));

    assertThat(waits.admit(successor("S1", "L1"))).isEqualTo(Exit.RELEASED);
    assertThat(waits.admit(successor("S2", "L2"))).isEqualTo(Exit.GRANTED);
    assertThat(waits.granted("S2")).isTrue();
    assertThat(waits.size()).isZero();
  }

  @Test
  void shouldStartWhenThePredecessorsReleaseWithAnOutcomeIsRead() {
    running.add("L");
    waits.admit(successor("S", "L"));

    assertThat(waits.accept(released("L", LeaseOutcome.HANDED_BACK))).as("handed back: L runs again").isEmpty();
    assertThat(waits.accept(new FleetEventGist(FleetEvent.Type.LEASE_STARTED, 0, "w", "L", null))).isEmpty();
    assertThat(waits.accept(released("S", LeaseOutcome.SUCCEEDED))).as("S's own release is no wake-up").isEmpty();

    assertThat(leases(waits.accept(released("L", LeaseOutcome.RETRY)))).containsExactly("S:released");
  }

  @Test
  void shouldStartWhenItsGrantIsRead() {
    running.add("L");
    waits.admit(successor("S", "L"));

    assertThat(waits.accept(granted("L"))).as("L's grant is not S's").isEmpty();
    assertThat(leases(waits.accept(granted("S")))).containsExactly("S:granted");
  }

  @Test
  void shouldStartWhenItsDeadlinePassesOrItsJobIsCancelled() {
    running.add("L");
    waits.admit(new Successor<>("S1", "L", "job-1", now + 500, "r1"));
    waits.admit(new Successor<>("S2", "L", "job-2", Long.MAX_VALUE, "r2"));

    now += 499;
    assertThat(waits.tick()).isEmpty();
    now += 1;
    assertThat(leases(waits.tick())).containsExactly("S1:deadline");
    assertThat(waits.cancelled("job-x")).isEmpty();
    assertThat(leases(waits.cancelled("job-2"))).containsExactly("S2:cancelled");

    cancelled.add("job-3");
    assertThat(waits.admit(new Successor<>("S3", "L", "job-3", Long.MAX_VALUE, "r3"))).isEqualTo(Exit.CANCELLED);
    assertThat(waits.admit(new Successor<>("S4", "L", "job-4", now, "r4"))).isEqualTo(Exit.DEADLINE);
  }

  @Test
  void shouldHandBackASuccessorWhosePredecessorRunsNowhereKnownForLongerThanTheLimit() {
    waits.admit(successor("S", "L"));

    now += LIMIT_MS;
    assertThat(waits.tick()).as("not longer than the limit yet").isEmpty();
    now += 1;
    assertThat(leases(waits.tick())).containsExactly("S:handed_back");
  }

  @Test
  void shouldCountTheLimitFromWhenThePredecessorWasLastSeenRunning() {
    running.add("L");
    waits.admit(successor("S", "L"));
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
    assertThat(leases(waits.tick())).containsExactly("S:handed_back");
  }

  @Test
  void shouldFindAReleaseItWasNotToldOfAtTheNextTick() {
    running.add("L");
    waits.admit(successor("S", "L"));
    released.add("L");

    assertThat(leases(waits.tick())).containsExactly("S:released");
  }

  @Test
  void shouldDropASuccessorWhoseLockIsLost() {
    running.add("L");
    waits.admit(successor("S", "L"));
    waits.admit(successor("T", "L2"));

    assertThat(waits.drop("record-S"::equals)).isTrue();
    assertThat(waits.drop("record-S"::equals)).isFalse();
    assertThat(waits.ended("L")).isEmpty();
    assertThat(waits.size()).isEqualTo(1);
  }

  @Test
  void shouldHandEverySuccessorBackOnCloseAndAnyThatComesAfter() {
    running.add("L");
    waits.admit(successor("S", "L"));
    waits.admit(successor("T", "L"));

    assertThat(leases(waits.close())).containsExactlyInAnyOrder("S:handed_back", "T:handed_back");
    assertThat(waits.admit(successor("U", "L"))).isEqualTo(Exit.HANDED_BACK);
    assertThat(waits.size()).isZero();
  }

  @Test
  void shouldStartEveryCopyOfALeaseThatWaitsTwice() {
    running.add("L");
    waits.admit(successor("S", "L"));
    waits.admit(new Successor<>("S", "L", "job-S", Long.MAX_VALUE, "record-S-again"));

    assertThat(waits.accept(granted("S"))).extracting(l -> l.successor().held())
        .containsExactlyInAnyOrder("record-S", "record-S-again");
  }

  @Test
  void shouldDropOnlyTheDeliveryWhoseLockWasLostAndStartTheOtherOnTheRelease() {
    // A share partition's new leader delivered the successor again to another lane while the first still held it;
    // then the first lane's consumer failed. The worker drops that lane's delivery only (Worker#onLockLost).
    running.add("L");
    waits.admit(new Successor<>("S", "L", "job-S", Long.MAX_VALUE, "lane-1"));
    waits.admit(new Successor<>("S", "L", "job-S", Long.MAX_VALUE, "lane-2"));

    assertThat(waits.drop("lane-1"::equals)).isTrue();
    assertThat(waits.size()).as("lane-2's delivery goes on waiting").isEqualTo(1);

    released.add("L");
    assertThat(waits.accept(released("L", LeaseOutcome.SUCCEEDED))).singleElement()
        .satisfies(l -> assertThat(l.successor().held()).isEqualTo("lane-2"));
  }
}
