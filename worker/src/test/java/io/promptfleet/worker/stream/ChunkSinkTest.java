package io.promptfleet.worker.stream;

import io.promptfleet.worker.upstream.ChunkEvent;
import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.Reply;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.Callback;
import org.junit.jupiter.api.Test;

/** The chunk sink with a fake publisher and a hand-driven timer: no Kafka, no HTTP, no event loop. */
class ChunkSinkTest {
  private static final String REASONING_LET_ME = "{\"reasoning_content\":\"Let me \"}";
  private static final String REASONING_THINK = "{\"reasoning_content\":\"think.\"}";
  private static final String CONTENT_HI = "{\"content\":\"Hi\"}";
  private static final String CONTENT_THERE = "{\"content\":\" there\"}";
  private static final String TOOL_CALL = "{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\","
      + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{}\"}}]}";
  private static final String CONTENT_DONE = "{\"content\":\"Done.\"}";

  private final ManualTimer timer = new ManualTimer();
  private final List<byte[]> sent = new ArrayList<>();
  private final List<Callback> callbacks = new ArrayList<>();
  private final List<Exception> firstErrors = new ArrayList<>();

  private ChunkSink sink(long coalesceMs) {
    return new ChunkSink("job-1", 2, coalesceMs, timer, (json, acked) -> {
      sent.add(json);
      callbacks.add(acked);
    }, firstErrors::add);
  }

  @Test
  void shouldPublishEveryDeltaAsItsOwnChunkInOrderWhenCoalescingIsOff() throws IOException {
    ChunkSink sink = sink(0);

    for (String delta : List.of(REASONING_LET_ME, REASONING_THINK, CONTENT_HI, CONTENT_THERE, TOOL_CALL,
        CONTENT_DONE)) {
      sink.delta(event(delta));
    }

    List<Chunk> chunks = chunks();
    assertThat(chunks).extracting(Chunk::seq).containsExactly(0L, 1L, 2L, 3L, 4L, 5L);
    assertThat(chunks).extracting(ChunkSinkTest::kind)
        .containsExactly("reasoning", "reasoning", "content", "content", "tool_calls", "content");
    assertThat(chunks).extracting(ChunkSinkTest::text)
        .containsExactly("Let me ", "think.", "Hi", " there", "get_weather", "Done.");
    assertThat(chunks).allSatisfy(c -> {
      assertThat(c.jobId()).isEqualTo("job-1");
      assertThat(c.attempt()).isEqualTo(2);
    });
    assertThat(sink.published()).isEqualTo(6);
    assertThat(timer.pending()).as("no coalescing timer").isZero();
  }

  @Test
  void shouldCoalesceTextOfOneKindAndFlushItWhenTheKindChangesOrAToolCallComes() throws IOException {
    ChunkSink sink = sink(20);

    // reasoning -> content -> tool call -> content, all within one window
    for (String delta : List.of(REASONING_LET_ME, REASONING_THINK, CONTENT_HI, CONTENT_THERE, TOOL_CALL,
        CONTENT_DONE)) {
      sink.delta(event(delta));
    }

    assertThat(chunks()).as("the last text waits for its window").extracting(ChunkSinkTest::kind)
        .containsExactly("reasoning", "content", "tool_calls");
    timer.advance(20);
    List<Chunk> chunks = chunks();
    assertThat(chunks).extracting(Chunk::seq).containsExactly(0L, 1L, 2L, 3L);
    assertThat(chunks).extracting(ChunkSinkTest::kind)
        .containsExactly("reasoning", "content", "tool_calls", "content");
    assertThat(chunks).extracting(ChunkSinkTest::text)
        .containsExactly("Let me think.", "Hi there", "get_weather", "Done.");
  }

  @Test
  void shouldPublishCoalescedTextWhenItsWindowEndsAndStartANewWindowAfter() throws IOException {
    ChunkSink sink = sink(20);

    sink.delta(event(CONTENT_HI));
    timer.advance(10);
    sink.delta(event(CONTENT_THERE));
    timer.advance(9);
    assertThat(sent).as("the window runs from the first delta it holds").isEmpty();
    timer.advance(1);
    sink.delta(event(CONTENT_DONE));
    timer.advance(20);

    assertThat(chunks()).extracting(ChunkSinkTest::text).containsExactly("Hi there", "Done.");
  }

