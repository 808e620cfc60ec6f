package io.promptfleet.worker.arrival;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.FleetEventGist;
import io.promptfleet.common.job.Job;
import io.promptfleet.worker.arrival.ArrivalRule.Arrival;
import io.promptfleet.worker.arrival.ArrivalRule.Verdict;
import io.promptfleet.worker.cancel.LeaseClaims;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ArrivalRuleTest {
  private static final long T = 1_700_000_000_000L;
  private final AtomicLong now = new AtomicLong(T);
  private final Set<String> released = new HashSet<>();
  private final LeaseClaims claims = new LeaseClaims(100, 60_000, () -> 16_000, () -> 11_000);
  private boolean draining;
  private final ArrivalRule rule = new ArrivalRule("me", () -> draining, released::contains, claims, now::get);

  private static Assignment assignment(String lease, long dispatchedAt, String afterLease) {
    Job job = new Job("j-" + lease, "m", List.of(), null, null, null, null, null, null, null);
    return new Assignment(lease, job, 1, null, null, "k1", null, Instant.ofEpochMilli(dispatchedAt), null, "replies",
        null, null, afterLease);
  }

  private void claimed(String lease, String worker, long at) {
    FleetEvent e = new FleetEvent(FleetEvent.Type.LEASE_STARTED, Instant.ofEpochMilli(at), worker, lease, "j-" + lease,
        "k1", "r", null, null, null, null, null, null, null, null, null, null, null);
    claims.accept(FleetEventGist.parse(FleetEventGist.of(e).bytes()));
  }

  @Test
  void shouldRunAFreshFirstDeliveryAtOnce() {
    Arrival a = rule.decide(assignment("L1", T - 5, null), 1, T, false);

    assertThat(a.verdict()).isEqualTo(Verdict.RUN);
    assertThat(a.redeliveries()).isZero();
    assertThat(a.sinceDispatchMs()).isEqualTo(5);
    assertThat(a.pickup()).isTrue();
  }

  @Test
  void shouldHandBackWhileDrainingBeforeAnythingElse() {
    released.add("L1");
    claimed("L1", "other", T);
    draining = true;

    assertThat(rule.decide(assignment("L1", T, null), 1, T, false).verdict()).isEqualTo(Verdict.HAND_BACK);
  }

  @Test
  void shouldNotRunALeaseReleasedLately() {
    released.add("L1");

    assertThat(rule.decide(assignment("L1", T, null), 2, T, false).verdict()).isEqualTo(Verdict.RELEASED);
  }

  @Test
  void shouldHoldWhileAnotherLiveWorkerRunsTheLeaseAndNotForItsOwnClaim() {
    claimed("L1", "other", T - 100);
    claimed("L2", "me", T - 100);

    Arrival held = rule.decide(assignment("L1", T - 200, null), 1, T, false);
    assertThat(held.verdict()).isEqualTo(Verdict.HELD);
    assertThat(held.pickup()).as("a hold is not a pickup").isFalse();
    assertThat(held.owner()).isEqualTo("other");
    assertThat(rule.decide(assignment("L2", T - 200, null), 1, T, false).verdict()).isEqualTo(Verdict.RUN);
  }

  @Test
  void shouldCountAClaimFromBeforeARedeliveryOnlyWhileItsWorkerIsHeardFrom() {
    claimed("L1", "other", T);
    now.set(T + 10_000);
    assertThat(rule.decide(assignment("L1", T, null), 2, T + 10_000, false).verdict()).as("heard 10 s ago")
        .isEqualTo(Verdict.HELD);
    now.set(T + 11_001);
    assertThat(rule.decide(assignment("L1", T, null), 2, T + 11_001, false).verdict())
        .as("a redelivery: the previous holder silent for longer than 11 s").isEqualTo(Verdict.RUN);
    assertThat(rule.decide(assignment("L1", T, null), 1, T + 11_001, false).verdict())
        .as("a first delivery: every claim of a worker alive by the 16-s threshold counts").isEqualTo(Verdict.HELD);
  }

  @Test
  void shouldMakeASuccessorWaitForItsClaimUntilItWaited() {
    Assignment s = assignment("L2", T, "L1");

    Arrival first = rule.decide(s, 1, T, false);
    assertThat(first.verdict()).isEqualTo(Verdict.WAIT_FOR_CLAIM);
    assertThat(first.lateCopy()).isFalse();
    assertThat(rule.decide(s, 1, T, true).verdict()).as("its claim was read back").isEqualTo(Verdict.RUN);
  }

  @Test
  void shouldMakeAFirstDeliveryMoreThanTwoSecondsAfterItsDispatchALateCopy() {
    Assignment a = assignment("L1", T - ArrivalRule.LATE_COPY_AFTER_MS - 1, null);

    Arrival late = rule.decide(a, 1, T, false);
    assertThat(late.verdict()).isEqualTo(Verdict.WAIT_FOR_CLAIM);
    assertThat(late.lateCopy()).isTrue();
    assertThat(rule.decide(assignment("L1", T - ArrivalRule.LATE_COPY_AFTER_MS, null), 1, T, false).verdict())
        .as("at the threshold: fresh").isEqualTo(Verdict.RUN);
    assertThat(rule.decide(a, 2, T, false).verdict()).as("a redelivery is not a late copy").isEqualTo(Verdict.RUN);
    assertThat(rule.decide(a, 1, T, true).verdict()).as("read back").isEqualTo(Verdict.RUN);
    assertThat(late.pickup()).as("its first delivery: a pickup").isTrue();
    assertThat(rule.decide(a, 1, T, true).pickup()).as("a wake-up is not a pickup").isFalse();
    assertThat(rule.decide(a, 2, T, false).pickup()).as("a redelivery's time includes earlier ones").isFalse();
  }
}
