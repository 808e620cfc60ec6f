package io.promptfleet.worker.stream;

import io.promptfleet.common.config.ProviderProtocol;
import io.promptfleet.worker.upstream.ChunkEvent;
import io.promptfleet.worker.upstream.Failure;
import io.promptfleet.worker.upstream.Protocols;
import io.promptfleet.worker.upstream.StreamDecoder;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.AssistantMessage;
import io.promptfleet.common.job.ToolCall;
import io.promptfleet.worker.stream.sse.SseParser;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Streams recorded from real providers and relays (test resources {@code vectors/}, sources in its README): each is
 * parsed by the worker's SSE parser and chunk-event reader and assembled by {@link MessageAssembler} exactly as a
 * {@link CompletionCall} does, in one read and split into 7-byte reads, and must give the message, finish reason and
 * usage the recording's {@code .expected.json} holds (computed independently with the OpenAI SDKs' accumulation
 * rule; for a vector of another protocol, e.g. {@code "protocol": "anthropic"}, decoded by that protocol's decoder
 * and written by hand from the source's documentation).
 */
class RecordedStreamsTest {

  static Stream<String> vectors() throws IOException, URISyntaxException {
    Path dir = Path.of(Objects.requireNonNull(RecordedStreamsTest.class.getResource("/vectors")).toURI());
    try (Stream<Path> files = Files.list(dir)) {
      List<String> names = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".sse"))
          .map(n -> n.substring(0, n.length() - 4))
          .filter(n -> Files.exists(dir.resolve(n + ".expected.json"))).sorted().toList();
      assertThat(names).as("recorded vectors").hasSizeGreaterThanOrEqualTo(6);
      return names.stream();
    }
  }

  /** What a call keeps of a whole stream, decoded by its provider's protocol. */
  static final class Assembled implements StreamDecoder.Events {
    final MessageAssembler answer = new MessageAssembler(CompletionCall.MAX_LOGPROBS_BYTES);
    int logprobsContent;
    boolean done;

    @Override
    public void event(ChunkEvent e) {
      answer.meta(e);
      if (e.logprobs() != null && e.logprobs().path("content").isArray()) {
        logprobsContent += e.logprobs().get("content").size();
      }
      answer.add(e);
    }

    @Override
    public void failure(Failure f) {
      throw new AssertionError("the recording decoded to a failure: " + f);
    }
  }

  /** The stream fed in reads of {@code readSize} bytes, decoded as {@code protocol} defines it. */
  static Assembled assemble(byte[] sse, int readSize, ProviderProtocol protocol) {
    Assembled a = new Assembled();
    StreamDecoder decoder = Protocols.of(protocol).streamDecoder();
    SseParser parser = EventBytesTest.bytesParser(
        (type, data, offset, length) -> CompletionCall.decode(decoder, type, data, offset, length, a)); // as the call

    for (int at = 0; at < sse.length; at += readSize) {
      parser.feed(sse, at, Math.min(readSize, sse.length - at));
    }
    parser.end();
    a.done = decoder.complete();
    return a;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("vectors")
  void shouldAssembleWhatTheRecordingHolds(String name) throws Exception {
    Path dir = Path.of(Objects.requireNonNull(getClass().getResource("/vectors")).toURI());
    byte[] sse = Files.readAllBytes(dir.resolve(name + ".sse"));
    JsonNode expected = Json.mapper().readTree(Files.readString(dir.resolve(name + ".expected.json"),
        StandardCharsets.UTF_8));

    ProviderProtocol protocol = ProviderProtocol.of(expected.path("protocol").asText("openai"));
    for (int readSize : new int[] {sse.length, 7}) {
      Assembled a = assemble(sse, readSize, protocol);
      // one Azure recording was published without its [DONE] line; every other recording ends as its protocol says
      boolean recordedEnd = protocol != ProviderProtocol.OPENAI
          || new String(sse, StandardCharsets.UTF_8).contains("[DONE]");
      assertThat(a.done).as("the stream said it was complete").isEqualTo(recordedEnd);
      AssistantMessage m = a.answer.message();

      assertThat(m.content()).as("content").isEqualTo(textOrNull(expected, "content", m.content()));
      assertThat(m.reasoning()).as("reasoning").isEqualTo(textOrNull(expected, "reasoning", null));
      assertThat(m.refusal()).as("refusal").isEqualTo(textOrNull(expected, "refusal", null));
      assertThat(a.answer.finishReason()).as("finish_reason").isEqualTo(textOrNull(expected, "finish_reason", null));
      assertThat(a.answer.model()).as("model").isEqualTo(textOrNull(expected, "model", null));
      JsonNode calls = expected.path("tool_calls");
      if (calls.isArray() && !calls.isEmpty()) {
        assertThat(m.toolCalls()).as("tool_calls").hasSize(calls.size());
        for (int i = 0; i < calls.size(); i++) {
          ToolCall c = m.toolCalls().get(i);
          assertThat(c.id()).as("tool_calls[%d].id", i).isEqualTo(textOrNull(calls.get(i), "id", null));
          assertThat(c.function().name()).as("tool_calls[%d].name", i)
              .isEqualTo(calls.get(i).path("function").path("name").asText());
          assertThat(c.function().arguments()).as("tool_calls[%d].arguments, byte for byte", i)
              .isEqualTo(calls.get(i).path("function").path("arguments").asText());
        }
      } else {
        assertThat(m.toolCalls()).as("tool_calls").isNull();
      }
      if (expected.has("reasoning_signature")) {
        assertThat(m.extra().get("reasoning_signature").asText()).as("reasoning_signature")
            .isEqualTo(expected.get("reasoning_signature").asText());
      }
      JsonNode fc = expected.path("function_call");
      if (fc.isObject()) {
        assertThat(m.functionCall().name()).isEqualTo(fc.path("name").asText());
        assertThat(m.functionCall().arguments()).isEqualTo(fc.path("arguments").asText());
      } else {
        assertThat(m.functionCall()).isNull();
      }
      JsonNode usage = expected.path("usage");
      if (usage.isObject()) {
        assertThat(a.answer.usage()).as("usage").isNotNull();
        assertThat(a.answer.usage().promptTokens()).isEqualTo(usage.path("prompt_tokens").asLong());
        assertThat(a.answer.usage().completionTokens()).isEqualTo(usage.path("completion_tokens").asLong());
        assertThat(a.answer.usage().totalTokens()).isEqualTo(usage.path("total_tokens").asLong());
        assertThat(a.answer.usage().cachedTokens()).as("cached tokens")
            .isEqualTo(usage.path("prompt_tokens_details").path("cached_tokens").asLong(
                usage.path("prompt_cache_hit_tokens").asLong(0)));
        assertThat(a.answer.usage().reasoningTokens()).as("reasoning tokens")
            .isEqualTo(usage.path("completion_tokens_details").path("reasoning_tokens").asLong(
                usage.path("reasoning_tokens").asLong(0)));
      }
      assertThat(a.logprobsContent).as("logprobs entries").isEqualTo(expected.path("logprobs_content_count").asInt());
      JsonNode lp = a.answer.logprobs();
      assertThat(lp == null ? 0 : lp.path("content").size()).as("logprobs kept for the result")
          .isEqualTo(expected.path("logprobs_content_count").asInt());
    }
  }

  /**
   * The expected text, or null. A recording whose expected content is null but whose stream sent empty content
   * strings assembles to "" or null depending on whether anything else was answered; both mean no text.
   */
  private static String textOrNull(JsonNode o, String field, String actualForEmpty) {
    JsonNode v = o.get(field);
    if (v == null || v.isNull()) {
      return "content".equals(field) && "".equals(actualForEmpty) ? "" : null;
    }
    return v.asText();
  }
}
