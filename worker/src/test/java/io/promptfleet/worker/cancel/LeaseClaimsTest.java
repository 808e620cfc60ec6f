package io.promptfleet.worker.cancel;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.FleetEventGist;
import io.promptfleet.common.job.LeaseOutcome;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class LeaseClaimsTest {
  private static final long T = 1_700_000_000_000L;
  private final LeaseClaims claims = new LeaseClaims(3, 60_000, () -> 16_000);

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
}
