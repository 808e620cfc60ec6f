package io.promptfleet.worker.cancel;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.FleetEventGist;
import io.promptfleet.common.job.LeaseOutcome;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class LeaseClaimsTest {
  private static final long T = 1_700_000_000_000L;
  private final LeaseClaims claims = new LeaseClaims(3, 60_000, () -> 16_000, () -> 11_000);

  private static FleetEvent started(String lease, String worker, long at) {
    return new FleetEvent(FleetEvent.Type.LEASE_STARTED, Instant.ofEpochMilli(at), worker, lease, "j-" + lease, "k1",
        "r", null, null, null, null, null, null, null, null, null, null, null);
  }

  private static FleetEvent released(String lease, String worker, LeaseOutcome outcome, long at) {
    return new FleetEvent(FleetEvent.Type.LEASE_RELEASED, Instant.ofEpochMilli(at), worker, lease, "j-" + lease, "k1",
        "r", outcome, null, null, null, null, null, null, null, null, null, null);
  }

  /** As the watcher reads an event: from the header the publisher writes. */
  private void accept(FleetEvent e) {
    claims.accept(FleetEventGist.parse(FleetEventGist.of(e).bytes()));
  }

  @Test
  void shouldNameTheLiveWorkerThatRunsALeaseUntilItsRunEnds() {
    accept(started("L1", "w1", T));

    assertThat(claims.runningElsewhere("L1", "w2", T + 1_000)).isEqualTo("w1");
    assertThat(claims.runningElsewhere("L1", "w1", T + 1_000)).as("its own claim").isNull();
    assertThat(claims.runningElsewhere("L9", "w2", T + 1_000)).as("nobody's").isNull();

    accept(released("L1", "w1", LeaseOutcome.HANDED_BACK, T + 2_000));
    assertThat(claims.runningElsewhere("L1", "w2", T + 2_000)).as("handed back: the next delivery runs it").isNull();
  }

  @Test
  void shouldNotHoldForAWorkerSilentLongerThanDeadAfter() {
    accept(started("L1", "w1", T));
    accept(FleetEvent.heartbeat(Instant.ofEpochMilli(T + 10_000), "w1", 8, 7));

    assertThat(claims.runningElsewhere("L1", "w2", T + 26_000)).as("heard of 16 s ago").isEqualTo("w1");
    assertThat(claims.runningElsewhere("L1", "w2", T + 26_001)).as("silent for longer: gone").isNull();
  }

  @Test
  void shouldJudgeLivenessByEventTimeSoEventsReadBackAtStartDoNotRevive() {
    accept(started("L1", "w1", T - 60_000)); // read back from the minute before this worker started

    assertThat(claims.runningElsewhere("L1", "w2", T)).isNull();
  }

  @Test
  void shouldKeepAtMostMaxClaimsAndEachAtMostItsTtl() {
    for (int i = 0; i < 4; i++) {
      accept(started("L" + i, "w1", T + i));
    }
    assertThat(claims.size()).isEqualTo(3);
    assertThat(claims.runningElsewhere("L0", "w2", T + 10)).as("the oldest went first").isNull();
    assertThat(claims.runningElsewhere("L3", "w2", T + 10)).isEqualTo("w1");
    accept(FleetEvent.heartbeat(Instant.ofEpochMilli(T + 60_010), "w1", 8, 7));
    assertThat(claims.runningElsewhere("L3", "w2", T + 60_010)).as("older than the ttl, but its worker is alive: a "
        + "long run").isEqualTo("w1");
    assertThat(claims.runningElsewhere("L3", "w2", T + 60_010 + 16_001)).as("older than the ttl and its worker "
        + "silent").isNull();
    accept(FleetEvent.heartbeat(Instant.ofEpochMilli(T + 60_010 + 16_002), "w1", 8, 7));
    assertThat(claims.runningElsewhere("L3", "w2", T + 60_010 + 16_002)).as("evicted while its worker was silent")
        .isNull();
  }

  @Test
  void shouldLetTheFirstLiveClaimWinWhenTwoWorkersClaimOneLease() {
    // two copies of one successor (a share partition's old and new leader) both claimed it when its predecessor ended
    accept(started("L1", "w1", T));
    accept(started("L1", "w2", T + 5));
    accept(started("L1", "w1", T + 9)); // a worker's later claim of the same lease keeps its first place

    assertThat(claims.runningElsewhere("L1", "w1", T + 10)).as("w1 claimed first: it runs").isNull();
    assertThat(claims.runningElsewhere("L1", "w2", T + 10)).as("w2 holds its copy").isEqualTo("w1");
    assertThat(claims.runningElsewhere("L1", "w3", T + 10)).isEqualTo("w1");

    accept(released("L1", "w1", LeaseOutcome.HANDED_BACK, T + 20)); // w1 withdrew (or handed its run back)
    assertThat(claims.runningElsewhere("L1", "w1", T + 20)).as("only w1's claim ended").isEqualTo("w2");
    assertThat(claims.runningElsewhere("L1", "w2", T + 20)).isNull();

    accept(released("L1", "w2", LeaseOutcome.SUCCEEDED, T + 30));
    assertThat(claims.runningElsewhere("L1", "w3", T + 30)).as("a release with an outcome ends them all").isNull();
    assertThat(claims.size()).isZero();
  }

  @Test
  void shouldSkipAFirstClaimWhoseWorkerIsGone() {
    accept(started("L1", "w1", T));
    accept(started("L1", "w2", T + 10_000)); // w1 died; its copy came again to w2
    accept(FleetEvent.heartbeat(Instant.ofEpochMilli(T + 20_000), "w2", 8, 7));

    assertThat(claims.runningElsewhere("L1", "w3", T + 16_000)).as("w1 still counts as alive").isEqualTo("w1");
    assertThat(claims.runningElsewhere("L1", "w3", T + 16_001)).as("w1 gone: w2 runs it").isEqualTo("w2");
    assertThat(claims.runningElsewhere("L1", "w2", T + 16_001)).isNull();
  }

  /**
   * A claim from before a redelivery is its previous holder's: it holds the redelivery while that worker is heard
   * from (a live holder whose lock was given away while it runs: counting only later claims ran such leases twice),
   * and not once it has been silent for longer than the heartbeats' threshold (a dead holder; the liveness threshold
   * would hold the redelivery for 16 s).
   */
  @Test
  void shouldCountAClaimFromBeforeARedeliveryOnlyWhileItsWorkerIsHeardFrom() {
    accept(started("L1", "w1", T));
    accept(FleetEvent.heartbeat(Instant.ofEpochMilli(T + 1_000), "w1", 8, 7));
    long redelivered = T + 4_000;

    assertThat(claims.runningElsewhere("L1", "w2", T + 12_000, redelivered)).as("heard of 11 s ago").isEqualTo("w1");
    assertThat(claims.runningElsewhere("L1", "w2", T + 12_001, redelivered)).as("silent for longer").isNull();
    assertThat(claims.runningElsewhere("L1", "w2", T + 12_001)).as("a first delivery: alive for 16 s")
        .isEqualTo("w1");
    accept(FleetEvent.heartbeat(Instant.ofEpochMilli(T + 12_500), "w1", 8, 7));
    assertThat(claims.runningElsewhere("L1", "w2", T + 13_000, redelivered)).as("it beats again: it runs")
        .isEqualTo("w1");
  }

  @Test
  void shouldCountOnlyTheClaimsSinceARedeliveryCame() {
    accept(started("L1", "w1", T)); // its previous holder, which died right after; still counts as alive
    accept(FleetEvent.heartbeat(Instant.ofEpochMilli(T + 1_000), "w1", 8, 7));
    // the redelivery came to w2 at T + 10 s; then a new leader's copy elsewhere was claimed, and w2's
    accept(started("L1", "w3", T + 12_000));
    accept(started("L1", "w2", T + 12_005));

    assertThat(claims.runningElsewhere("L1", "w2", T + 12_010)).as("every claim: w1's first").isEqualTo("w1");
    assertThat(claims.runningElsewhere("L1", "w2", T + 12_010, T + 10_000)).as("since the redelivery came")
        .isEqualTo("w3");
    assertThat(claims.runningElsewhere("L1", "w3", T + 12_010, T + 10_000)).isNull();
  }
}
