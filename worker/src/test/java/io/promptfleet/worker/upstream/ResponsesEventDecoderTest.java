package io.promptfleet.worker.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.ToolCallDelta;
import io.promptfleet.worker.stream.sse.SseParser;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The Responses API event decoder on event sequences as the API sends them. The failure events are the live
 * recordings vercel/ai@55cd1a40625f1ea6eda228cb413234328c215537 {@code
 * packages/openai/src/responses/__fixtures__/openai-error.1.chunks.txt} (an {@code error} event with a nested
 * error object, then {@code response.failed}) and {@code openai-response-failed-only.1.chunks.txt}, shortened to the
 * fields read here, and the flat {@code error} event of the API reference (platform.openai.com/docs/api-reference/
 * responses-streaming/error: {@code {"type":"error","code":"ERR_SOMETHING","message":"Something went wrong",
 * "param":null,"sequence_number":1}}). Whole recordings are decoded by RecordedStreamsTest.
 */
class ResponsesEventDecoderTest {

  private static final String CREATED = "{\"type\":\"response.created\",\"sequence_number\":0,\"response\":{"
      + "\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"in_progress\",\"model\":\"gpt-5-nano-2025-08-07\","
      + "\"output\":[],\"usage\":null}}";

  private static DecodedEvents decode(ResponsesEventDecoder decoder, String... data) {
    DecodedEvents r = new DecodedEvents();
    for (String d : data) {
      decoder.decode(null, d, r);
    }
    return r;
  }

