package io.promptfleet.simulator;

import static io.promptfleet.simulator.SimulatorHarness.chat;
import static io.promptfleet.simulator.SimulatorHarness.contentChunks;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Pacing by timers. Only lower bounds are asserted tightly (a timer never fires early); upper bounds are
 * generous so that a busy machine does not make the tests flaky.
 */
class PacingTest {

  private static final long TTFT_MS = 200;
  private static final double TPS = 20; // 50 ms per token
  private static final int TOKENS = 6;
  private static final long GENEROUS_MS = 5_000;

  private static SimulatorHarness sim;

  @BeforeAll
  static void startSimulator() throws Exception {
    sim = SimulatorHarness.start(SimulatorOptions.defaults().withPort(0).withFirstTokenDelayMs(TTFT_MS)
        .withTokensPerSecond(TPS).withDefaultCompletionTokens(TOKENS));
  }

  @AfterAll
  static void stopSimulator() throws Exception {
    sim.close();
  }

  @BeforeEach
  void resetSimulator() {
    sim.resetState();
  }

  @Test
  void shouldDelayTheFirstTokenAndThenPaceTheRest() throws Exception {
    long start = System.nanoTime();
    try (StreamCapture stream = sim.openStream(chat("pace me", true))) {
      // the headers and the role chunk come first; the first content token only after the TTFT
      stream.awaitText("the first content chunk", text -> contentChunks(text) >= 1);
      long firstTokenMs = elapsedMs(start);
      String body = stream.readToEnd();
      long totalMs = elapsedMs(start);

      assertThat(contentChunks(body)).isEqualTo(TOKENS);
      assertThat(firstTokenMs).isGreaterThanOrEqualTo(TTFT_MS - 20);
      long minimumMs = TTFT_MS + (long) ((TOKENS - 1) * 1000 / TPS); // 200 + 5 x 50
      assertThat(totalMs).isBetween(minimumMs - 20, minimumMs + GENEROUS_MS);
    }
  }

  @Test
  void shouldPaceANonStreamResponseLikeTheStreamItReplaces() {
    long start = System.nanoTime();
    HttpResponse<String> response = sim.post(chat("pace me", false));

    assertThat(response.statusCode()).isEqualTo(200);
    long minimumMs = TTFT_MS + (long) ((TOKENS - 1) * 1000 / TPS);
    assertThat(elapsedMs(start)).isBetween(minimumMs - 20, minimumMs + GENEROUS_MS);
  }

  @Test
  void shouldWriteEverythingAtOnceWhenASlowDirectiveSetsZeroDelays() {
    long start = System.nanoTime();
    HttpResponse<String> response = sim.post(chat("fast [[sim:slow ttft_ms=0 tps=0]]", true),
        "x-simulator-tokens", "500");

    assertThat(contentChunks(response.body())).isEqualTo(500);
    assertThat(elapsedMs(start)).isLessThan(GENEROUS_MS); // 500 tokens at 20/s would take 25 s
  }

  @Test
  void shouldOverrideOnlyTheGivenPacingParameter() {
    long start = System.nanoTime();
    sim.post(chat("slow start [[sim:slow ttft_ms=400]]", true));

    // 400 ms TTFT, then still 20 tokens/s: 400 + 5 x 50
    assertThat(elapsedMs(start)).isBetween(650L - 20, 650L + GENEROUS_MS);
  }

  @Test
  void shouldSpreadReasoningDeltasOverTheReasoningTimeAndStartTheContentAfterIt() throws Exception {
    // 4 reasoning deltas over 800 ms: due at TTFT + 0, 200, 400, 600 ms; the content from TTFT + 800 ms
    long start = System.nanoTime();
    try (StreamCapture stream = sim.openStream(chat("think [[sim:reasoning tokens=4 ms=800]]", true))) {
      long[] reasoningAt = new long[4];
      for (int k = 0; k < 4; k++) {
        int wanted = k + 1;
        stream.awaitText(wanted + " reasoning deltas", text -> count(text, "\"reasoning_content\":") >= wanted);
        reasoningAt[k] = elapsedMs(start);
      }
      stream.awaitText("the first content chunk", text -> contentChunks(text) >= 1);
      long firstContentMs = elapsedMs(start);
      String body = stream.readToEnd();
      long totalMs = elapsedMs(start);

      for (int k = 0; k < 4; k++) {
        assertThat(reasoningAt[k]).as("reasoning delta %d", k).isGreaterThanOrEqualTo(TTFT_MS + k * 200L - 20);
      }
      assertThat(reasoningAt[3]).isLessThanOrEqualTo(firstContentMs);
      assertThat(firstContentMs).isGreaterThanOrEqualTo(TTFT_MS + 800 - 20);
      assertThat(contentChunks(body)).isEqualTo(TOKENS);
      long minimumMs = TTFT_MS + 800 + (long) ((TOKENS - 1) * 1000 / TPS);
      assertThat(totalMs).isBetween(minimumMs - 20, minimumMs + GENEROUS_MS);
    }
  }

  @Test
  void shouldDelayTheContentByHiddenReasoningTimeWithoutStreamingIt() throws Exception {
    long start = System.nanoTime();
    try (StreamCapture stream = sim.openStream(chat("think [[sim:reasoning tokens=4 ms=600 hidden=true]]", true))) {
      stream.awaitText("the first content chunk", text -> contentChunks(text) >= 1);
      long firstContentMs = elapsedMs(start);
      String body = stream.readToEnd();

      assertThat(firstContentMs).isGreaterThanOrEqualTo(TTFT_MS + 600 - 20);
      assertThat(body).doesNotContain("reasoning_content\":\"");
    }
  }

  @Test
  void shouldPaceANonStreamReasoningAnswerLikeItsStream() {
    long start = System.nanoTime();
    HttpResponse<String> response = sim.post(chat("think [[sim:reasoning tokens=4 ms=500]]", false));

    assertThat(response.statusCode()).isEqualTo(200);
    long minimumMs = TTFT_MS + 500 + (long) ((TOKENS - 1) * 1000 / TPS);
    assertThat(elapsedMs(start)).isBetween(minimumMs - 20, minimumMs + GENEROUS_MS);
  }

  private static int count(String text, String needle) {
    int n = 0;
    for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }

  private static long elapsedMs(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }
}
