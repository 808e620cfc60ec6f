package io.promptfleet.dispatcher.capacity;

import static io.promptfleet.dispatcher.capacity.SuccessorGate.HEARD_FROM_ALL_MS;
import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.config.SuccessorMode;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.SuccessorProtocol;
import io.promptfleet.dispatcher.status.StatusBoard;
import io.promptfleet.dispatcher.testing.Fixtures;
import io.promptfleet.dispatcher.testing.LogCapture;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * {@code dispatcher.successors}: {@code true} and {@code false} whatever the workers say; {@code auto} open only while
 * at least one worker is known, every live one reports the current successor protocol, and the gate has listened
 * long enough to have heard every live worker.
 */
class SuccessorGateTest {
  private static final long T = 1_000_000;
  private static final int CURRENT = SuccessorProtocol.CURRENT;
  private final SuccessorGate auto = new SuccessorGate(SuccessorMode.AUTO);

  /** When the listening spell that starts at T ends. */
  private static final long LATER = T + HEARD_FROM_ALL_MS;

  @Test
  void shouldFollowTheSettingAloneWhenItIsTrueOrFalse() {
    SuccessorGate on = new SuccessorGate(SuccessorMode.ON);
    SuccessorGate off = new SuccessorGate(SuccessorMode.OFF);
    assertThat(on.open(T)).as("true: open before any worker is known").isTrue();
    assertThat(off.open(T)).isFalse();
    for (SuccessorGate g : new SuccessorGate[] {on, off}) {
      g.reported("w-old", null, T);
      g.reported("w-new", CURRENT, LATER);
    }
    assertThat(on.open(LATER)).as("true: the operator vouches for the workers").isTrue();
    assertThat(off.open(LATER)).as("false: never, even with current workers").isFalse();
  }

  @Test
  void shouldStayClosedWhileNoWorkerIsKnown() {
    assertThat(auto.open(T)).isFalse();
    auto.left("w-1", LATER); // a worker it never knew
    assertThat(auto.open(LATER)).isFalse();
  }

  @Test
  void shouldOpenOnceEveryLiveWorkerReportsTheCurrentProtocolAndAllHadTimeToReport() {
    auto.reported("w-1", CURRENT, T);
    auto.reported("w-2", CURRENT + 1, T + 100); // a later revision keeps the current rules
    assertThat(auto.open(T + 100)).as("a worker that has not beaten yet may not know successors").isFalse();

    auto.reported("w-1", CURRENT, LATER - 1);
    assertThat(auto.open(LATER - 1)).isFalse();
    auto.reported("w-2", CURRENT + 1, LATER);
    assertThat(auto.open(LATER)).isTrue();
  }

  @Test
  void shouldListenForTheConfiguredSpellWhenSuccessorsListenMsIsSet() {
    SuccessorGate quick = new SuccessorGate(SuccessorMode.AUTO, 2_000);
    quick.reported("w-1", CURRENT, T);
    quick.reported("w-1", CURRENT, T + 1_999);
    assertThat(quick.open(T + 1_999)).as("still listening").isFalse();
    quick.reported("w-1", CURRENT, T + 2_000);
    assertThat(quick.open(T + 2_000)).as("listened for successors_listen_ms").isTrue();
  }

  /**
   * The gate opens when its listening spell ends, not at the next heartbeat after it (up to a heartbeat interval
   * later): the planner's question names its time.
   */
  @Test
  void shouldOpenWhenTheListeningSpellEndsWithoutWaitingForAnotherHeartbeat() {
    auto.reported("w-1", CURRENT, T);
    try (LogCapture log = new LogCapture()) {
      assertThat(auto.open(LATER - 1)).as("still listening").isFalse();
      assertThat(auto.open(LATER)).as("listened for successors_listen_ms, no heartbeat since").isTrue();
      assertThat(auto.open(LATER + 1)).isTrue();
      assertThat(log.containing("successor assignments on")).as("logged once, when it opened").hasSize(1);
    }

    auto.reported("w-old", null, LATER + 2);
    assertThat(auto.open(LATER + 60_000)).as("an old worker keeps it closed however long it listened").isFalse();
    auto.left("w-old", LATER + 60_002);
    auto.left("w-1", LATER + 60_003);
    auto.reported("w-2", CURRENT, LATER + 70_000); // after an empty board: a new spell
    assertThat(auto.open(LATER + 70_000 + HEARD_FROM_ALL_MS - 1)).isFalse();
    assertThat(auto.open(LATER + 70_000 + HEARD_FROM_ALL_MS)).isTrue();
  }

