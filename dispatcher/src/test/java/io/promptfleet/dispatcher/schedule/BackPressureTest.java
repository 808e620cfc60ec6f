package io.promptfleet.dispatcher.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BackPressureTest {
  private final BackPressure bp = new BackPressure(10);
  private final Map<Lane, Integer> buffered = new EnumMap<>(Lane.class);
  private final List<String> calls = new ArrayList<>();
  private final BackPressure.Partitions partitions = new BackPressure.Partitions() {
    @Override
    public void pause(Lane lane) {
      calls.add("pause " + lane);
    }

    @Override
    public void pauseAll() {
      calls.add("pause all");
    }

    @Override
    public void resume(Lane lane) {
      calls.add("resume " + lane);
    }

    @Override
    public void resumeAll() {
      calls.add("resume all");
    }
  };

  private void lanes() {
    bp.lanes(l -> buffered.getOrDefault(l, 0), partitions);
  }

  @Test
  void shouldPauseALaneAtTheWholeBufferAndResumeItAtHalfThat() {
    assertThat(bp.cap()).isEqualTo(10);
    buffered.put(Lane.LOW, 9);
    lanes();
    assertThat(calls).isEmpty();

    buffered.put(Lane.LOW, 10);
    lanes();
    lanes();
    assertThat(calls).as("once").containsExactly("pause LOW");
    assertThat(bp.isPaused(Lane.LOW)).isTrue();

    buffered.put(Lane.LOW, 6);
    lanes();
    assertThat(calls).containsExactly("pause LOW");

    buffered.put(Lane.LOW, 5);
    lanes();
    assertThat(calls).containsExactly("pause LOW", "resume LOW");
  }

  @Test
  void shouldPauseEverythingWhileParkedRecordsFillABufferThenResumeEverythingAndPauseFullLanesAgain() {
    buffered.put(Lane.HIGH, 10);
    lanes();
    calls.clear();

    assertThat(bp.parked(9, partitions)).isFalse();
    assertThat(calls).isEmpty();
    bp.parked(10, partitions);
    bp.parked(12, partitions);
    assertThat(calls).containsExactly("pause all");
    assertThat(bp.parkedPaused()).isTrue();

    assertThat(bp.parked(1, partitions)).isFalse();
    assertThat(calls).as("only when none is parked").containsExactly("pause all");
    assertThat(bp.parked(0, partitions)).as("the pause of everything ended").isTrue();
    assertThat(calls).as("every partition, spill and tenant ones too: the other pauses are made again")
        .containsExactly("pause all", "resume all");
    assertThat(bp.parkedPaused()).isFalse();
    lanes();
    assertThat(calls).as("the lane still full pauses again").containsExactly("pause all", "resume all",
        "pause HIGH");
  }

  @Test
  void shouldForgetPausedLanesWhenPartitionsAreRevokedButKeepTheParkedPause() {
    buffered.put(Lane.HIGH, 10);
    lanes();
    bp.parked(10, partitions);

    bp.lanesForgotten();

    assertThat(bp.isPaused(Lane.HIGH)).isFalse();
    assertThat(bp.parkedPaused()).isTrue();
    bp.clear();
    assertThat(bp.parkedPaused()).isFalse();
  }
}
