package io.promptfleet.simulator;

import static io.promptfleet.simulator.SimulatorHarness.KEY;
import static io.promptfleet.simulator.SimulatorHarness.awaitCondition;
import static io.promptfleet.simulator.SimulatorHarness.chat;
import static io.promptfleet.simulator.SimulatorHarness.contentChunks;
import static io.promptfleet.simulator.SimulatorHarness.events;
import static io.promptfleet.simulator.SimulatorHarness.streamWithUsage;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Each fault mode, selected by a directive in the last user message, against a real server. */
class FaultModesTest extends SimulatorTest {

  @ParameterizedTest(name = "status {0}")
  @ValueSource(ints = {429, 500, 502, 503, 529, 400, 401, 403, 404, 408, 409, 413, 422})
  void shouldAnswerWithTheRequestedStatusAndAnOpenAiErrorBody(int code) {
    HttpResponse<String> response = sim.post(chat("hello [[sim:status code=" + code + "]]", true));

    assertThat(response.statusCode()).isEqualTo(code);
    assertThat(response.headers().firstValue("content-type")).hasValue("application/json");
    assertThat(response.headers().firstValue("x-request-id")).isPresent();
    JsonObject error = new JsonObject(response.body()).getJsonObject("error");
    assertThat(error.fieldNames()).containsExactlyInAnyOrder("message", "type", "param", "code");
    assertThat(error.getString("message")).isNotBlank();
    assertThat(error.getString("type")).isNotBlank();
    assertThat(sim.provider.stats().faultedRequests()).isEqualTo(1);
  }

  @Test
  void shouldSendRetryAfterMsAndRateLimitHeadersWith429() {
    HttpResponse<String> response = sim.post(chat("hello [[sim:status code=429 retry_after_ms=250]]", true));

    assertThat(response.statusCode()).isEqualTo(429);
    assertThat(response.headers().firstValue("retry-after-ms")).hasValue("250");
    assertThat(response.headers().firstValue("retry-after")).isEmpty();
    assertThat(response.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("0");
    assertThat(response.headers().firstValue("x-ratelimit-reset-requests")).hasValue("250ms");
    assertThat(response.headers().map()).containsKeys("x-ratelimit-limit-requests", "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens");
    JsonObject error = new JsonObject(response.body()).getJsonObject("error");
    assertThat(error.getString("code")).isEqualTo("rate_limit_exceeded");
  }

  @Test
  void shouldSendRetryAfterInSeconds() {
    HttpResponse<String> response = sim.post(chat("hello [[sim:status code=429 retry_after=3]]", false));

    assertThat(response.headers().firstValue("retry-after")).hasValue("3");
  }

  @Test
  void shouldSendRetryAfterAsAnHttpDate() {
    HttpResponse<String> response = sim.post(chat("hello [[sim:status code=429 retry_after_date=30]]", false));

    String value = response.headers().firstValue("retry-after").orElseThrow();
    assertThat(value).matches("[A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} GMT");
    ZonedDateTime at = ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME);
    assertThat(at).isCloseTo(ZonedDateTime.now().plusSeconds(30), within(5, ChronoUnit.SECONDS));
  }

  @Test
  void shouldMarkA429AsQuotaExhausted() {
    HttpResponse<String> response = sim.post(chat("hello [[sim:status code=429 quota=true]]", true));

    JsonObject error = new JsonObject(response.body()).getJsonObject("error");
    assertThat(response.statusCode()).isEqualTo(429);
    assertThat(error.getString("code")).isEqualTo("insufficient_quota");
    assertThat(error.getString("type")).isEqualTo("insufficient_quota");
  }

  @Test
  void shouldApplyATimesLimitedFaultOnceThenStreamTheSameContentNormally() {
    // Given a directive that applies once
    JsonObject request = streamWithUsage("retry me [[sim:status code=503 times=1]]");

    // When the same content is sent three times
    HttpResponse<String> first = sim.post(request);
    HttpResponse<String> second = sim.post(request);
    HttpResponse<String> third = sim.post(request);

    // Then only the first fails; the retry streams normally
    assertThat(first.statusCode()).isEqualTo(503);
    assertThat(second.statusCode()).isEqualTo(200);
    assertThat(second.body()).contains("\"finish_reason\":\"stop\"").endsWith("data: [DONE]\n\n");
    assertThat(third.statusCode()).isEqualTo(200);
    // and other content with the same directive has its own budget
    assertThat(sim.post(streamWithUsage("other [[sim:status code=503 times=1]]")).statusCode()).isEqualTo(503);
  }

