package io.promptfleet.dispatcher.status;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.promptfleet.common.job.ProviderConnectionStats;
import io.promptfleet.dispatcher.status.StatusSnapshot.ProviderConnectionStatus;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** The fleet's connect rate is the workers' connects over the interval, and never negative whatever they report. */
class ConnectionBoardProperties {

  @Property(tries = 300)
  void shouldSumTheWorkersConnectsOverTheirIntervals(@ForAll long seed, @ForAll @IntRange(min = 1, max = 8) int n,
      @ForAll @IntRange(min = 100, max = 60_000) int intervalMs) {
    Random rnd = new Random(seed);
    ConnectionBoard board = new ConnectionBoard();
    long grown = 0;
    long timedGrown = 0;
    long microsGrown = 0;
    for (int w = 0; w < n; w++) {
      long at = rnd.nextInt(1_000_000);
      long opened = rnd.nextInt(100_000);
      long micros = rnd.nextInt(1_000_000);
      board.heartbeat("w" + w, at, List.of(new ProviderConnectionStats("p", 0, 0, 0, 0, opened, opened, micros, 0,
          0)));
      long more = rnd.nextInt(10_000);
      long moreMicros = more * rnd.nextInt(50_000);
      board.heartbeat("w" + w, at + intervalMs, List.of(new ProviderConnectionStats("p", 0, 0, 0, 0, opened + more,
          opened + more, micros + moreMicros, 0, 0)));
      grown += more;
      timedGrown += more;
      microsGrown += moreMicros;
    }

    ProviderConnectionStatus p = board.providers().get(0);

    assertThat(p.connectsPerSecond()).isCloseTo(grown * 1000.0 / intervalMs, within(1e-6));
    if (timedGrown == 0) {
      assertThat(p.connectMsMean()).isNull();
    } else {
      assertThat(p.connectMsMean()).isCloseTo(microsGrown / 1000.0 / timedGrown, within(1e-6));
    }
  }

  @Property(tries = 300)
  void shouldNeverShowANegativeRateEvenWhenCountersGoDown(@ForAll long seed,
      @ForAll @IntRange(min = 2, max = 20) int heartbeats) {
    Random rnd = new Random(seed);
    ConnectionBoard board = new ConnectionBoard();
    long at = 0;
    for (int i = 0; i < heartbeats; i++) {
      at += 1 + rnd.nextInt(10_000);
      board.heartbeat("w", at, List.of(new ProviderConnectionStats("p", 0, 0, 0, 0, rnd.nextInt(1_000),
          rnd.nextInt(1_000), rnd.nextInt(1_000_000), rnd.nextInt(100), rnd.nextInt(100))));
      ProviderConnectionStatus p = board.providers().get(0);
      assertThat(p.connectsPerSecond()).isNotNegative();
      assertThat(p.connectFailuresPerSecond()).isNotNegative();
      assertThat(p.connectOverloadedPerSecond()).isNotNegative();
      assertThat(p.connectMsMean() == null || p.connectMsMean() >= 0).isTrue();
    }
  }
}
