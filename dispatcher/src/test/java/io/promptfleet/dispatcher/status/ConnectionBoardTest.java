package io.promptfleet.dispatcher.status;

import static io.promptfleet.dispatcher.testing.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.ProviderConnectionStats;
import io.promptfleet.dispatcher.status.StatusSnapshot.ProviderConnectionStatus;
import io.promptfleet.dispatcher.testing.Fixtures;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConnectionBoardTest {
  private final ConnectionBoard board = new ConnectionBoard();

  /** A provider's connections: open, of those HTTP/2, streams, waiting; counters opened, failed, overloaded. */
  private static ProviderConnectionStats stats(String provider, int open, int http2, int streams, int waiting,
      long opened, long failed, long overloaded) {
    return new ProviderConnectionStats(provider, open, http2, streams, waiting, opened, opened, opened * 2_000,
        failed, overloaded);
  }

  @Test
  void shouldSumWhatEveryWorkerLastReportedPerProvider() {
    board.heartbeat("w1", T0, List.of(stats("openai", 10, 10, 250, 3, 40, 2, 5), stats("sim", 4, 0, 4, 0, 4, 0, 0)));
    board.heartbeat("w2", T0 + 100, List.of(stats("openai", 6, 6, 90, 1, 12, 1, 0)));

    List<ProviderConnectionStatus> rows = board.providers();

    assertThat(rows).extracting(ProviderConnectionStatus::provider).containsExactly("openai", "sim");
    ProviderConnectionStatus openai = rows.get(0);
    assertThat(openai.workers()).isEqualTo(2);
    assertThat(openai.open()).isEqualTo(16);
    assertThat(openai.http2()).isEqualTo(16);
    assertThat(openai.streams()).isEqualTo(340);
    assertThat(openai.streamsPerConnection()).isEqualTo(340 / 16.0);
    assertThat(openai.waiting()).isEqualTo(4);
    assertThat(openai.opened()).isEqualTo(52);
    assertThat(openai.connectFailures()).isEqualTo(3);
    assertThat(openai.connectOverloaded()).isEqualTo(5);
    assertThat(openai.connectsPerSecond()).as("no interval yet").isZero();
    assertThat(openai.connectMsMean()).as("no interval yet").isNull();
    assertThat(rows.get(1).workers()).isEqualTo(1);
  }

  @Test
  void shouldDeriveRatesAndTheMeanConnectTimeFromAWorkersLastTwoHeartbeats() {
    board.heartbeat("w1", T0, List.of(new ProviderConnectionStats("p", 10, 0, 10, 0, 10, 10, 50_000, 0, 0)));
    // 5 s later (by the worker's clock): 50 more connects taking 2 ms each, 5 failed, 10 lost to local load
    board.heartbeat("w1", T0 + 5_000, List.of(new ProviderConnectionStats("p", 60, 0, 60, 0, 60, 60,
        50_000 + 50 * 2_000, 5, 10)));
    // another worker: 20 connects of 4 ms in 2 s
    board.heartbeat("w2", T0 + 1_000, List.of(new ProviderConnectionStats("p", 0, 0, 0, 0, 0, 0, 0, 0, 0)));
    board.heartbeat("w2", T0 + 3_000, List.of(new ProviderConnectionStats("p", 20, 0, 20, 0, 20, 20, 80_000, 0, 0)));

    ProviderConnectionStatus p = board.providers().get(0);

    assertThat(p.connectsPerSecond()).isCloseTo(50 / 5.0 + 20 / 2.0, within(1e-9));
    assertThat(p.connectMsMean()).as("weighted by connects").isCloseTo((50 * 2.0 + 20 * 4.0) / 70, within(1e-9));
    assertThat(p.connectFailuresPerSecond()).isCloseTo(1.0, within(1e-9));
    assertThat(p.connectOverloadedPerSecond()).isCloseTo(2.0, within(1e-9));
    assertThat(p.opened()).isEqualTo(80);
  }

  @Test
  void shouldTakeARestartedWorkersCountersAsGrowingFromZero() {
    board.heartbeat("w1", T0, List.of(stats("p", 50, 0, 50, 0, 500, 7, 3)));
    board.heartbeat("w1", T0 + 2_000, List.of(stats("p", 8, 0, 8, 0, 8, 1, 0)));

    ProviderConnectionStatus p = board.providers().get(0);

    assertThat(p.connectsPerSecond()).isEqualTo(4.0);
    assertThat(p.connectFailuresPerSecond()).isEqualTo(0.5);
    assertThat(p.connectOverloadedPerSecond()).isZero();
    assertThat(p.opened()).isEqualTo(8);
  }

  @Test
  void shouldIgnoreAHeartbeatOlderThanTheLastOneOfTheWorker() {
    board.heartbeat("w1", T0 + 5_000, List.of(stats("p", 9, 0, 9, 0, 90, 0, 0)));
    board.heartbeat("w1", T0, List.of(stats("p", 1, 0, 1, 0, 10, 0, 0)));

    assertThat(board.providers().get(0).open()).isEqualTo(9);
    assertThat(board.providers().get(0).connectsPerSecond()).isZero();
  }

  @Test
  void shouldShowNoConnectionsForAWorkerThatReportsNoneAndForgetAWorkerThatIsGone() {
    StatusBoard status = new StatusBoard(Fixtures.config(Fixtures.TWO_KEYS));
    status.heartbeat(Fixtures.heartbeat("old", 8, 8), T0); // a worker from before connection reports
    status.heartbeat(FleetEvent.heartbeat(Instant.ofEpochMilli(T0), "w1", 8, 8, List.of(stats("p", 2, 0, 2, 0, 2,
        0, 0))), T0);

    status.workers(T0 + 1_000);
    assertThat(status.connections()).singleElement().satisfies(p -> assertThat(p.workers()).isEqualTo(1));

    status.workers(T0 + 61_000);
    assertThat(status.connections()).as("no heartbeat for a minute").isEmpty();
  }
}
