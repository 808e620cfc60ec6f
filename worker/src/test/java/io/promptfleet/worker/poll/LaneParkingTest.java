package io.promptfleet.worker.poll;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/** When an idle worker's lanes park, and that work brings them all back. */
class LaneParkingTest {
  private static final Duration AFTER = Duration.ofSeconds(30);

  /** A lane as parking sees it: what it holds, whether it was asked to park. */
  private static final class FakeLane implements LaneParking.Parkable {
    int held;
    boolean parked;

    @Override
    public int held() {
      return held;
    }

    @Override
    public boolean parked() {
      return parked;
    }

    @Override
    public void park() {
      parked = true;
    }

    @Override
    public void unpark() {
      parked = false;
    }
  }

  private long now;

  private static List<FakeLane> lanes(int n) {
    List<FakeLane> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new FakeLane());
    }
    return out;
  }

  @Test
  void shouldParkTheLanesBeyondKeepOpenOnlyOnceTheWorkerHeldNothingForTheWholeWait() {
    List<FakeLane> lanes = lanes(4);
    LaneParking parking = new LaneParking(lanes, 2, AFTER, () -> now);

    now = 29_999;
    parking.tick();
    assertThat(parking.open()).isEqualTo(4);

    now = 30_000;
    parking.tick();
    assertThat(lanes).extracting(l -> l.parked).containsExactly(false, false, true, true);
    assertThat(parking.open()).isEqualTo(2);
  }

  @Test
  void shouldNotParkWhileAnyLaneHoldsWorkAndCountTheWaitFromWhenItEnded() {
    List<FakeLane> lanes = lanes(3);
    LaneParking parking = new LaneParking(lanes, 1, AFTER, () -> now);
    lanes.get(2).held = 1;
    now = 60_000;
    parking.tick();
    assertThat(parking.open()).isEqualTo(3);

    lanes.get(2).held = 0;
    now = 89_999;
    parking.tick();
    assertThat(parking.open()).as("idle only since 60 s").isEqualTo(3);
    now = 90_000;
    parking.tick();
    assertThat(parking.open()).isEqualTo(1);
  }

  @Test
  void shouldReopenEveryParkedLaneWhenAnAcquisitionLeavesNoOpenLaneFree() {
    List<FakeLane> lanes = lanes(4);
    LaneParking parking = new LaneParking(lanes, 2, AFTER, () -> now);
    now = 30_000;
    parking.tick();

    lanes.get(0).held = 2;
    parking.acquired();
    assertThat(parking.open()).as("lane 1 is open and free").isEqualTo(2);

    lanes.get(1).held = 1;
    parking.acquired();
    assertThat(parking.open()).isEqualTo(4);

    lanes.get(0).held = 0;
    lanes.get(1).held = 0;
    now = 59_999;
    parking.tick();
    assertThat(parking.open()).as("the wait counts from the last acquisition").isEqualTo(4);
  }

  @Test
  void shouldRefuseToKeepNoLaneOpen() {
    assertThatThrownBy(() -> new LaneParking(lanes(2), 0, AFTER, () -> 0L))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keepOpen");
  }

  /**
   * Any interleaving of work starting and ending, acquisitions and ticks: the first {@code keepOpen} lanes never
   * park, a lane holding work is never asked to park, and right after an acquisition some open lane is free or none
   * is parked (a burst never waits for a lane that stays out of the group).
   */
  @Property(tries = 300)
  void shouldNeverLeaveABurstWithoutAFreeLaneNorParkTheKeptOnesOrBusyOnes(
      @ForAll @IntRange(min = 1, max = 6) int keepOpen,
      @ForAll @Size(min = 20, max = 200) List<@IntRange(min = 0, max = 999) Integer> ops) {
    List<FakeLane> lanes = lanes(6);
    LaneParking parking = new LaneParking(lanes, keepOpen, AFTER, () -> now);
    now = 0;
    for (int op : ops) {
      FakeLane lane = lanes.get(op % lanes.size());
      switch (op / 100 % 5) {
        case 0 -> now += op * 100L; // time passes (up to ~100 s)
        case 1 -> lane.held = 0; // its batch is done
        case 2 -> {
          if (!lane.parked && lane.held == 0) { // only an open lane acquires
            lane.held = 1 + op % 3;
            parking.acquired();
            assertThat(lanes.stream().anyMatch(l -> !l.parked && l.held == 0)
                || lanes.stream().noneMatch(l -> l.parked)).as("after an acquisition").isTrue();
          }
        }
        default -> {
          boolean[] busyBefore = new boolean[lanes.size()];
          for (int i = 0; i < lanes.size(); i++) {
            busyBefore[i] = lanes.get(i).held > 0;
          }
          parking.tick();
          for (int i = 0; i < lanes.size(); i++) {
            if (busyBefore[i]) {
              assertThat(lanes.get(i).parked && busyBefore[i]).as("lane %d holds work", i).isFalse();
            }
          }
        }
      }
      for (int i = 0; i < keepOpen && i < lanes.size(); i++) {
        assertThat(lanes.get(i).parked).as("lane %d is kept open", i).isFalse();
      }
    }
  }
}