  @Test
  void shouldCloseTheConnectionBeforeAnyHeaderOnReset() throws Exception {
    assertThatThrownBy(() -> sim.post(chat("hello [[sim:reset]]", true)))
        .isInstanceOf(UncheckedIOException.class);

    awaitCondition("the reset request is released", () -> sim.provider.stats().concurrentRequests(KEY) == 0);
    assertThat(sim.provider.stats().maxConcurrentRequests(KEY)).isEqualTo(1);
  }

  @Test
  void shouldCutTheConnectionAfterNContentChunks() throws Exception {
    try (StreamCapture stream = sim.openStream(streamWithUsage("hello [[sim:cut after=2]]"))) {
      String body = stream.readToEnd();

      assertThat(stream.response.statusCode()).isEqualTo(200);
      assertThat(stream.failure()).as("a cut is a broken connection, not a clean end").isInstanceOf(IOException.class);
      assertThat(contentChunks(body)).isEqualTo(2);
      assertThat(body).doesNotContain("finish_reason\":\"").doesNotContain("[DONE]").doesNotContain("\"usage\":{");
    }
    awaitCondition("the cut stream is closed", () -> sim.provider.stats().activeStreams() == 0);
    assertThat(sim.provider.stats().completedStreams()).isZero();
  }

  @Test
  void shouldStallAfterNContentChunksUntilTheClientGivesUp() throws Exception {
    StreamCapture stream = sim.openStream(streamWithUsage("hello [[sim:stall after=2]]"));
    try {
      // Given two content chunks arrived
      stream.awaitText("two content chunks", text -> contentChunks(text) == 2);

      // Then nothing more arrives and the connection stays open
      assertThat(stream.awaitEnd(Duration.ofMillis(300))).isFalse();
      assertThat(contentChunks(stream.text())).isEqualTo(2);
      assertThat(sim.provider.stats().activeStreams()).isEqualTo(1);
      assertThat(sim.provider.stats().concurrentRequests(KEY)).isEqualTo(1);
    } finally {
      // When the client's idle timeout gives up
      stream.close();
    }
    // Then the server cleans up
    awaitCondition("the stalled stream is released", () -> sim.provider.stats().activeStreams() == 0
        && sim.provider.stats().concurrentRequests(KEY) == 0);
  }

  @Test
  void shouldSendAnErrorEventAsDataAfterNChunks() {
    HttpResponse<String> response = sim.post(streamWithUsage("hello [[sim:error_event after=1 form=data]]"));
    String body = response.body();

    List<String> events = events(body);
    assertThat(contentChunks(body)).isEqualTo(1);
    assertThat(events.get(events.size() - 1)).isEqualTo("data: {\"error\":{\"message\":\"The server had an error"
        + " while processing your request.\",\"type\":\"server_error\"}}");
    assertThat(body).doesNotContain("[DONE]").doesNotContain("finish_reason\":\"");
    assertThat(response.headers().firstValue("connection")).hasValue("close");
  }

  @Test
  void shouldSendAnErrorEventWithEventNameAfterNChunks() {
    String body = sim.post(streamWithUsage("hello [[sim:error_event after=3 form=event]]")).body();

    List<String> events = events(body);
    assertThat(contentChunks(body)).isEqualTo(3);
    assertThat(events.get(events.size() - 1)).startsWith("event: error\ndata: {\"error\":{");
    assertThat(body).doesNotContain("[DONE]");
  }

  @Test
  void shouldEndANormalStreamWithoutDone() throws Exception {
    try (StreamCapture stream = sim.openStream(streamWithUsage("hello [[sim:no_done]]"))) {
      String body = stream.readToEnd();

      assertThat(stream.failure()).isNull();
      assertThat(contentChunks(body)).isEqualTo(5);
      assertThat(body).contains("\"finish_reason\":\"stop\"").contains("\"usage\":{\"prompt_tokens\"")
          .doesNotContain("[DONE]");
    }
    assertThat(sim.provider.stats().completedStreams()).isEqualTo(1);
  }