  @Test
  void shouldNeverCoalesceAPieceThatCarriesLogprobs() throws IOException {
    ChunkSink sink = sink(20);

    sink.delta(event(CONTENT_HI));
    sink.delta(ChunkEvent.parse("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there\"},"
        + "\"logprobs\":{\"content\":[{\"token\":\" there\",\"logprob\":-0.1}]}}]}"));
    sink.delta(event(CONTENT_DONE));
    timer.advance(20);

    List<Chunk> chunks = chunks();
    assertThat(chunks).extracting(ChunkSinkTest::text).containsExactly("Hi", " there", "Done.");
    assertThat(chunks.get(0).logprobs()).isNull();
    assertThat(chunks.get(1).logprobs().get("content").get(0).get("token").asText()).isEqualTo(" there");
    assertThat(chunks.get(2).logprobs()).isNull();
  }

  @Test
  void shouldSplitOneEventIntoReasoningRefusalContentAndToolCallChunksInThatOrder() throws IOException {
    ChunkSink sink = sink(0);

    sink.delta(event("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}],\"content\":\"c\","
        + "\"refusal\":\"r\",\"reasoning\":\"t\"}"));

    assertThat(chunks()).extracting(ChunkSinkTest::kind)
        .containsExactly("reasoning", "refusal", "content", "tool_calls");
  }

  @Test
  void shouldWritePlainTextChunksAsJacksonWouldAndTheRestWithJackson() throws IOException {
    ChunkSink sink = sink(0);

    sink.delta(event("{\"content\":\"H\\u00e9 \\\"q\\\"\\n\"}"));
    sink.delta(event(REASONING_THINK));

    assertThat(new String(sent.get(0), StandardCharsets.UTF_8))
        .isEqualTo(Json.string(new Chunk("job-1", 2, 0, "H\u00e9 \"q\"\n", null)));
    assertThat(new String(sent.get(1), StandardCharsets.UTF_8)).isEqualTo(Json.string(
        new Chunk("job-1", 2, 1, "", null, "think.", null, null, null, null, null)));
  }

  @Test
  void shouldPublishTheWholeAnswerOfARouteThatDoesNotStreamAsOneChunk() throws IOException {
    ChunkSink sink = sink(20);

    sink.whole(ChunkEvent.parse("{\"choices\":[{\"index\":0,\"finish_reason\":\"stop\",\"message\":{\"role\":"
        + "\"assistant\",\"content\":\"Hi\",\"reasoning_content\":\"t\"}}]}"));

    assertThat(chunks()).singleElement().satisfies(c -> {
      assertThat(c.seq()).isZero();
      assertThat(c.delta()).isEqualTo("Hi");
      assertThat(c.reasoning()).isEqualTo("t");
    });
  }

  @Test
  void shouldPublishCoalescedTextWhenClosedForATerminalRecordAndDropItOtherwise() throws IOException {
    ChunkSink kept = sink(20);
    kept.delta(event(CONTENT_HI));
    kept.close(true);
    assertThat(chunks()).extracting(ChunkSinkTest::text).containsExactly("Hi");
    assertThat(timer.pending()).as("the window's timer is cancelled").isZero();

    sent.clear();
    ChunkSink dropped = sink(20);
    dropped.delta(event(CONTENT_HI));
    dropped.close(false);
    timer.advance(100);
    assertThat(sent).isEmpty();
    assertThat(dropped.published()).isZero();
  }

  @Test
  void shouldCompleteAllAckedOnlyOnceEveryChunkIsAcked() throws IOException {
    ChunkSink sink = sink(0);
    assertThat(sink.allAcked()).as("nothing outstanding").isDone();

    sink.delta(event(CONTENT_HI));
    sink.delta(event(CONTENT_THERE));
    CompletableFuture<Void> acked = sink.allAcked();
    callbacks.get(0).onCompletion(null, null);

    assertThat(acked).isNotDone();
    assertThat(sink.unacked()).isEqualTo(1);
    callbacks.get(1).onCompletion(null, null);
    assertThat(acked).isCompleted();
    assertThat(sink.error()).isNull();
  }

