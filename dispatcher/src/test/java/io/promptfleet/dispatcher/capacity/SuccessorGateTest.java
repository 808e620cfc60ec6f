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

  /** The workers beat again once the listening spell has passed (the gate looks again on each heartbeat). */
  private static final long LATER = T + HEARD_FROM_ALL_MS;

  @Test
  void shouldFollowTheSettingAloneWhenItIsTrueOrFalse() {
    SuccessorGate on = new SuccessorGate(SuccessorMode.ON);
    SuccessorGate off = new SuccessorGate(SuccessorMode.OFF);
    assertThat(on.open()).as("true: open before any worker is known").isTrue();
    assertThat(off.open()).isFalse();
    for (SuccessorGate g : new SuccessorGate[] {on, off}) {
      g.reported("w-old", null, T);
      g.reported("w-new", CURRENT, LATER);
    }
    assertThat(on.open()).as("true: the operator vouches for the workers").isTrue();
    assertThat(off.open()).as("false: never, even with current workers").isFalse();
  }

  @Test
  void shouldStayClosedWhileNoWorkerIsKnown() {
    assertThat(auto.open()).isFalse();
    auto.left("w-1", LATER); // a worker it never knew
    assertThat(auto.open()).isFalse();
  }

  @Test
  void shouldOpenOnceEveryLiveWorkerReportsTheCurrentProtocolAndAllHadTimeToReport() {
    auto.reported("w-1", CURRENT, T);
    auto.reported("w-2", CURRENT + 1, T + 100); // a later revision keeps the current rules
    assertThat(auto.open()).as("a worker that has not beaten yet may not know successors").isFalse();

    auto.reported("w-1", CURRENT, LATER - 1);
    assertThat(auto.open()).isFalse();
    auto.reported("w-2", CURRENT + 1, LATER);
    assertThat(auto.open()).isTrue();
  }

  @Test
  void shouldListenForTheConfiguredSpellWhenSuccessorsListenMsIsSet() {
    SuccessorGate quick = new SuccessorGate(SuccessorMode.AUTO, 2_000);
    quick.reported("w-1", CURRENT, T);
    quick.reported("w-1", CURRENT, T + 1_999);
    assertThat(quick.open()).as("still listening").isFalse();
    quick.reported("w-1", CURRENT, T + 2_000);
    assertThat(quick.open()).as("listened for successors_listen_ms").isTrue();
  }

  @Test
  void shouldStayClosedWithMixedWorkersAndNameTheOneBehindWhenItCloses() {
    auto.reported("w-1", CURRENT, T);
    auto.reported("w-3", null, T + 1);
    auto.reported("w-2", CURRENT - 1, T + 2);
    auto.reported("w-1", CURRENT, LATER);
    auto.reported("w-3", null, LATER + 1);
    auto.reported("w-2", CURRENT - 1, LATER + 2);
    assertThat(auto.open()).as("w-2 follows revision 1, w-3 knows no successors").isFalse();

    auto.reported("w-2", CURRENT, LATER + 3); // upgraded in place: same id
    assertThat(auto.open()).as("w-3 still does not report the protocol").isFalse();
    auto.left("w-3", LATER + 60_000); // the board forgot it
    assertThat(auto.open()).as("every live worker reports it now").isTrue();
  }

  @Test
  void shouldCloseAtOnceWhenAnOldWorkerJoinsAndLogWhy() {
    auto.reported("w-1", CURRENT, T);
    auto.reported("w-1", CURRENT, LATER);
    assertThat(auto.open()).isTrue();

    try (LogCapture log = new LogCapture()) {
      auto.reported("w-3", null, LATER + 5);
      assertThat(auto.open()).isFalse();
      assertThat(log.containing("successor assignments off")).singleElement().extracting(LogCapture.Line::message)
          .isEqualTo("successor assignments off: worker w-3 does not report successor protocol " + CURRENT);

      auto.reported("w-3", null, LATER + 10);
      auto.reported("w-1", CURRENT, LATER + 10);
      assertThat(log.containing("successor assignments")).as("logged once per flip").hasSize(1);

      auto.left("w-3", LATER + 60_000);
      assertThat(auto.open()).isTrue();
      assertThat(log.containing("successor assignments on")).hasSize(1);
    }
  }

  @Test
  void shouldCloseWhenTheLastWorkerLeavesAndListenAgainBeforeOpening() {
    auto.reported("w-1", CURRENT, T);
    auto.reported("w-1", CURRENT, LATER);
    assertThat(auto.open()).isTrue();

    auto.left("w-1", LATER + 60_000);
    assertThat(auto.open()).as("no worker known").isFalse();

    long back = LATER + 120_000;
    auto.reported("w-2", CURRENT, back);
    assertThat(auto.open()).as("the first heartbeat after an empty board starts a new listening spell").isFalse();
    auto.reported("w-2", CURRENT, back + HEARD_FROM_ALL_MS);
    assertThat(auto.open()).isTrue();
  }

  @Test
  void shouldHearOfWorkersThatTheStatusBoardForgets() {
    StatusBoard board = new StatusBoard(Fixtures.config(Fixtures.TWO_KEYS), auto);
    board.heartbeat(beat("w-new", CURRENT, T), T);
    board.heartbeat(beat("w-old", null, T), T);
    board.heartbeat(beat("w-new", CURRENT, LATER), LATER);
    assertThat(auto.open()).isFalse();

    long oldGone = T + 60_001; // w-old beat last at T: the board forgets it a minute later
    board.heartbeat(beat("w-new", CURRENT, oldGone), oldGone);
    board.workers(oldGone);
    assertThat(auto.open()).isTrue();
  }

  private static FleetEvent beat(String worker, Integer protocol, long at) {
    return FleetEvent.heartbeat(Instant.ofEpochMilli(at), worker, 8, 8, null, protocol);
  }
}