  @Test
  void shouldInsertOneMalformedEventAndThenContinueNormally() {
    String body = sim.post(streamWithUsage("hello [[sim:bad_json after=2]]")).body();

    List<String> events = events(body);
    assertThat(events.get(3)).isEqualTo("data: {not json"); // role, two content chunks, then the bad line
    assertThat(events).filteredOn(e -> e.startsWith("data: {not json")).hasSize(1);
    assertThat(contentChunks(body)).isEqualTo(5);
    assertThat(body).endsWith("data: [DONE]\n\n");
  }

  @Test
  void shouldWriteAGiantLineWithoutNewlineThenClose() throws Exception {
    // The JDK client drops the last bytes of a broken chunked body, so read the raw connection.
    String raw = sim.rawExchange(chat("hello [[sim:giant_line]]", true));

    assertThat(raw).startsWith("HTTP/1.1 200 OK\r\n");
    String body = raw.substring(raw.indexOf("\r\n\r\n") + 4);
    String roleChunk = body.substring(0, body.indexOf("\n\n") + 2);
    assertThat(roleChunk).contains("\"role\":\"assistant\"");
    // one HTTP chunk of 4 MiB 'x' (its CRLF is chunk framing, not part of the SSE text), then no last chunk
    String giantChunk = Integer.toHexString(Fault.DEFAULT_GIANT_LINE_BYTES) + "\r\n"
        + "x".repeat(Fault.DEFAULT_GIANT_LINE_BYTES) + "\r\n";
    assertThat(body).endsWith(roleChunk + "\r\n" + giantChunk);
  }

  @Test
  void shouldWriteAGiantLineOfTheRequestedSize() throws Exception {
    try (StreamCapture stream = sim.openStream(chat("hello [[sim:giant_line bytes=100000]]", true))) {
      String body = stream.readToEnd();

      String afterRole = body.substring(body.indexOf("\n\n") + 2);
      assertThat(afterRole.length()).isBetween(50_000, 100_000); // the client may drop the tail of a broken body
      assertThat(afterRole.chars().allMatch(c -> c == 'x')).isTrue();
      assertThat(stream.failure()).as("the connection is closed, the response never ends").isNotNull();
    }
  }

  @Test
  void shouldInterleaveKeepAliveCommentsInASuccessfulStream() {
    String body = sim.post(chat("hello [[sim:keepalive every=2]]", true)).body();

    List<String> events = events(body);
    assertThat(events).filteredOn(": keep-alive"::equals).hasSize(2); // after content chunks 2 and 4
    assertThat(events.get(3)).isEqualTo(": keep-alive");
    assertThat(contentChunks(body)).isEqualTo(5);
    assertThat(body).endsWith("data: [DONE]\n\n");
  }

  @Test
  void shouldFrameAStreamWithCrlf() {
    String body = sim.post(streamWithUsage("hello [[sim:crlf]]")).body();

    assertThat(body.replace("\r\n", "")).doesNotContain("\n").doesNotContain("\r");
    assertThat(body).startsWith("data: {").endsWith("data: [DONE]\r\n\r\n");
    assertThat(contentChunks(body.replace("\r\n", "\n"))).isEqualTo(5);
  }

  @Test
  void shouldCombineModifiersWithAnEnding() {
    String body = sim.post(chat("hello [[sim:crlf]] [[sim:keepalive every=1]] [[sim:no_done]]", true)).body();

    assertThat(body).contains(": keep-alive\r\n\r\n").doesNotContain("[DONE]").contains("finish_reason\":\"stop");
  }

  @Test
  void shouldTakeDirectivesOnlyFromTheLastUserMessage() {
    JsonObject request = chat("fine now", true);
    request.getJsonArray("messages").add(0, new JsonObject().put("role", "user").put("content", "[[sim:status code=500]]"));

    assertThat(sim.post(request).statusCode()).isEqualTo(200);
  }

  @Test
  void shouldApplyStreamFaultsToNonStreamRequests() throws Exception {
    assertThat(sim.post(chat("hello [[sim:error_event]]", false)).statusCode()).isEqualTo(500);
    assertThatThrownBy(() -> sim.post(chat("hello [[sim:cut]]", false))).isInstanceOf(UncheckedIOException.class);
    assertThat(sim.post(chat("hello [[sim:no_done]] [[sim:crlf]]", false)).statusCode()).isEqualTo(200);
  }
}