  @Test
  void shouldTellOnlyTheFirstChunkErrorAndStillCountFailedChunksAsAnswered() throws IOException {
    ChunkSink sink = sink(0);
    sink.delta(event(CONTENT_HI));
    sink.delta(event(CONTENT_THERE));
    CompletableFuture<Void> acked = sink.allAcked();

    Exception first = new IllegalStateException("buffer full");
    callbacks.get(0).onCompletion(null, first);
    callbacks.get(1).onCompletion(null, new IllegalStateException("again"));

    assertThat(firstErrors).containsExactly(first);
    assertThat(sink.error()).isSameAs(first);
    assertThat(acked).as("the terminal decision may go on: it finds the error").isCompleted();
  }

  @Test
  void shouldSendEachDeltaAtOnceWhenTheStreamIsSlowerThanKafkasAcks() throws IOException {
    ChunkSink sink = adaptive(1);

    for (String delta : List.of(CONTENT_HI, CONTENT_THERE, CONTENT_DONE)) {
      sink.delta(event(delta));
      assertThat(sent).as("sent at once, not held").hasSize(callbacks.size());
      callbacks.get(callbacks.size() - 1).onCompletion(null, null); // acked before the next delta
      loop.forEach(Runnable::run);
      loop.clear();
    }

    assertThat(chunks()).extracting(ChunkSinkTest::text).containsExactly("Hi", " there", "Done.");
  }

  @Test
  void shouldHoldABurstWhileAChunkIsUnackedAndSendItAsOneChunkAtTheAck() throws IOException {
    ChunkSink sink = adaptive(1);

    sink.delta(event(CONTENT_HI));
    for (int i = 0; i < 49; i++) {
      sink.delta(event("{\"content\":\"" + i + ",\"}"));
    }
    assertThat(chunks()).as("the first delta goes at once, the burst waits").extracting(ChunkSinkTest::text)
        .containsExactly("Hi");
    callbacks.get(0).onCompletion(null, null);
    assertThat(sent).as("released on the event loop, not the producer's thread").hasSize(1);
    loop.forEach(Runnable::run);

    List<Chunk> chunks = chunks();
    assertThat(chunks).extracting(Chunk::seq).containsExactly(0L, 1L);
    assertThat(chunks.get(1).delta()).startsWith("0,1,2,").endsWith("48,");
  }

  @Test
  void shouldSendHeldTextBeforeAToolCallAndBeforeTheTerminalRecord() throws IOException {
    ChunkSink sink = adaptive(1);

    sink.delta(event(CONTENT_HI));
    sink.delta(event(CONTENT_THERE));
    sink.delta(event(TOOL_CALL));
    sink.delta(event(CONTENT_DONE));
    sink.close(true);

    assertThat(chunks()).extracting(ChunkSinkTest::text).containsExactly("Hi", " there", "get_weather", "Done.");
  }

  private final List<Runnable> loop = new ArrayList<>();

  private ChunkSink adaptive(int maxInFlight) {
    return new ChunkSink("job-1", 2, 0, maxInFlight, loop::add, timer, (json, acked) -> {
      sent.add(json);
      callbacks.add(acked);
    }, firstErrors::add);
  }

  private static ChunkEvent event(String delta) throws IOException {
    return ChunkEvent.parse("{\"choices\":[{\"index\":0,\"delta\":" + delta + "}]}");
  }

  private List<Chunk> chunks() {
    return sent.stream().map(b -> (Chunk) Json.read(b, Reply.class)).toList();
  }

  private static String kind(Chunk c) {
    if (c.toolCalls() != null) {
      return "tool_calls";
    }
    return c.reasoning() != null ? "reasoning" : c.refusal() != null ? "refusal" : "content";
  }

  private static String text(Chunk c) {
    if (c.toolCalls() != null) {
      return c.toolCalls().get(0).function().name();
    }
    return c.reasoning() != null ? c.reasoning() : c.refusal() != null ? c.refusal() : c.delta();
  }
}
