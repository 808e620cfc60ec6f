package io.promptfleet.worker.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.ProviderProtocol;
import io.promptfleet.worker.stream.sse.SseListener;
import io.promptfleet.worker.stream.sse.SseParser;
import io.promptfleet.worker.stream.sse.Utf8;
import io.promptfleet.worker.upstream.DecodedEvents;
import io.promptfleet.worker.upstream.Protocols;
import io.promptfleet.worker.upstream.StreamDecoder;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The per-token path reads an event's bytes as they are ({@link CompletionCall#decode}); it must mean exactly what
 * the text of the event means to the same decoder: the same events, field for field, and the same failures, message
 * for message. Checked on every recorded stream, on data each decoder treats specially, and on mutated chunks.
 */
class EventBytesTest {

  /** An event's data bytes, as the parser hands them over. */
  @FunctionalInterface
  interface EventData {
    void onEvent(String type, byte[] data, int offset, int length);
  }

  /** A parser whose events go to {@code handler} as the bytes the parser holds, as they go to the call. */
  static SseParser bytesParser(EventData handler) {
    return new SseParser(new SseListener() {
      @Override
      public void onEvent(String type, String data, String id) {
        throw new AssertionError("the parser hands over bytes");
      }

      @Override
      public void onEvent(String type, byte[] data, int offset, int length, String id) {
        handler.onEvent(type, data, offset, length);
      }
    }, 1 << 20, 4 << 20);
  }


  /** Decodes {@code events} ({type, data bytes}) through the byte path and the text path, and compares. */
  private static void assertSameMeaning(ProviderProtocol protocol, List<Object[]> events) {
    StreamDecoder bytes = Protocols.of(protocol).streamDecoder();
    StreamDecoder text = Protocols.of(protocol).streamDecoder();
    DecodedEvents byBytes = new DecodedEvents();
    DecodedEvents byText = new DecodedEvents();
    for (Object[] e : events) {
      String type = (String) e[0];
      byte[] data = (byte[]) e[1];
      byte[] padded = new byte[data.length + 5]; // at an offset, as in the parser's buffer
      System.arraycopy(data, 0, padded, 3, data.length);
      CompletionCall.decode(bytes, type, padded, 3, data.length, byBytes);
      text.decode(type, Utf8.decode(data, 0, data.length), byText);
    }
    assertThat(byBytes.events).as("events decoded from bytes").usingRecursiveComparison().isEqualTo(byText.events);
    assertThat(byBytes.failures).as("failures decoded from bytes").isEqualTo(byText.failures);
    assertThat(bytes.complete()).as("complete").isEqualTo(text.complete());
  }

