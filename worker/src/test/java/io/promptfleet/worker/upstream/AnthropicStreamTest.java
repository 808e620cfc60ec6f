package io.promptfleet.worker.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.ToolCallDelta;
import io.promptfleet.common.job.Usage;
import io.promptfleet.common.upstream.AnthropicAnswers;
import io.promptfleet.worker.stream.sse.SseParser;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Anthropic event decoder on event sequences shaped as Anthropic's streaming documentation shows them
 * (https://platform.claude.com/docs/en/build-with-claude/streaming: event flow, ping, error events, "other events"),
 * fed through the worker's SSE parser whole and in reads that split events anywhere.
 */
class AnthropicStreamTest {

  private static final String CACHED_TEXT = """
      event: message_start
      data: {"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","content":[],\
      "model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,\
      "cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":1,"service_tier":"standard"}}}

      event: content_block_start
      data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

      event: ping
      data: {"type": "ping"}

      event: content_block_delta
      data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Héllo "}}

      event: future_event
      data: {"type":"future_event","what":"something added after this was written"}

      event: content_block_delta
      data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"wörld"}}

      event: content_block_stop
      data: {"type":"content_block_stop","index":0}

      event: message_delta
      data: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":7}}

      event: message_stop
      data: {"type":"message_stop"}

      """;

  @Test
  void shouldDecodeTextAndCacheUsageWholeAndInEveryReadSplitIgnoringPingAndUnknownEvents() {
    byte[] sse = CACHED_TEXT.getBytes(StandardCharsets.UTF_8);
    for (int readSize = 1; readSize <= sse.length; readSize = readSize < 16 ? readSize + 1 : readSize * 2) {
      DecodedEvents seen = new DecodedEvents();
      AnthropicStream decoder = feed(sse, readSize, seen);

      assertThat(seen.failures).as("read size %d", readSize).isEmpty();
      assertThat(decoder.complete()).isTrue();
      assertThat(seen.content()).isEqualTo("Héllo wörld");
      assertThat(seen.events.get(0).id()).isEqualTo("msg_01");
      assertThat(seen.events.get(0).model()).isEqualTo("claude-sonnet-4-5");
      assertThat(seen.events.get(0).serviceTier()).isEqualTo("standard");
      assertThat(seen.events.stream().filter(e -> e.finishReason() != null).map(ChunkEvent::finishReason))
          .containsExactly("length");
      Usage u = seen.lastUsage();
      assertThat(u.promptTokens()).as("input + cache reads + cache writes").isEqualTo(2_112);
      assertThat(u.completionTokens()).isEqualTo(7);
      assertThat(u.totalTokens()).isEqualTo(2_119);
      assertThat(u.cachedTokens()).isEqualTo(2_000);
      assertThat(u.cacheCreationTokens()).isEqualTo(100);
      assertThat(u.promptTokensDetails().get("cache_read_input_tokens").asLong()).isEqualTo(2_000);
    }
  }

  @Test
  void shouldFailTransientlyOnAnErrorEventMidStreamAndNotCallItComplete() {
    String cut = CACHED_TEXT.substring(0, CACHED_TEXT.indexOf("event: content_block_stop"))
        + "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": "
        + "\"Overloaded\"}}\n\n";
    DecodedEvents seen = new DecodedEvents();

    AnthropicStream decoder = feed(cut.getBytes(StandardCharsets.UTF_8), 7, seen);

    assertThat(seen.content()).as("what came before the error").isEqualTo("Héllo wörld");
    assertThat(seen.failures).hasSize(1);
    Failure f = seen.failures.get(0);
    assertThat(f.kind()).isEqualTo(FailureClass.TRANSIENT);
    assertThat(f.code()).isEqualTo(ErrorCodes.UPSTREAM_ERROR);
    assertThat(f.message()).contains("Overloaded");
    assertThat(decoder.complete()).isFalse();
  }

  @Test
  void shouldNumberToolCallsFromZeroAndKeepTheThinkingSignatureAndOtherBlocks() {
    String sse = """
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_02","model":"claude-opus-4-1","usage":{"input_tokens":9,"output_tokens":1}}}

        event: content_block_start
        data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Two cities."}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBsig"}}

        event: content_block_start
        data: {"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"EmwKAhgB"}}

        event: content_block_start
        data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_a","name":"weather","input":{}}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\\"city\\": \\"Paris\\"}"}}

        event: content_block_start
        data: {"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_b","name":"weather","input":{}}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\\"city\\": \\"Rome\\"}"}}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":40}}

        event: message_stop
        data: {"type":"message_stop"}

        """;
    DecodedEvents seen = new DecodedEvents();

    feed(sse.getBytes(StandardCharsets.UTF_8), 13, seen);

    assertThat(seen.failures).isEmpty();
    assertThat(seen.events.stream().filter(e -> e.reasoning() != null).map(ChunkEvent::reasoning))
        .containsExactly("Two cities.");
    assertThat(seen.events.stream().filter(e -> e.extra() != null && e.extra().has("reasoning_signature"))
        .map(e -> e.extra().get("reasoning_signature").asText())).containsExactly("EqQBsig");
    assertThat(seen.events.stream().filter(e -> e.extra() != null && e.extra().has("anthropic_blocks"))
        .map(e -> e.extra().get("anthropic_blocks").toString()))
        .as("a block the fleet has no field for is kept").containsExactly(
            "[{\"index\":1,\"type\":\"redacted_thinking\",\"data\":\"EmwKAhgB\"}]");
    List<ToolCallDelta> calls = seen.events.stream().filter(e -> e.toolCalls() != null)
        .flatMap(e -> e.toolCalls().stream()).toList();
    assertThat(calls).extracting(ToolCallDelta::index).containsExactly(0, 0, 1, 1);
    assertThat(calls.get(0).id()).isEqualTo("toolu_a");
    assertThat(calls.get(0).type()).isEqualTo("function");
    assertThat(calls.get(0).function().name()).isEqualTo("weather");
    assertThat(calls.get(1).function().arguments()).isEqualTo("{\"city\": \"Paris\"}");
    assertThat(calls.get(2).id()).isEqualTo("toolu_b");
    assertThat(seen.events.stream().filter(e -> e.finishReason() != null).map(ChunkEvent::finishReason))
        .containsExactly("tool_calls");
  }

  @Test
  void shouldMapEveryStopReason() {
    Map<String, String> expected = new LinkedHashMap<>();
    expected.put("end_turn", "stop");
    expected.put("stop_sequence", "stop");
    expected.put("max_tokens", "length");
    expected.put("model_context_window_exceeded", "length");
    expected.put("tool_use", "tool_calls");
    expected.put("refusal", "content_filter");
    expected.put("pause_turn", "pause_turn");
    expected.forEach((anthropic, openai) -> assertThat(AnthropicAnswers.finishReason(anthropic)).as(anthropic)
        .isEqualTo(openai));
  }

  @Test
  void shouldFailOnAnEventThatIsNotJson() {
    DecodedEvents seen = new DecodedEvents();
    new AnthropicStream().decode("content_block_delta", "{\"type\":", seen);

    assertThat(seen.failures).extracting(Failure::code).containsExactly(ErrorCodes.STREAM_INVALID);
  }

  @Test
  void shouldReadAWholeMessageOfARouteThatDoesNotStream() throws Exception {
    // the response example of Anthropic's Messages API reference, with a thinking and a tool_use block added
    ChunkEvent e = Protocols.of(io.promptfleet.common.config.ProviderProtocol.ANTHROPIC).plainAnswer("""
        {"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant","model":"claude-sonnet-4-5",
         "content":[{"type":"thinking","thinking":"Hmm.","signature":"sig"},
                    {"type":"text","text":"Hi! My name is Claude."},
                    {"type":"tool_use","id":"toolu_1","name":"now","input":{}}],
         "stop_reason":"end_turn","stop_sequence":null,
         "usage":{"input_tokens":2095,"output_tokens":503,"cache_read_input_tokens":10}}""");

    assertThat(e.id()).isEqualTo("msg_013Zva2CMHLNnXjNJJKqJ2EF");
    assertThat(e.content()).isEqualTo("Hi! My name is Claude.");
    assertThat(e.reasoning()).isEqualTo("Hmm.");
    assertThat(e.extra().get("reasoning_signature").asText()).isEqualTo("sig");
    assertThat(e.toolCalls()).singleElement().satisfies(c -> {
      assertThat(c.index()).isZero();
      assertThat(c.function().arguments()).isEqualTo("{}");
    });
    assertThat(e.finishReason()).isEqualTo("stop");
    assertThat(e.usage().promptTokens()).isEqualTo(2_105);
    assertThat(e.usage().cachedTokens()).isEqualTo(10);
    assertThat(AnthropicStream.message("{\"type\":\"error\",\"error\":{\"type\":\"api_error\"}}").hasError())
        .isTrue();
  }

  @Test
  void shouldNormaliseAnthropicRateLimitHeadersForTheDispatcher() {
    Instant now = Instant.parse("2026-11-30T06:00:00Z");
    Map<String, String> h = new LinkedHashMap<>();
    h.put("Anthropic-RateLimit-Requests-Remaining", "49");
    h.put("anthropic-ratelimit-requests-reset", "2026-11-30T06:00:01.5Z");
    h.put("anthropic-ratelimit-tokens-remaining", "79000");
    h.put("anthropic-ratelimit-tokens-reset", "2026-11-30T06:00:30+00:00");
    h.put("anthropic-ratelimit-input-tokens-remaining", "70000");
    h.put("retry-after", "2");

    RateLimitHeaders r = RateLimitHeaders.of(h.entrySet(), s -> s, now);

    assertThat(r.rateLimit()).containsEntry("x-ratelimit-remaining-requests", "49")
        .containsEntry("x-ratelimit-reset-requests", "1500ms")
        .containsEntry("x-ratelimit-remaining-tokens", "79000")
        .containsEntry("x-ratelimit-reset-tokens", "30000ms");
    assertThat(r.retryAfterMs()).isEqualTo(2_000L);

    Map<String, String> split = Map.of("anthropic-ratelimit-input-tokens-remaining", "70000",
        "anthropic-ratelimit-input-tokens-reset", "2026-11-30T06:00:10Z",
        "anthropic-ratelimit-output-tokens-remaining", "8000",
        "anthropic-ratelimit-output-tokens-reset", "2026-11-30T05:59:00Z");
    assertThat(RateLimitHeaders.of(split.entrySet(), s -> s, now).rateLimit())
        .as("without a combined count, the smaller of input and output; a past reset is now")
        .containsEntry("x-ratelimit-remaining-tokens", "8000").containsEntry("x-ratelimit-reset-tokens", "0ms")
        .doesNotContainKey("x-ratelimit-remaining-requests");
  }

  @Test
  void shouldClassifyAnthropicHttpErrors() {
    UpstreamProtocol p = Protocols.of(io.promptfleet.common.config.ProviderProtocol.ANTHROPIC);
    String overloaded = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}";
    assertThat(p.httpFailure(529, overloaded).kind()).isEqualTo(FailureClass.TRANSIENT);
    assertThat(p.httpFailure(529, overloaded).message()).contains("529").contains("Overloaded");
    assertThat(p.httpFailure(400, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
        + "\"message\":\"max_tokens: Field required\"}}").kind()).isEqualTo(FailureClass.PERMANENT);
    assertThat(p.httpFailure(429, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\"}}").code())
        .isEqualTo(ErrorCodes.UPSTREAM_RATE_LIMITED);
    assertThat(p.httpFailure(402, "{\"type\":\"error\",\"error\":{\"type\":\"billing_error\"}}").kind())
        .isEqualTo(FailureClass.KEY_FATAL);
    assertThat(p.httpFailure(401, "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\"}}").code())
        .isEqualTo(ErrorCodes.UPSTREAM_AUTH);
  }

  private static AnthropicStream feed(byte[] sse, int readSize, DecodedEvents seen) {
    AnthropicStream decoder = new AnthropicStream();
    SseParser parser = new SseParser((type, data, id) -> decoder.decode(type, data, seen), 1 << 20, 4 << 20);
    for (int at = 0; at < sse.length; at += readSize) {
      parser.feed(sse, at, Math.min(readSize, sse.length - at));
    }
    parser.end();
    return decoder;
  }

}
