package io.promptfleet.worker.stream.sse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.promptfleet.worker.stream.sse.RecordingListener.Event;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * One example per parsing rule. Unless a test is about splitting itself, every example is parsed in one read,
 * one byte per read and at every possible two-read split, and all of those must agree.
 */
class SseParserTest {
  private static final int MAX_LINE = 64 * 1024;
  private static final int MAX_EVENT = 256 * 1024;

  /** Result of parsing a whole stream and calling {@code end()}. */
  record Outcome(List<Event> events, int comments, List<Long> retries, String lastEventId, boolean discarded) {}

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] bytes(int... values) {
    byte[] out = new byte[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = (byte) values[i];
    }
    return out;
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] part : parts) {
      out.writeBytes(part);
    }
    return out.toByteArray();
  }

  /** Parses {@code reads} in order, each as one feed, then ends the stream. */
  private static Outcome parseReads(List<byte[]> reads) {
    RecordingListener listener = new RecordingListener();
    SseParser parser = new SseParser(listener, MAX_LINE, MAX_EVENT);
    for (byte[] read : reads) {
      parser.feed(read, 0, read.length);
    }
    boolean discarded = parser.end();
    assertThat(parser.commentCount()).isEqualTo(listener.comments);
    return new Outcome(listener.events, listener.comments, listener.retries, parser.lastEventId(), discarded);
  }

  /** Parses in one read, byte by byte and at every two-read split; all must agree. */
  private static Outcome parse(byte[] stream) {
    Outcome whole = parseReads(List.of(stream));
    List<byte[]> single = new ArrayList<>();
    for (byte b : stream) {
      single.add(new byte[] {b});
    }
    assertThat(parseReads(single)).as("one byte per read").isEqualTo(whole);
    for (int cut = 0; cut <= stream.length; cut++) {
      List<byte[]> two = List.of(Arrays.copyOfRange(stream, 0, cut), Arrays.copyOfRange(stream, cut, stream.length));
      assertThat(parseReads(two)).as("split at %d", cut).isEqualTo(whole);
    }
    return whole;
  }

  private static Outcome parse(String stream) {
    return parse(utf8(stream));
  }

  private static List<Event> events(String stream) {
    return parse(stream).events();
  }

  private static Event message(String data) {
    return Event.message(data);
  }

  @Nested
  class LineEnds {
    @Test
    void lf() {
      assertThat(events("data: a\n\ndata: b\n\n")).containsExactly(message("a"), message("b"));
    }

    @Test
    void cr() {
      assertThat(events("data: a\r\rdata: b\r\r")).containsExactly(message("a"), message("b"));
    }

    @Test
    void crlf() {
      assertThat(events("data: a\r\n\r\ndata: b\r\n\r\n")).containsExactly(message("a"), message("b"));
    }

    @Test
    void mixedInOneStream() {
      assertThat(events("data: a\rdata: b\r\ndata: c\n\r\ndata: d\r\n\n"))
          .containsExactly(message("a\nb\nc"), message("d"));
    }

    @Test
    void crlfCountsOnceNotTwice() {
      // Were CRLF two line ends, the LF would be a blank line and dispatch "a" and "b" separately.
      assertThat(events("data: a\r\ndata: b\r\n\r\n")).containsExactly(message("a\nb"));
    }

    @Test
    void crAndLfInDifferentReadsAreOneLineEnd() {
      Outcome outcome = parseReads(List.of(utf8("data: a\r"), utf8("\ndata: b\r"), utf8("\n\r"), utf8("\n")));
      assertThat(outcome.events()).containsExactly(message("a\nb"));
    }

    @Test
    void crAtEndOfReadSurvivesEmptyReads() {
      Outcome outcome = parseReads(List.of(utf8("data: a\r"), new byte[0], utf8("\ndata: b\n\n")));
      assertThat(outcome.events()).containsExactly(message("a\nb"));
    }

    @Test
    void crAtEndOfReadDoesNotSwallowTheNextLine() {
      Outcome outcome = parseReads(List.of(utf8("data: a\r"), utf8("data: b\r\r")));
      assertThat(outcome.events()).containsExactly(message("a\nb"));
    }

    @Test
    void crCrIsTwoLineEnds() {
      assertThat(events("data: a\r\r")).containsExactly(message("a"));
      Outcome outcome = parseReads(List.of(utf8("data: a\r"), utf8("\r")));
      assertThat(outcome.events()).containsExactly(message("a"));
    }

    @Test
    void lfCrIsTwoLineEnds() {
      assertThat(events("data: a\n\r")).containsExactly(message("a"));
    }

    @Test
    void unicodeLineSeparatorsAreOrdinaryCharacters() {
      String odd = "a\u2028b\u2029c\u0085d\u000Be\u000Cf";
      assertThat(events("event: t\u2028\u0085\nid: i\u2029\ndata: " + odd + "\n\n"))
          .containsExactly(new Event("t\u2028\u0085", odd, "i\u2029"));
    }
  }

  @Nested
  class ByteOrderMark {
    @Test
    void leadingBomIsSkipped() {
      // Not skipped, the first field would be named "\uFEFFdata" and ignored.
      assertThat(events("\uFEFFdata: a\n\n")).containsExactly(message("a"));
    }

    @Test
    void bomSplitAcrossReadsIsSkipped() {
      Outcome outcome = parseReads(List.of(bytes(0xEF), bytes(0xBB), bytes(0xBF), utf8("data: a\n\n")));
      assertThat(outcome.events()).containsExactly(message("a"));
    }

    @Test
    void bomBeforeBlankLine() {
      assertThat(events("\uFEFF\ndata: a\n\n")).containsExactly(message("a"));
    }

    @Test
    void onlyOneBomIsSkipped() {
      assertThat(events("\uFEFF\uFEFFdata: a\n\n")).isEmpty();
    }

    @Test
    void bomAfterTheStartIsNotSkipped() {
      assertThat(events("data: a\n\n\uFEFFdata: b\n\n")).containsExactly(message("a"));
      assertThat(events("\n\uFEFFdata: b\n\n")).isEmpty();
    }

    @Test
    void bomInsideDataIsKept() {
      assertThat(events("data: \uFEFFa\n\n")).containsExactly(message("\uFEFFa"));
      assertThat(events("\uFEFFdata:\uFEFFa\n\n")).containsExactly(message("\uFEFFa"));
    }
  }

  @Nested
  class Comments {
    @Test
    void keepAliveIsCountedAndDispatchesNothing() {
      Outcome outcome = parse(": keep-alive\n\n:\n\n: ping\r\n");
      assertThat(outcome.events()).isEmpty();
      assertThat(outcome.comments()).isEqualTo(3);
    }

    @Test
    void commentInsideAnEventDoesNotBreakIt() {
      Outcome outcome = parse("data: a\n: keep-alive\ndata: b\n\n");
      assertThat(outcome.events()).containsExactly(message("a\nb"));
      assertThat(outcome.comments()).isEqualTo(1);
    }

    @Test
    void commentLookingLikeAFieldIsStillAComment() {
      assertThat(parse(":data: a\n\n").events()).isEmpty();
    }

    @Test
    void listenerSeesEachComment() {
      int[] seen = {0};
      SseParser parser = new SseParser(new SseListener() {
        @Override
        public void onEvent(String type, String data, String lastEventId) {}

        @Override
        public void onComment() {
          seen[0]++;
        }
      }, MAX_LINE, MAX_EVENT);
      byte[] stream = utf8(": keep-alive\n: keep-alive\n");
      parser.feed(stream, 0, stream.length);
      assertThat(seen[0]).isEqualTo(2);
      assertThat(parser.commentCount()).isEqualTo(2);
    }
  }

  @Nested
  class Data {
    @Test
    void oneOptionalSpaceAfterTheColonIsRemoved() {
      assertThat(events("data:a\n\ndata: a\n\ndata:  a\n\ndata: a \n\n"))
          .containsExactly(message("a"), message("a"), message(" a"), message("a "));
    }

    @Test
    void tabAfterTheColonIsKept() {
      assertThat(events("data:\ta\n\n")).containsExactly(message("\ta"));
    }

    @Test
    void colonsInTheValueAreKept() {
      assertThat(events("data: a:b: c\n\n")).containsExactly(message("a:b: c"));
    }

    @Test
    void multipleDataLinesJoinWithLf() {
      assertThat(events("data: a\ndata:\ndata: b\n\n")).containsExactly(message("a\n\nb"));
    }

    @Test
    void onlyOneTrailingLfIsRemoved() {
      assertThat(events("data: a\ndata\n\n")).containsExactly(message("a\n"));
    }

    @Test
    void fieldWithoutColonHasAnEmptyValue() {
      assertThat(events("data\n\n")).containsExactly(message(""));
      assertThat(events("data:\n\n")).containsExactly(message(""));
      assertThat(events("data\ndata\n\n")).containsExactly(message("\n"));
    }

    @Test
    void emptyDataBufferDispatchesNothing() {
      assertThat(events("\n\n\n")).isEmpty();
      assertThat(events("event: x\n\n")).isEmpty();
      assertThat(events("foo: x\n\n")).isEmpty();
    }

    @Test
    void fieldNamesAreCaseAndSpaceSensitive() {
      assertThat(events("Data: a\nDATA: b\ndata : c\n data: d\ndat: e\ndatax: f\n\n")).isEmpty();
    }

    @Test
    void unknownFieldsAreIgnored() {
      assertThat(events("foo: bar\ndata: a\nx\nbaz\n\n")).containsExactly(message("a"));
    }
  }

  @Nested
  class EventType {
    @Test
    void eventFieldSetsTheType() {
      assertThat(events("event: add\ndata: a\n\n")).containsExactly(new Event("add", "a", ""));
    }

    @Test
    void lastEventFieldWins() {
      assertThat(events("event: a\nevent: b\ndata: x\n\n")).containsExactly(new Event("b", "x", ""));
    }

    @Test
    void typeIsResetAfterDispatch() {
      assertThat(events("event: add\ndata: a\n\ndata: b\n\n"))
          .containsExactly(new Event("add", "a", ""), message("b"));
    }

    @Test
    void typeIsResetByABlankLineWithoutData() {
      assertThat(events("event: add\n\ndata: b\n\n")).containsExactly(message("b"));
    }

    @Test
    void emptyTypeMeansMessage() {
      assertThat(events("event:\ndata: a\n\nevent\ndata: b\n\n")).containsExactly(message("a"), message("b"));
    }

    @Test
    void repeatedTypesAreReportedCorrectly() {
      assertThat(events("event: d\ndata: 1\n\nevent: d\ndata: 2\n\nevent: é\ndata: 3\n\nevent: é\ndata: 4\n\n"))
          .containsExactly(new Event("d", "1", ""), new Event("d", "2", ""), new Event("é", "3", ""),
              new Event("é", "4", ""));
    }
  }

  @Nested
  class Id {
    @Test
    void idPersistsAcrossEvents() {
      assertThat(events("id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n"))
          .containsExactly(new Event("message", "a", "1"), new Event("message", "b", "1"),
              new Event("message", "c", "2"));
    }

    @Test
    void idAppliesToTheEventItIsIn() {
      assertThat(events("data: a\nid: 7\n\n")).containsExactly(new Event("message", "a", "7"));
    }

    @Test
    void emptyIdResetsIt() {
      assertThat(events("id: 1\ndata: a\n\nid\ndata: b\n\nid: 1\n\nid:\ndata: c\n\n"))
          .containsExactly(new Event("message", "a", "1"), message("b"), message("c"));
    }

    @Test
    void idContainingNulIsIgnored() {
      Outcome outcome = parse("id: 1\ndata: a\n\nid: 2\u00003\ndata: b\n\n");
      assertThat(outcome.events()).containsExactly(new Event("message", "a", "1"), new Event("message", "b", "1"));
      assertThat(outcome.lastEventId()).isEqualTo("1");
    }

    @Test
    void nulElsewhereIsOrdinary() {
      assertThat(events("event: a\u0000\ndata: b\u0000c\n\n")).containsExactly(new Event("a\u0000", "b\u0000c", ""));
    }

    @Test
    void lastEventIdIsCommittedByABlankLineEvenWithoutData() {
      Outcome outcome = parse("id: 5\n\n");
      assertThat(outcome.events()).isEmpty();
      assertThat(outcome.lastEventId()).isEqualTo("5");
    }

    @Test
    void idOfAnUnterminatedEventIsNotCommitted() {
      Outcome outcome = parse("id: 1\ndata: a\n\nid: 2\ndata: b\n");
      assertThat(outcome.lastEventId()).isEqualTo("1");
      assertThat(outcome.discarded()).isTrue();
    }
  }

  @Nested
  class Retry {
    @Test
    void digitsSetTheReconnectionTime() {
      RecordingListener listener = new RecordingListener();
      SseParser parser = new SseParser(listener, MAX_LINE, MAX_EVENT);
      assertThat(parser.reconnectionTimeMillis()).isEqualTo(-1);
      byte[] stream = utf8("retry: 3000\nretry:0\n");
      parser.feed(stream, 0, stream.length);
      assertThat(listener.retries).containsExactly(3000L, 0L);
      assertThat(parser.reconnectionTimeMillis()).isZero();
      assertThat(listener.events).isEmpty();
    }

    @Test
    void nonDigitValuesAreIgnored() {
      Outcome outcome = parse("retry: 3s\nretry: -1\nretry:\nretry\nretry:  10\nretry: 10 \nretry: 1.5\n"
          + "retry: \u0663\nretry: +5\nretry: 12\n\n");
      assertThat(outcome.retries()).containsExactly(12L);
    }

    @Test
    void hugeValuesSaturate() {
      assertThat(parse("retry: 99999999999999999999999999\nretry: 9223372036854775807\n").retries())
          .containsExactly(Long.MAX_VALUE, Long.MAX_VALUE);
      assertThat(parse("retry: 9223372036854775806\n").retries()).containsExactly(Long.MAX_VALUE - 1);
    }

    @Test
    void retryDoesNotTouchTheEvent() {
      assertThat(parse("data: a\nretry: 5\ndata: b\n\n").events()).containsExactly(message("a\nb"));
    }
  }

  @Nested
  class EndOfStream {
    @Test
    void unterminatedLastEventIsDiscarded() {
      Outcome outcome = parse("data: a\n\ndata: b\n");
      assertThat(outcome.events()).containsExactly(message("a"));
      assertThat(outcome.discarded()).isTrue();
    }

    @Test
    void unterminatedLastLineIsDiscarded() {
      Outcome outcome = parse("data: a\n\ndata: b");
      assertThat(outcome.events()).containsExactly(message("a"));
      assertThat(outcome.discarded()).isTrue();
    }

    @Test
    void cleanEndDiscardsNothing() {
      Outcome outcome = parse("data: a\n\n");
      assertThat(outcome.events()).containsExactly(message("a"));
      assertThat(outcome.discarded()).isFalse();
      assertThat(parse("").discarded()).isFalse();
    }

    @Test
    void endIsIdempotentButFeedAfterEndFails() {
      SseParser parser = new SseParser(new RecordingListener(), MAX_LINE, MAX_EVENT);
      byte[] partial = utf8("data: a");
      parser.feed(partial, 0, partial.length);
      assertThat(parser.end()).isTrue();
      assertThat(parser.end()).isFalse();
      assertThatThrownBy(() -> parser.feed(partial, 0, 1)).isInstanceOf(IllegalStateException.class);
      assertThatThrownBy(() -> parser.feed(ByteBuffer.allocate(0))).isInstanceOf(IllegalStateException.class);
    }
  }

  @Nested
  class Utf8Decoding {
    @Test
    void fourByteEmojiSplitAcrossEveryPossibleRead() {
      byte[] stream = utf8("data: 😀\n\n");
      assertThat(stream).hasSize(6 + 4 + 2);
      for (int cut1 = 6; cut1 <= 10; cut1++) {
        for (int cut2 = cut1; cut2 <= 10; cut2++) {
          Outcome outcome = parseReads(List.of(Arrays.copyOfRange(stream, 0, cut1),
              Arrays.copyOfRange(stream, cut1, cut2), Arrays.copyOfRange(stream, cut2, stream.length)));
          assertThat(outcome.events()).as("cuts %d,%d", cut1, cut2).containsExactly(message("😀"));
        }
      }
      assertThat(events("data: 😀😀 é 東京\n\n")).containsExactly(message("😀😀 é 東京"));
    }

    @Test
    void invalidBytesBecomeReplacementCharacters() {
      byte[] stream = concat(utf8("data: "), bytes(0xFF), utf8(" x "), bytes(0xC3), utf8("\n\n"));
      assertThat(parse(stream).events()).containsExactly(message("\uFFFD x \uFFFD"));
    }

    @Test
    void truncatedSequenceAtLineEndIsOneReplacementCharacter() {
      byte[] stream = concat(utf8("data: "), bytes(0xF0, 0x9F, 0x98), utf8("\ndata: ok\n\n"));
      assertThat(parse(stream).events()).containsExactly(message("\uFFFD\nok"));
    }

    @Test
    void maximalSubpartsAsWhatwgSays() {
      // An encoded surrogate is three errors in WHATWG terms (the JDK alone would say one).
      byte[] stream = concat(utf8("data: "), bytes(0xED, 0xA0, 0x80), utf8("|"), bytes(0xE2, 0x82), utf8("|"),
          bytes(0xC0, 0x80), utf8("\n\n"));
      assertThat(parse(stream).events()).containsExactly(message("\uFFFD\uFFFD\uFFFD|\uFFFD|\uFFFD\uFFFD"));
    }

    @Test
    void invalidBytesInTypeAndId() {
      byte[] stream = concat(utf8("event: "), bytes(0xFF), utf8("\nid: "), bytes(0xFE), utf8("\ndata: a\n\n"));
      assertThat(parse(stream).events()).containsExactly(new Event("\uFFFD", "a", "\uFFFD"));
    }

    @Test
    void genuineReplacementCharacterIsKept() {
      assertThat(events("data: \uFFFD ok\n\n")).containsExactly(message("\uFFFD ok"));
    }
  }

  @Nested
  class Limits {
    @Test
    void endlessLineFailsWithBoundedMemory() {
      int maxLine = 1024;
      int read = 8192;
      RecordingListener listener = new RecordingListener();
      SseParser parser = new SseParser(listener, maxLine, MAX_EVENT);
      byte[] head = utf8("data: before\n\n");
      parser.feed(head, 0, head.length);
      byte[] chunk = new byte[read];
      Arrays.fill(chunk, (byte) 'x');
      long fed = 0;
      SseLineTooLongException thrown = null;
      try {
        for (int i = 0; i < 10 * 1024 * 1024 / read; i++) {
          parser.feed(chunk, 0, chunk.length);
          fed += read;
          assertThat(parser.lineBufferCapacity()).isLessThanOrEqualTo(maxLine);
        }
      } catch (SseLineTooLongException e) {
        thrown = e;
      }
      assertThat(thrown).isNotNull();
      assertThat(thrown.getMessage()).contains("maxLineBytes=1024");
      assertThat(thrown.limit()).isEqualTo(maxLine);
      assertThat(fed).as("failed in the first read that took the line past the limit")
          .isLessThanOrEqualTo(maxLine).isGreaterThan(maxLine - read);
      assertThat(parser.lineBufferCapacity()).isLessThanOrEqualTo(maxLine);
      assertThat(listener.events).containsExactly(message("before"));
      assertThatThrownBy(() -> parser.feed(chunk, 0, 1)).isInstanceOf(IllegalStateException.class)
          .hasCauseInstanceOf(SseLineTooLongException.class);
      assertThatThrownBy(parser::end).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void endlessLineFedByteByByteFailsAtTheLimit() {
      SseParser parser = new SseParser(new RecordingListener(), 16, MAX_EVENT);
      byte[] x = {'x'};
      for (int i = 0; i < 16; i++) {
        parser.feed(x, 0, 1);
      }
      assertThatThrownBy(() -> parser.feed(x, 0, 1)).isInstanceOf(SseLineTooLongException.class);
      assertThat(parser.lineBufferCapacity()).isLessThanOrEqualTo(16);
    }

    @Test
    void lineOfExactlyTheLimitIsAcceptedOneMoreIsNot() {
      String ok = "data: " + "y".repeat(10);
      assertThat(ok).hasSize(16);
      RecordingListener listener = new RecordingListener();
      SseParser parser = new SseParser(listener, 16, MAX_EVENT);
      byte[] stream = utf8(ok + "\r\n\r\n");
      parser.feed(stream, 0, stream.length);
      assertThat(listener.events).containsExactly(message("y".repeat(10)));

      SseParser strict = new SseParser(new RecordingListener(), 16, MAX_EVENT);
      byte[] tooLong = utf8(ok + "y\n\n");
      assertThatThrownBy(() -> strict.feed(tooLong, 0, tooLong.length)).isInstanceOf(SseLineTooLongException.class);
    }

    @Test
    void longCommentLinesAreLimitedToo() {
      SseParser parser = new SseParser(new RecordingListener(), 8, MAX_EVENT);
      byte[] stream = utf8(": this comment is long\n");
      assertThatThrownBy(() -> parser.feed(stream, 0, stream.length)).isInstanceOf(SseLineTooLongException.class);
    }

    @Test
    void eventDataIsLimited() {
      RecordingListener listener = new RecordingListener();
      SseParser parser = new SseParser(listener, MAX_LINE, 10);
      byte[] exactly = utf8("data: 12345\ndata: 6789\n\n");
      parser.feed(exactly, 0, exactly.length);
      assertThat(listener.events).containsExactly(message("12345\n6789"));
      byte[] tooLarge = utf8("data: 12345\ndata: 67890\n\n");
      assertThatThrownBy(() -> parser.feed(tooLarge, 0, tooLarge.length))
          .isInstanceOf(SseEventTooLargeException.class)
          .isInstanceOf(SseLimitExceededException.class)
          .hasMessageContaining("maxEventBytes=10");
      assertThat(parser.dataBufferCapacity()).isLessThanOrEqualTo(11);
      assertThat(listener.events).hasSize(1);
    }

    @Test
    void bigBuffersAreReleasedAfterUse() {
      RecordingListener listener = new RecordingListener();
      SseParser parser = new SseParser(listener, 1 << 20, 1 << 20);
      String big = "z".repeat(200_000);
      byte[] stream = utf8("data: " + big + "\n\n");
      for (int i = 0; i < stream.length; i += 1000) {
        parser.feed(stream, i, Math.min(1000, stream.length - i));
      }
      assertThat(listener.events).containsExactly(message(big));
      assertThat(parser.lineBufferCapacity()).isZero();
      assertThat(parser.dataBufferCapacity()).isZero();
    }

    @Test
    void constructorRejectsNonsense() {
      assertThatThrownBy(() -> new SseParser(new RecordingListener(), 0, 1))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> new SseParser(new RecordingListener(), 1, 0))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> new SseParser(null, 1, 1)).isInstanceOf(NullPointerException.class);
    }
  }

  @Nested
  class Api {
    @Test
    void byteBuffersOfEveryKind() {
      byte[] stream = utf8("data: a\r\n\r\ndata: b\r");
      byte[] tail = utf8("\n\n");

      RecordingListener heap = new RecordingListener();
      SseParser heapParser = new SseParser(heap, MAX_LINE, MAX_EVENT);
      byte[] padded = concat(utf8("xx"), stream, utf8("yy"));
      ByteBuffer slice = ByteBuffer.wrap(padded, 2, stream.length).slice();
      heapParser.feed(slice);
      assertThat(slice.hasRemaining()).isFalse();
      heapParser.feed(ByteBuffer.wrap(tail));

      RecordingListener direct = new RecordingListener();
      SseParser directParser = new SseParser(direct, MAX_LINE, MAX_EVENT);
      ByteBuffer directBuffer = ByteBuffer.allocateDirect(stream.length).put(stream).flip();
      directParser.feed(directBuffer);
      assertThat(directBuffer.hasRemaining()).isFalse();
      directParser.feed(ByteBuffer.wrap(tail).asReadOnlyBuffer());

      List<Event> expected = List.of(message("a"), message("b"));
      assertThat(heap.events).isEqualTo(expected);
      assertThat(direct.events).isEqualTo(expected);
    }

    @Test
    void directBufferLargerThanTheScratchArray() {
      String big = "q".repeat(10_000);
      byte[] stream = utf8("data: " + big + "\n\n");
      RecordingListener listener = new RecordingListener();
      SseParser parser = new SseParser(listener, MAX_LINE, MAX_EVENT);
      parser.feed(ByteBuffer.allocateDirect(stream.length).put(stream).flip());
      assertThat(listener.events).containsExactly(message(big));
    }

    @Test
    void offsetAndLengthAreRespected() {
      byte[] padded = utf8("garbage\ndata: a\n\ngarbage");
      RecordingListener listener = new RecordingListener();
      SseParser parser = new SseParser(listener, MAX_LINE, MAX_EVENT);
      parser.feed(padded, 8, 9);
      assertThat(listener.events).containsExactly(message("a"));
      assertThatThrownBy(() -> parser.feed(padded, 20, 10)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void throwingListenerFailsTheParser() {
      SseParser parser = new SseParser((type, data, id) -> {
        throw new IllegalArgumentException("boom");
      }, MAX_LINE, MAX_EVENT);
      byte[] stream = utf8("data: a\n\ndata: b\n\n");
      assertThatThrownBy(() -> parser.feed(stream, 0, stream.length)).hasMessage("boom");
      assertThatThrownBy(() -> parser.feed(stream, 0, stream.length)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void reentrantCallsAreRejected() {
      SseParser[] self = new SseParser[1];
      byte[] stream = utf8("data: a\n\n");
      self[0] = new SseParser((type, data, id) -> self[0].feed(stream, 0, stream.length), MAX_LINE, MAX_EVENT);
      assertThatThrownBy(() -> self[0].feed(stream, 0, stream.length)).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("own listener");
    }

    @Test
    void defaultListenerMethodsAreOptional() {
      List<String> seen = new ArrayList<>();
      SseParser parser = new SseParser((type, data, id) -> seen.add(data), MAX_LINE, MAX_EVENT);
      byte[] stream = utf8(": hi\nretry: 5\ndata: a\n\n");
      parser.feed(stream, 0, stream.length);
      assertThat(seen).containsExactly("a");
      assertThat(parser.reconnectionTimeMillis()).isEqualTo(5);
    }
  }

  @Nested
  class RealisticStreams {
    @Test
    void openAiStreamOfFiftyChunks() {
      List<String> jsons = OpenAiStreamFixture.chunkJsons(50);
      List<Event> expected = new ArrayList<>();
      jsons.forEach(json -> expected.add(message(json)));
      expected.add(message("[DONE]"));

      Outcome perEvent = parseReads(OpenAiStreamFixture.eventBytes(50));
      assertThat(perEvent.events()).isEqualTo(expected);
      assertThat(perEvent.discarded()).isFalse();

      byte[] stream = OpenAiStreamFixture.streamBytes(50);
      assertThat(parseReads(List.of(stream)).events()).isEqualTo(expected);
      for (int size : new int[] {1, 7, 100, 1460}) {
        List<byte[]> reads = new ArrayList<>();
        for (int i = 0; i < stream.length; i += size) {
          reads.add(Arrays.copyOfRange(stream, i, Math.min(stream.length, i + size)));
        }
        assertThat(parseReads(reads).events()).as("reads of %d bytes", size).isEqualTo(expected);
      }
    }

    @Test
    void anthropicStyleStreamWithEventTypesAndPings() {
      String stream = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
          + "event: ping\ndata: {\"type\": \"ping\"}\n\n"
          + ": keep-alive\n\n"
          + "event: content_block_delta\ndata: {\"delta\":\"Hi\"}\n\n"
          + "event: content_block_delta\ndata: {\"delta\":\"!\"}\n\n"
          + "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
      Outcome outcome = parse(stream);
      assertThat(outcome.events()).extracting(Event::type).containsExactly("message_start", "ping",
          "content_block_delta", "content_block_delta", "message_stop");
      assertThat(outcome.events().get(3).data()).isEqualTo("{\"delta\":\"!\"}");
      assertThat(outcome.comments()).isEqualTo(1);
    }
  }
}