  @Test
  void shouldReadTextAndFinishWithStopAndUsageWhenTheResponseCompletes() {
    ResponsesEventDecoder decoder = new ResponsesEventDecoder();

    DecodedEvents r = decode(decoder, CREATED,
        "{\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":{\"id\":\"msg_1\",\"type\":\"message\"}}",
        "{\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,"
            + "\"delta\":\"Hel\"}",
        "{\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,"
            + "\"delta\":\"lo\"}",
        "{\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"output\":[],"
            + "\"usage\":{\"input_tokens\":10,\"input_tokens_details\":{\"cached_tokens\":4},\"output_tokens\":7,"
            + "\"output_tokens_details\":{\"reasoning_tokens\":3},\"total_tokens\":17}}}");

    assertThat(r.failures).isEmpty();
    assertThat(r.events.get(0).id()).isEqualTo("resp_1");
    assertThat(r.events.get(0).model()).isEqualTo("gpt-5-nano-2025-08-07");
    assertThat(r.content()).isEqualTo("Hello");
    assertThat(r.finishReason()).isEqualTo("stop");
    ChunkEvent last = r.events.get(r.events.size() - 1);
    assertThat(last.usage().promptTokens()).isEqualTo(10);
    assertThat(last.usage().completionTokens()).isEqualTo(7);
    assertThat(last.usage().totalTokens()).isEqualTo(17);
    assertThat(last.usage().cachedTokens()).isEqualTo(4);
    assertThat(last.usage().reasoningTokens()).isEqualTo(3);
    assertThat(decoder.complete()).isTrue();
  }

  @Test
  void shouldDecodeTheSameWhateverReadsTheEventsArriveIn() {
    String sse = "event: response.created\ndata: " + CREATED + "\n\n"
        + "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"output_index\":0,"
        + "\"item\":{\"id\":\"fc_1\",\"type\":\"function_call\",\"call_id\":\"call_1\",\"name\":\"f\",\"arguments\":\"\"}}"
        + "\n\n: keep-alive\n\n"
        + "event: response.function_call_arguments.delta\ndata: {\"type\":\"response.function_call_arguments.delta\","
        + "\"item_id\":\"fc_1\",\"output_index\":0,\"delta\":\"{\\\"ci\"}\r\n\r\n"
        + "event: response.function_call_arguments.delta\ndata: {\"type\":\"response.function_call_arguments.delta\","
        + "\"item_id\":\"fc_1\",\"output_index\":0,\"delta\":\"ty\\\":\\\"Z\u00fcrich \u2603\\\"}\"}\n\n"
        + "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"status\":\"completed\","
        + "\"output\":[],\"usage\":{\"input_tokens\":1,\"output_tokens\":2,\"total_tokens\":3}}}\n\n";
    byte[] bytes = sse.getBytes(StandardCharsets.UTF_8);

    for (int split = 1; split < bytes.length; split++) {
      ResponsesEventDecoder decoder = new ResponsesEventDecoder();
      DecodedEvents r = new DecodedEvents();
      SseParser parser = new SseParser((type, data, id) -> decoder.decode(type, data, r), 1 << 16, 1 << 16);
      parser.feed(bytes, 0, split);
      parser.feed(bytes, split, bytes.length - split);
      parser.end();

      assertThat(r.failures).as("split at %d", split).isEmpty();
      assertThat(r.arguments(0)).as("split at %d", split).isEqualTo("{\"city\":\"Z\u00fcrich \u2603\"}");
      assertThat(r.finishReason()).as("split at %d", split).isEqualTo("tool_calls");
      assertThat(decoder.complete()).as("split at %d", split).isTrue();
    }
  }

  @Test
  void shouldGiveEachFunctionCallItsIndexInOutputOrderWithTheCallIdAsId() {
    DecodedEvents r = decode(new ResponsesEventDecoder(), CREATED,
        "{\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":\"reasoning\"}}",
        "{\"type\":\"response.output_item.added\",\"output_index\":1,\"item\":{\"id\":\"fc_a\",\"type\":\"function_call\","
            + "\"call_id\":\"call_a\",\"name\":\"weather\",\"arguments\":\"\"}}",
        "{\"type\":\"response.function_call_arguments.delta\",\"item_id\":\"fc_a\",\"output_index\":1,\"delta\":\"{}\"}",
        "{\"type\":\"response.output_item.added\",\"output_index\":2,\"item\":{\"id\":\"fc_b\",\"type\":\"function_call\","
            + "\"call_id\":\"call_b\",\"name\":\"stock\",\"arguments\":\"\"}}",
        "{\"type\":\"response.function_call_arguments.delta\",\"output_index\":2,\"delta\":\"{\\\"t\\\":1}\"}");

    List<ToolCallDelta> headers = r.events.stream().filter(e -> e.toolCalls() != null)
        .flatMap(e -> e.toolCalls().stream()).filter(d -> d.id() != null).toList();
    assertThat(headers).extracting(ToolCallDelta::index).containsExactly(0, 1);
    assertThat(headers).extracting(ToolCallDelta::id).containsExactly("call_a", "call_b");
    assertThat(headers).extracting(d -> d.function().name()).containsExactly("weather", "stock");
    assertThat(r.arguments(0)).isEqualTo("{}");
    assertThat(r.arguments(1)).as("found by output_index when item_id is absent").isEqualTo("{\"t\":1}");
  }

  @Test
  void shouldSeparateReasoningSummaryPartsAndReadReasoningText() {
    DecodedEvents r = decode(new ResponsesEventDecoder(), CREATED,
        "{\"type\":\"response.reasoning_summary_text.delta\",\"item_id\":\"rs_1\",\"summary_index\":0,\"delta\":\"**A**\"}",
        "{\"type\":\"response.reasoning_summary_text.delta\",\"item_id\":\"rs_1\",\"summary_index\":0,\"delta\":\" one\"}",
        "{\"type\":\"response.reasoning_summary_text.delta\",\"item_id\":\"rs_1\",\"summary_index\":1,\"delta\":\"**B**\"}",
        "{\"type\":\"response.reasoning_text.delta\",\"item_id\":\"rs_2\",\"content_index\":0,\"delta\":\"raw\"}");

    assertThat(r.reasoning()).isEqualTo("**A** one\n\n**B**\n\nraw");
  }

  @Test
  void shouldAddWhatADoneEventHoldsBeyondTheDeltasAndIgnoreADoneEventThatRepeatsOrContradictsThem() {
    DecodedEvents r = decode(new ResponsesEventDecoder(), CREATED,
        "{\"type\":\"response.output_text.delta\",\"item_id\":\"m\",\"content_index\":0,\"delta\":\"Hel\"}",
        "{\"type\":\"response.output_text.done\",\"item_id\":\"m\",\"content_index\":0,\"text\":\"Hello\"}",
        "{\"type\":\"response.output_text.delta\",\"item_id\":\"m\",\"content_index\":1,\"delta\":\"abc\"}",
        "{\"type\":\"response.output_text.done\",\"item_id\":\"m\",\"content_index\":1,\"text\":\"abc\"}",
        "{\"type\":\"response.output_text.delta\",\"item_id\":\"m\",\"content_index\":2,\"delta\":\"xyz\"}",
        "{\"type\":\"response.output_text.done\",\"item_id\":\"m\",\"content_index\":2,\"text\":\"other\"}",
        "{\"type\":\"response.refusal.done\",\"item_id\":\"m2\",\"content_index\":0,\"refusal\":\"No.\"}");

    assertThat(r.content()).isEqualTo("Helloabcxyz");
    assertThat(r.events.stream().filter(e -> e.refusal() != null).map(ChunkEvent::refusal))
        .as("a refusal only the done event carried").containsExactly("No.");
  }

  @Test
  void shouldIgnoreUnknownEventsAndEventsThatOnlyRepeat() {
    DecodedEvents r = decode(new ResponsesEventDecoder(), CREATED,
        "{\"type\":\"response.content_part.added\",\"item_id\":\"m\",\"part\":{\"type\":\"output_text\",\"text\":\"\"}}",
        "{\"type\":\"response.output_text.annotation.added\",\"item_id\":\"m\",\"annotation\":{}}",
        "{\"type\":\"response.web_search_call.searching\",\"item_id\":\"ws\"}",
        "{\"type\":\"response.some_future_event\",\"delta\":\"ignored\"}",
        "{\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":{\"type\":\"web_search_call\"}}");

    assertThat(r.failures).isEmpty();
    assertThat(r.events).hasSize(1);
    assertThat(r.events.get(0).hasDelta()).isFalse();
  }

  @Test
  void shouldFinishWithLengthWhenIncompleteForMaxOutputTokensAndContentFilterForAFilter() {
    ResponsesEventDecoder decoder = new ResponsesEventDecoder();
    DecodedEvents length = decode(decoder, CREATED, "{\"type\":\"response.incomplete\",\"response\":{\"status\":"
        + "\"incomplete\",\"incomplete_details\":{\"reason\":\"max_output_tokens\"},\"output\":[],\"usage\":{"
        + "\"input_tokens\":3,\"output_tokens\":16,\"total_tokens\":19}}}");
    DecodedEvents filtered = decode(new ResponsesEventDecoder(), CREATED, "{\"type\":\"response.incomplete\",\"response\":"
        + "{\"status\":\"incomplete\",\"incomplete_details\":{\"reason\":\"content_filter\"},\"output\":[]}}");

    assertThat(length.finishReason()).isEqualTo("length");
    assertThat(decoder.complete()).isTrue();
    assertThat(filtered.finishReason()).isEqualTo("content_filter");
  }

  @Test
  void shouldFailOnceWithTheQuotaErrorOfARecordedErrorEventFollowedByResponseFailed() {
    ResponsesEventDecoder decoder = new ResponsesEventDecoder();

    DecodedEvents r = decode(decoder, CREATED,
        "{\"type\":\"error\",\"sequence_number\":2,\"error\":{\"type\":\"insufficient_quota\",\"code\":"
            + "\"insufficient_quota\",\"message\":\"You exceeded your current quota, please check your plan and "
            + "billing details.\",\"param\":null}}",
        "{\"type\":\"response.failed\",\"sequence_number\":3,\"response\":{\"id\":\"resp_1\",\"status\":\"failed\","
            + "\"error\":{\"code\":\"insufficient_quota\",\"message\":\"You exceeded your current quota\"},"
            + "\"output\":[],\"usage\":null}}");

    assertThat(r.failures).hasSize(1);
    assertThat(r.failures.get(0).kind()).isEqualTo(FailureClass.KEY_FATAL);
    assertThat(r.failures.get(0).code()).isEqualTo(ErrorCodes.UPSTREAM_QUOTA);
    assertThat(r.failures.get(0).message()).contains("You exceeded your current quota");
    assertThat(decoder.complete()).isFalse();
  }

  @Test
  void shouldRetryARecordedRateLimitedResponseFailedAndAServerError() {
    DecodedEvents limited = decode(new ResponsesEventDecoder(), CREATED,
        "{\"type\":\"response.failed\",\"sequence_number\":1,\"response\":{\"status\":\"failed\",\"error\":{\"code\":"
            + "\"rate_limit_exceeded\",\"message\":\"Request too large for gpt-4o-mini in organization on tokens per "
            + "min (TPM): Limit 30000, Requested 35364.\"},\"output\":[]}}");
    DecodedEvents server = decode(new ResponsesEventDecoder(), CREATED,
        "{\"type\":\"response.failed\",\"response\":{\"status\":\"failed\",\"error\":{\"code\":\"server_error\","
            + "\"message\":\"The server had an error\"}}}");

    assertThat(limited.failures.get(0).kind()).isEqualTo(FailureClass.TRANSIENT);
    assertThat(limited.failures.get(0).code()).isEqualTo(ErrorCodes.UPSTREAM_RATE_LIMITED);
    assertThat(server.failures.get(0).kind()).isEqualTo(FailureClass.TRANSIENT);
    assertThat(server.failures.get(0).code()).isEqualTo(ErrorCodes.UPSTREAM_ERROR);
  }

  @Test
  void shouldFailPermanentlyOnAnInvalidRequestErrorAndReadTheFlatErrorEventOfTheReference() {
    DecodedEvents invalid = decode(new ResponsesEventDecoder(), CREATED,
        "{\"type\":\"response.failed\",\"response\":{\"status\":\"failed\",\"error\":{\"code\":\"invalid_image_url\","
            + "\"message\":\"Error while downloading https://example.com/x.png.\"}}}");
    DecodedEvents flat = decode(new ResponsesEventDecoder(), CREATED,
        "{\"type\":\"error\",\"code\":\"ERR_SOMETHING\",\"message\":\"Something went wrong\",\"param\":null,"
            + "\"sequence_number\":1}");

    assertThat(invalid.failures.get(0).kind()).isEqualTo(FailureClass.PERMANENT);
    assertThat(invalid.failures.get(0).code()).isEqualTo(ErrorCodes.UPSTREAM_REJECTED);
    assertThat(invalid.failures.get(0).message()).contains("invalid_image_url").contains("downloading");
    assertThat(flat.failures.get(0).kind()).isEqualTo(FailureClass.TRANSIENT);
    assertThat(flat.failures.get(0).message()).contains("Something went wrong");
  }

  @Test
  void shouldFailOnAnEventThatIsNotJsonAndOnArgumentsForACallNeverAdded() {
    DecodedEvents notJson = decode(new ResponsesEventDecoder(), CREATED, "{not json");
    DecodedEvents orphan = decode(new ResponsesEventDecoder(), CREATED,
        "{\"type\":\"response.function_call_arguments.delta\",\"item_id\":\"fc_x\",\"output_index\":3,\"delta\":\"{\"}");

    assertThat(notJson.failures.get(0).code()).isEqualTo(ErrorCodes.STREAM_INVALID);
    assertThat(orphan.failures.get(0).code()).isEqualTo(ErrorCodes.STREAM_INVALID);
  }
}