  @Test
  void shouldStayClosedWithMixedWorkersAndNameTheOneBehindWhenItCloses() {
    auto.reported("w-1", CURRENT, T);
    auto.reported("w-3", null, T + 1);
    auto.reported("w-2", CURRENT - 1, T + 2);
    auto.reported("w-1", CURRENT, LATER);
    auto.reported("w-3", null, LATER + 1);
    auto.reported("w-2", CURRENT - 1, LATER + 2);
    assertThat(auto.open(LATER + 2)).as("w-2 follows revision 1, w-3 knows no successors").isFalse();

    auto.reported("w-2", CURRENT, LATER + 3); // upgraded in place: same id
    assertThat(auto.open(LATER + 3)).as("w-3 still does not report the protocol").isFalse();
    auto.left("w-3", LATER + 60_000); // the board forgot it
    assertThat(auto.open(LATER + 60_000)).as("every live worker reports it now").isTrue();
  }

  @Test
  void shouldCloseAtOnceWhenAnOldWorkerJoinsAndLogWhy() {
    auto.reported("w-1", CURRENT, T);
    auto.reported("w-1", CURRENT, LATER);
    assertThat(auto.open(LATER)).isTrue();

    try (LogCapture log = new LogCapture()) {
      auto.reported("w-3", null, LATER + 5);
      assertThat(auto.open(LATER + 5)).isFalse();
      assertThat(log.containing("successor assignments off")).singleElement().extracting(LogCapture.Line::message)
          .isEqualTo("successor assignments off: worker w-3 does not report successor protocol " + CURRENT);

      auto.reported("w-3", null, LATER + 10);
      auto.reported("w-1", CURRENT, LATER + 10);
      assertThat(log.containing("successor assignments")).as("logged once per flip").hasSize(1);

      auto.left("w-3", LATER + 60_000);
      assertThat(auto.open(LATER + 60_000)).isTrue();
      assertThat(log.containing("successor assignments on")).hasSize(1);
    }
  }

  @Test
  void shouldCloseWhenTheLastWorkerLeavesAndListenAgainBeforeOpening() {
    auto.reported("w-1", CURRENT, T);
    auto.reported("w-1", CURRENT, LATER);
    assertThat(auto.open(LATER)).isTrue();

    auto.left("w-1", LATER + 60_000);
    assertThat(auto.open(LATER + 60_000)).as("no worker known").isFalse();

    long back = LATER + 120_000;
    auto.reported("w-2", CURRENT, back);
    assertThat(auto.open(back)).as("the first heartbeat after an empty board starts a new listening spell").isFalse();
    auto.reported("w-2", CURRENT, back + HEARD_FROM_ALL_MS);
    assertThat(auto.open(back + HEARD_FROM_ALL_MS)).isTrue();
  }

  @Test
  void shouldHearOfWorkersThatTheStatusBoardForgets() {
    StatusBoard board = new StatusBoard(Fixtures.config(Fixtures.TWO_KEYS), auto);
    board.heartbeat(beat("w-new", CURRENT, T), T);
    board.heartbeat(beat("w-old", null, T), T);
    board.heartbeat(beat("w-new", CURRENT, LATER), LATER);
    assertThat(auto.open(LATER)).isFalse();

    long oldGone = T + 60_001; // w-old beat last at T: the board forgets it a minute later
    board.heartbeat(beat("w-new", CURRENT, oldGone), oldGone);
    board.workers(oldGone);
    assertThat(auto.open(oldGone)).isTrue();
  }

  private static FleetEvent beat(String worker, Integer protocol, long at) {
    return FleetEvent.heartbeat(Instant.ofEpochMilli(at), worker, 8, 8, null, protocol);
  }
}
