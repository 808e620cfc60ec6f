package io.promptfleet.dispatcher.capacity;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RateWindowTest {

  @Test
  void shouldCountWhatHappenedWithinTheWindowAndForgetOlder() {
    RateWindow w = new RateWindow(1_000, 10);
    w.add(0, 5, 0);
    w.add(500, 3, 500);
    assertThat(w.sum(900)).isEqualTo(8);
    assertThat(w.sum(1_050)).as("slot of t=0 may still count (conservative)").isGreaterThanOrEqualTo(3);
    assertThat(w.sum(1_200)).isEqualTo(3);
    assertThat(w.sum(1_700)).isZero();
  }

  @Test
  void shouldCorrectAnEarlierCountWhileItIsInTheWindow() {
    RateWindow w = new RateWindow(1_000, 10);
    w.add(100, 50, 100);
    w.add(100, -40, 300);
    assertThat(w.sum(300)).isEqualTo(10);
    w.add(100, 1_000, 5_000);
    assertThat(w.sum(5_000)).as("a correction after the window is dropped").isZero();
  }

  @Test
  void shouldNeverUndercountWhenTheWindowIsNotAMultipleOfTheSlots() {
    RateWindow w = new RateWindow(1_001, 20);
    w.add(0, 1, 0);
    assertThat(w.sum(1_000)).isEqualTo(1);
  }
}
