package io.promptfleet.simulator;

import static io.promptfleet.simulator.SimulatorHarness.awaitCondition;
import static io.promptfleet.simulator.SimulatorHarness.chat;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The live statistics, observed through real requests. */
class SimulatorStatsTest extends SimulatorTest {

  private static final String KEY_A = "Bearer key-a";
  private static final String KEY_B = "Bearer key-b";
  private static final String KEY_C = "Bearer key-c";

  @Test
  void shouldTrackTheMaximumConcurrencyOfEachKeyWithParallelRequests() throws Exception {
    SimulatorStats stats = sim.provider.stats();
    // Given 4 parallel requests on key A and 2 on key B, each held open by a stall
    List<CompletableFuture<HttpResponse<InputStream>>> open = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      open.add(sim.openStreamAsync(chat("hold " + i + " [[sim:stall after=0]]", true), "Authorization", KEY_A));
    }
    for (int i = 0; i < 2; i++) {
      open.add(sim.openStreamAsync(chat("hold " + i + " [[sim:stall after=0]]", true), "Authorization", KEY_B));
    }
    List<HttpResponse<InputStream>> responses = new ArrayList<>();
    try {
      for (CompletableFuture<HttpResponse<InputStream>> f : open) {
        responses.add(f.get(10, TimeUnit.SECONDS));
      }
      // Then all are in flight at once
      awaitCondition("6 requests in flight", () -> stats.concurrentRequests(KEY_A) == 4
          && stats.concurrentRequests(KEY_B) == 2);
      assertThat(stats.activeStreams()).isEqualTo(6);
    } finally {
      for (HttpResponse<InputStream> response : responses) {
        response.body().close();
      }
    }
    // When they are closed, the current counts drop and the maxima stay
    awaitCondition("all released", () -> stats.concurrentRequests(KEY_A) == 0
        && stats.concurrentRequests(KEY_B) == 0 && stats.activeStreams() == 0);
    assertThat(stats.maxConcurrentRequests(KEY_A)).isEqualTo(4);
    assertThat(stats.maxConcurrentRequests(KEY_B)).isEqualTo(2);

    // And sequential requests on key C never overlap
    for (int i = 0; i < 3; i++) {
      sim.post(chat("one at a time", true), "Authorization", KEY_C);
    }
    assertThat(stats.maxConcurrentRequests(KEY_C)).isEqualTo(1);
    assertThat(stats.maxConcurrentRequestsByKey()).containsEntry(KEY_A, 4).containsEntry(KEY_B, 2)
        .containsEntry(KEY_C, 1);
    assertThat(stats.maxConcurrentRequests("Bearer unknown")).isZero();
  }

  @Test
  void shouldCountRequestsAndCompletedStreams() throws Exception {
    SimulatorStats stats = sim.provider.stats();

    sim.post(chat("one", true));
    sim.post(chat("two", true));
    sim.post(chat("three", false));
    sim.post(chat("four [[sim:status code=500]]", true));

    assertThat(stats.totalRequests()).isEqualTo(4);
    awaitCondition("streams counted", () -> stats.completedStreams() == 2);
    assertThat(stats.activeStreams()).isZero();
    assertThat(stats.faultedRequests()).isEqualTo(1);
  }

  @Test
  void shouldRecordRequestStartsPerKey() {
    Instant before = Instant.now();
    for (int i = 0; i < 3; i++) {
      sim.post(chat("tick", false), "Authorization", KEY_A);
    }
    sim.post(chat("tock", false), "Authorization", KEY_B);

    SimulatorStats stats = sim.provider.stats();
    assertThat(stats.requestStarts(KEY_A)).hasSize(3).isSorted()
        .allSatisfy(t -> assertThat(t).isAfterOrEqualTo(before.minusMillis(5)));
    assertThat(stats.requestStarts(KEY_B)).hasSize(1);
    assertThat(stats.maxRequestsInWindow(KEY_A, Duration.ofMinutes(1))).isEqualTo(3);
  }

  @Test
  void shouldRecordRecentRequestsWithHeadersAndBody() {
    sim.post(chat("remember me", true), "Authorization", "Bearer sk-secret", "X-Trace", "t1");

    List<RecordedRequest> recorded = sim.provider.stats().recentRequests();
    assertThat(recorded).hasSize(1);
    RecordedRequest request = recorded.get(0);
    assertThat(request.method()).isEqualTo("POST");
    assertThat(request.path()).isEqualTo("/v1/chat/completions");
    assertThat(request.header("authorization")).hasValue("Bearer sk-secret");
    assertThat(request.header("X-TRACE")).hasValue("t1");
    assertThat(request.headers()).containsKey("x-trace");
    assertThat(request.body()).contains("remember me").doesNotContain("sk-secret");
    assertThat(request.time()).isNotNull();
    assertThat(sim.provider.recentRequests()).isEqualTo(recorded);
  }

  @Test
  void shouldForgetEverythingButRequestsInFlightOnReset() {
    sim.post(chat("x", true), "Authorization", KEY_A);

    sim.provider.stats().reset();

    SimulatorStats stats = sim.provider.stats();
    assertThat(stats.totalRequests()).isZero();
    assertThat(stats.completedStreams()).isZero();
    assertThat(stats.maxConcurrentRequestsByKey()).isEmpty();
    assertThat(stats.requestStarts(KEY_A)).isEmpty();
    assertThat(stats.recentRequests()).isEmpty();
  }
}