  static List<String> vectors() throws Exception {
    return RecordedStreamsTest.vectors().toList();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("vectors")
  void recordedStreamsMeanTheSameFromBytes(String name) throws Exception {
    Path dir = Path.of(Objects.requireNonNull(getClass().getResource("/vectors")).toURI());
    byte[] sse = Files.readAllBytes(dir.resolve(name + ".sse"));
    ProviderProtocol protocol = ProviderProtocol.of(Json.mapper().readTree(
        Files.readString(dir.resolve(name + ".expected.json"))).path("protocol").asText("openai"));
    List<Object[]> events = new ArrayList<>();
    SseParser parser = bytesParser((type, data, offset, length) ->
        events.add(new Object[] {type, Arrays.copyOfRange(data, offset, offset + length)}));
    parser.feed(sse, 0, sse.length);
    parser.end();
    assertThat(events).isNotEmpty();
    assertSameMeaning(protocol, events);
  }

  private static Object[] event(String type, byte[] data) {
    return new Object[] {type, data};
  }

  private static Object[] event(String type, String data) {
    return event(type, data.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] concat(String a, int[] middle, String b) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(a.getBytes(StandardCharsets.UTF_8));
    for (int m : middle) {
      out.write(m);
    }
    out.writeBytes(b.getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  @Test
  void openAiDataTheDecoderTreatsSpecially() {
    String chunk = "{\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"";
    assertSameMeaning(ProviderProtocol.OPENAI, List.of(
        event("message", chunk + "héllo 東 😀\"}}]}"),
        event("message", concat(chunk, new int[] {0xC3, 0x28}, "\"}}]}")), // invalid UTF-8: U+FFFD
        event("message", concat(chunk, new int[] {0xED, 0xA0, 0x80}, "\"}}]}")), // an encoded surrogate
        event("message", concat(chunk, new int[] {0xC0, 0xAF}, "\"}}]}")), // an overlong form
        event("message", concat("", new int[] {0xEF, 0xBB, 0xBF}, chunk + "bom\"}}]}")), // a BOM before the object
        event("message", " " + chunk + "space first\"}}]}"),
        event("message", concat("{", new int[] {0, 0, 0}, "}")),
        event("message", concat(chunk + "a", new int[] {0}, "b\"}}]}")), // a raw NUL in a string
        event("message", "{\"choices\":[{\"delta\":{\"content\":\"a\\u0000b\\ud83d\\ude00\"}}]}"),
        event("message", chunk + "cut"),
        event("message", "[1,2]"),
        event("message", "\"text\""),
        event("message", "{}"),
        event("message", "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t\",\"function\":"
            + "{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":\"}}]},\"logprobs\":{\"content\":[{\"token\":\"x\"}]}}]}"),
        event("message", "{\"choices\":[{\"delta\":{\"reasoning_content\":\"r\",\"other\":{\"k\":[1]}},"
            + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,"
            + "\"prompt_cache_hit_tokens\":2}}"),
        event("message", "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}"),
        event("error", "{\"id\":\"x\"}"),
        event("message", "[DONE]")));
  }

  @Test
  void anthropicDataTheDecoderTreatsSpecially() {
    assertSameMeaning(ProviderProtocol.ANTHROPIC, List.of(
        event("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg\",\"model\":\"claude\","
            + "\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}"),
        event("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,"
            + "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"),
        event("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,"
            + "\"delta\":{\"type\":\"text_delta\",\"text\":\"héllo\"}}"),
        event("content_block_delta", concat("{\"type\":\"content_block_delta\",\"index\":0,"
            + "\"delta\":{\"type\":\"text_delta\",\"text\":\"", new int[] {0xFF}, "\"}}")),
        event("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"),
        event("ping", "{\"type\": \"ping\"}"),
        event("content_block_delta", "[]"),
        event("error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"),
        event("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
            + "\"usage\":{\"output_tokens\":7}}"),
        event("message_stop", "{\"type\":\"message_stop\"}")));
  }

  @Provide
  Arbitrary<byte[]> mutatedChunks() {
    byte[] chunk = ("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt\",\"choices\":[{"
        + "\"index\":0,\"delta\":{\"content\":\"caf\u00e9 \u6771\"},\"logprobs\":null,\"finish_reason\":null}],"
        + "\"usage\":null}").getBytes(StandardCharsets.UTF_8);
    Arbitrary<Integer> at = Arbitraries.integers().between(0, chunk.length - 1);
    Arbitrary<Integer> value = Arbitraries.oneOf(Arbitraries.integers().between(0, 255),
        Arbitraries.of((int) '{', (int) '}', (int) '"', (int) '\\', (int) ':', (int) ',', 0x80, 0xC3, 0xE6, 0xF0));
    return at.list().ofMinSize(1).ofMaxSize(3).flatMap(positions -> value.list().ofSize(positions.size())
        .map(values -> {
          byte[] m = chunk.clone();
          for (int i = 0; i < positions.size(); i++) {
            m[positions.get(i)] = (byte) (int) values.get(i);
          }
          return m;
        }));
  }

  @Property(tries = 400)
  void mutatedChunksMeanTheSameFromBytes(@ForAll("mutatedChunks") byte[] data) {
    assertSameMeaning(ProviderProtocol.OPENAI, List.<Object[]>of(event("message", data)));
    assertSameMeaning(ProviderProtocol.ANTHROPIC, List.<Object[]>of(event("content_block_delta", data)));
  }
}
