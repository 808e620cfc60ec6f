package io.promptfleet.simulator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.simulator.ManualClock;
import io.promptfleet.simulator.RecordedRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StatsRecorderTest {

  private final ManualClock clock = new ManualClock(Instant.parse("2025-01-01T00:00:00Z"));
  private final StatsRecorder stats = new StatsRecorder(clock);

  @Test
  void shouldKeepTheMaximumConcurrencyAfterRequestsEnd() {
    StatsRecorder.Lease a = stats.requestStarted("k");
    StatsRecorder.Lease b = stats.requestStarted("k");
    a.release();
    a.release(); // a second release changes nothing
    StatsRecorder.Lease c = stats.requestStarted("k");

    assertThat(stats.concurrentRequests("k")).isEqualTo(2);
    assertThat(stats.maxConcurrentRequests("k")).isEqualTo(2);
    b.release();
    c.release();
    assertThat(stats.concurrentRequests("k")).isZero();
    assertThat(stats.maxConcurrentRequests("k")).isEqualTo(2);
  }

  @Test
  void shouldKeepTrackingRequestsInFlightAcrossReset() {
    StatsRecorder.Lease inFlight = stats.requestStarted("busy");
    stats.requestStarted("idle").release();

    stats.reset();

    assertThat(stats.maxConcurrentRequestsByKey()).isEqualTo(Map.of("busy", 1));
    StatsRecorder.Lease second = stats.requestStarted("busy");
    assertThat(stats.maxConcurrentRequests("busy")).isEqualTo(2);
    inFlight.release();
    second.release();
    assertThat(stats.concurrentRequests("busy")).isZero();
  }

  @Test
  void shouldCountTheMostRequestsInAnyWindow() {
    for (int i = 0; i < 5; i++) {
      stats.requestStarted("k").release();
      clock.advance(Duration.ofSeconds(10)); // starts at 0, 10, 20, 30, 40 s
    }
    clock.advance(Duration.ofSeconds(60));
    stats.requestStarted("k").release(); // at 110 s

    assertThat(stats.maxRequestsInWindow("k", Duration.ofMinutes(1))).isEqualTo(5);
    assertThat(stats.maxRequestsInWindow("k", Duration.ofSeconds(20))).isEqualTo(2);
    assertThat(stats.maxRequestsInWindow("k", Duration.ofSeconds(10))).isEqualTo(1);
    assertThat(stats.maxRequestsInWindow("nobody", Duration.ofMinutes(1))).isZero();
  }

  @Test
  void shouldBoundTheStartTimesPerKey() {
    for (int i = 0; i < StatsRecorder.MAX_STARTS_PER_KEY + 5; i++) {
      stats.requestStarted("k").release();
      clock.advance(Duration.ofMillis(1));
    }

    List<Instant> starts = stats.requestStarts("k");
    assertThat(starts).hasSize(StatsRecorder.MAX_STARTS_PER_KEY);
    assertThat(starts.get(0)).isEqualTo(Instant.parse("2025-01-01T00:00:00.005Z"));
  }

  @Test
  void shouldKeepOnlyTheMostRecentRequests() {
    for (int i = 0; i < StatsRecorder.MAX_RECORDED_REQUESTS + 3; i++) {
      stats.record(new RecordedRequest("POST", "/v1/chat/completions", Map.of(), "body " + i, clock.instant()));
    }

    List<RecordedRequest> recent = stats.recentRequests();
    assertThat(recent).hasSize(StatsRecorder.MAX_RECORDED_REQUESTS);
    assertThat(recent.get(0).body()).isEqualTo("body 3");
    assertThat(recent.get(recent.size() - 1).body()).isEqualTo("body " + (StatsRecorder.MAX_RECORDED_REQUESTS + 2));
  }

  @Test
  void shouldCountStreams() {
    stats.streamOpened();
    stats.streamOpened();
    stats.streamClosed(true);

    assertThat(stats.activeStreams()).isEqualTo(1);
    assertThat(stats.completedStreams()).isEqualTo(1);
    stats.streamClosed(false);
    assertThat(stats.activeStreams()).isZero();
    assertThat(stats.completedStreams()).isEqualTo(1);
  }
}
