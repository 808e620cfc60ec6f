package io.promptfleet.worker.stream.sse;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.worker.stream.sse.RecordingListener.Event;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;

/**
 * Random streams, serialised with random line ends, field spellings, unicode and BOM, must yield exactly the events
 * of the model they were generated from, however the bytes are split into reads. Random noisy bytes (invalid
 * UTF-8, stray CRs, over-long lines) must yield the same outcome, failures included, however they are split.
 */
class SseParserProperties {
  private static final String[] LINE_ENDS = {"\n", "\r", "\r\n"};
  private static final int BIG_LIMIT = 1 << 20;

  enum Kind { DATA, EVENT, ID, RETRY, COMMENT, UNKNOWN }

  /**
   * One non-blank line.
   *
   * @param colonStyle 0: {@code name:value}, 1: {@code name: value}, 2: bare {@code name} if the value is empty
   * @param lineEnd    index into {@link #LINE_ENDS}
   */
  record Line(Kind kind, String name, String value, int colonStyle, int lineEnd) {
    String content() {
      if (kind == Kind.COMMENT) {
        return ":" + value;
      }
      if (colonStyle == 2 && value.isEmpty()) {
        return name;
      }
      // A value starting with a space needs the optional space, or the parser would eat one of its own.
      return name + (colonStyle == 1 || value.startsWith(" ") ? ": " : ":") + value;
    }
  }

  /** Lines followed by a blank line. */
  record Block(List<Line> lines, int blankLineEnd) {}

  /** A whole stream: blocks, then an unterminated event whose very last line may lack its line end. */
  record StreamSpec(boolean bom, List<Block> blocks, List<Line> trailing, boolean lastLineTerminated) {

    byte[] bytes() {
      StringBuilder out = new StringBuilder(bom ? "\uFEFF" : "");
      boolean afterBareCr = false;
      for (Block block : blocks) {
        for (Line line : block.lines()) {
          out.append(line.content()).append(LINE_ENDS[line.lineEnd()]);
          afterBareCr = line.lineEnd() == 1;
        }
        // A blank line right after a bare CR must not start with LF: "\r" + "\n" would be one CRLF line end.
        int end = afterBareCr && block.blankLineEnd() == 0 ? 2 : block.blankLineEnd();
        out.append(LINE_ENDS[end]);
        afterBareCr = end == 1;
      }
      for (int i = 0; i < trailing.size(); i++) {
        Line line = trailing.get(i);
        out.append(line.content());
        if (i < trailing.size() - 1 || lastLineTerminated) {
          out.append(LINE_ENDS[line.lineEnd()]);
        }
      }
      return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** What a correct parser reports, computed from the model, not from the bytes. */
    Outcome expected() {
      List<Event> events = new ArrayList<>();
      List<Long> retries = new ArrayList<>();
      int comments = 0;
      String idBuffer = "";
      String committedId = "";
      for (Block block : blocks) {
        String type = "";
        List<String> data = new ArrayList<>();
        for (Line line : block.lines()) {
          switch (line.kind()) {
            case DATA -> data.add(line.value());
            case EVENT -> type = line.value();
            case ID -> idBuffer = line.value().indexOf('\0') >= 0 ? idBuffer : line.value();
            case RETRY -> addRetry(retries, line.value());
            case COMMENT -> comments++;
            case UNKNOWN -> { }
          }
        }
        committedId = idBuffer;
        if (!data.isEmpty()) {
          events.add(new Event(type.isEmpty() ? "message" : type, String.join("\n", data), committedId));
        }
      }
      boolean pendingData = false;
      for (int i = 0; i < trailing.size(); i++) {
        if (i == trailing.size() - 1 && !lastLineTerminated) {
          break; // never completed: no effect at all
        }
        Line line = trailing.get(i);
        switch (line.kind()) {
          case DATA -> pendingData = true;
          case RETRY -> addRetry(retries, line.value());
          case COMMENT -> comments++;
          default -> { }
        }
      }
      boolean discarded = pendingData || (!trailing.isEmpty() && !lastLineTerminated);
      return new Outcome(events, comments, retries, committedId, discarded, null);
    }

    private static void addRetry(List<Long> retries, String value) {
      if (!value.isEmpty() && value.chars().allMatch(c -> c >= '0' && c <= '9')) {
        BigInteger parsed = new BigInteger(value);
        retries.add(parsed.min(BigInteger.valueOf(Long.MAX_VALUE)).longValueExact());
      }
    }
  }

  /** Everything observable about one parse; {@code failure} is the exception class, if one ended it. */
  record Outcome(List<Event> events, int comments, List<Long> retries, String lastEventId, boolean discarded,
                 String failure) {}

  /**
   * Feeds {@code stream} in reads of the given sizes (cycled), rotating through the three ways in: an array at an
   * offset inside a larger array, a heap buffer slice and a direct buffer.
   */
  static Outcome run(byte[] stream, List<Integer> readSizes, int maxLine, int maxEvent) {
    RecordingListener listener = new RecordingListener();
    SseParser parser = new SseParser(listener, maxLine, maxEvent);
    int position = 0;
    int read = 0;
    try {
      while (position < stream.length) {
        int size = Math.min(readSizes.get(read % readSizes.size()), stream.length - position);
        switch (read % 3) {
          case 0 -> {
            byte[] padded = new byte[size + 6];
            System.arraycopy(stream, position, padded, 3, size);
            parser.feed(padded, 3, size);
          }
          case 1 -> {
            byte[] padded = new byte[size + 6];
            System.arraycopy(stream, position, padded, 3, size);
            parser.feed(ByteBuffer.wrap(padded, 3, size).slice());
          }
          default -> parser.feed(ByteBuffer.allocateDirect(size).put(stream, position, size).flip());
        }
        position += size;
        read++;
      }
    } catch (SseLimitExceededException e) {
      assertThat(parser.lineBufferCapacity()).isLessThanOrEqualTo(maxLine);
      assertThat(parser.dataBufferCapacity()).isLessThanOrEqualTo(maxEvent + 1);
      return new Outcome(listener.events, listener.comments, listener.retries, parser.lastEventId(), false,
          e.getClass().getSimpleName());
    }
    assertThat(parser.commentCount()).isEqualTo(listener.comments);
    boolean discarded = parser.end();
    return new Outcome(listener.events, listener.comments, listener.retries, parser.lastEventId(), discarded,
        null);
  }

  @Property(tries = 500)
  void anySplitYieldsTheEventsOfTheModel(@ForAll("streams") StreamSpec spec,
                                         @ForAll("readSizes") List<Integer> readSizes) {
    byte[] stream = spec.bytes();
    Outcome expected = spec.expected();
    Statistics.label("events").collect(expected.events().size() > 3 ? ">3" : String.valueOf(expected.events().size()));

    assertThat(run(stream, List.of(Math.max(1, stream.length)), BIG_LIMIT, BIG_LIMIT)).as("one read")
        .isEqualTo(expected);
    assertThat(run(stream, List.of(1), BIG_LIMIT, BIG_LIMIT)).as("one byte per read").isEqualTo(expected);
    assertThat(run(stream, readSizes, BIG_LIMIT, BIG_LIMIT)).as("reads of %s", readSizes).isEqualTo(expected);
  }

  @Property(tries = 500)
  void noisyBytesParseTheSameHoweverSplit(@ForAll("noisyBytes") byte[] stream,
                                          @ForAll("readSizes") List<Integer> readSizes) {
    int maxLine = 56;
    int maxEvent = 24;
    Outcome whole = run(stream, List.of(Math.max(1, stream.length)), maxLine, maxEvent);
    Statistics.label("outcome").collect(whole.failure() == null ? "ok" : whole.failure());
    Statistics.label("events").collect(whole.events().isEmpty() ? "none" : "some");

    assertThat(run(stream, List.of(1), maxLine, maxEvent)).as("one byte per read").isEqualTo(whole);
    assertThat(run(stream, readSizes, maxLine, maxEvent)).as("reads of %s", readSizes).isEqualTo(whole);

    // The generator must reach every outcome, or this property proves little.
    Statistics.label("outcome").coverage(coverage -> {
      coverage.check("ok").percentage(p -> p > 10);
      coverage.check("SseLineTooLongException").count(c -> c > 0);
      coverage.check("SseEventTooLargeException").count(c -> c > 0);
    });
    Statistics.label("events").coverage(coverage -> coverage.check("some").percentage(p -> p > 10));
  }

  @Property(tries = 500)
  void decoderAgreesWithTheJdkOnWellFormedInput(@ForAll("text") String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    assertThat(Utf8.decodeWhatwg(bytes, 0, bytes.length)).isEqualTo(text);
    assertThat(Utf8.decode(bytes, 0, bytes.length)).isEqualTo(text);
  }

  @Property(tries = 500)
  void decoderFallsBackOnlyForMalformedInput(@ForAll("noisyBytes") byte[] bytes) {
    String jdk = new String(bytes, StandardCharsets.UTF_8);
    String decoded = Utf8.decode(bytes, 0, bytes.length);
    assertThat(decoded).isEqualTo(Utf8.decodeWhatwg(bytes, 0, bytes.length));
    if (jdk.indexOf('\uFFFD') < 0) {
      assertThat(decoded).isEqualTo(jdk);
    }
  }

  // ---- generators ----

  @Provide
  Arbitrary<Integer> codePoints() {
    return Arbitraries.frequencyOf(
        Tuple.of(6, Arbitraries.integers().between(0x20, 0x7E)),
        Tuple.of(2, Arbitraries.of(0x2028, 0x2029, 0x85, 0xFEFF, 0x00, 0x0B, 0x0C, 0x7F, 0xFFFD, 0x1F600, 0x10FFFF,
            (int) ':', (int) ' ', (int) '\t')),
        Tuple.of(1, Arbitraries.integers().between(0x80, 0x7FF)),
        Tuple.of(1, Arbitraries.integers().between(0x800, 0xD7FF)),
        Tuple.of(1, Arbitraries.integers().between(0xE000, 0xFFFF)),
        Tuple.of(1, Arbitraries.integers().between(0x10000, 0x10FFFF)));
  }

  /** Any well-formed text without CR or LF. */
  @Provide
  Arbitrary<String> text() {
    return codePoints().list().ofMaxSize(12).map(codePoints -> {
      StringBuilder out = new StringBuilder();
      codePoints.forEach(out::appendCodePoint);
      return out.toString();
    });
  }

  private Arbitrary<Line> line(Kind kind, Arbitrary<String> names, Arbitrary<String> values) {
    return Combinators.combine(names, values, Arbitraries.integers().between(0, 2),
        Arbitraries.integers().between(0, 2)).as((name, value, style, end) -> new Line(kind, name, value, style, end));
  }

  @Provide
  Arbitrary<Line> lines() {
    Arbitrary<String> retryValues = Arbitraries.oneOf(
        Arbitraries.strings().numeric().ofMinLength(1).ofMaxLength(25),
        Arbitraries.of("", "1a", "-5", " 5", "1.5", "\u0663", "10 ", "abc", "+1", "0x10"));
    Arbitrary<String> ids = Arbitraries.oneOf(text(), text().map(s -> s + "\0" + s));
    Arbitrary<String> unknownNames = Arbitraries.of("foo", "Data", "DATA", "data ", " data", "dat", "datas",
        "Event", "ID", "iid", "retry2", "x-ünïcode", "\u2028data", "😀");
    return Arbitraries.frequencyOf(
        Tuple.of(6, line(Kind.DATA, Arbitraries.just("data"), text())),
        Tuple.of(2, line(Kind.EVENT, Arbitraries.just("event"), text())),
        Tuple.of(2, line(Kind.ID, Arbitraries.just("id"), ids)),
        Tuple.of(1, line(Kind.RETRY, Arbitraries.just("retry"), retryValues)),
        Tuple.of(2, line(Kind.COMMENT, Arbitraries.just(""), text())),
        Tuple.of(1, line(Kind.UNKNOWN, unknownNames, text())));
  }

  @Provide
  Arbitrary<StreamSpec> streams() {
    Arbitrary<Block> blocks = Combinators.combine(lines().list().ofMaxSize(5), Arbitraries.integers().between(0, 2))
        .as(Block::new);
    return Combinators.combine(Arbitraries.of(true, false), blocks.list().ofMaxSize(10),
        lines().list().ofMaxSize(3), Arbitraries.of(true, false)).as(StreamSpec::new);
  }

  /** Read sizes, mostly tiny so that line ends, BOMs and multi-byte characters get split. */
  @Provide
  Arbitrary<List<Integer>> readSizes() {
    return Arbitraries.frequencyOf(
            Tuple.of(4, Arbitraries.integers().between(1, 4)),
            Tuple.of(1, Arbitraries.integers().between(5, 64)))
        .list().ofMinSize(1).ofMaxSize(16);
  }

  /**
   * Line-ish byte soup: mostly field prefixes, then values with multi-byte, partial and invalid UTF-8, NULs,
   * random bytes and runs long enough to break the limits, then any line end (or none, or two).
   */
  @Provide
  Arbitrary<byte[]> noisyBytes() {
    Arbitrary<byte[]> fields = Arbitraries.of("data:", "data: ", "data", "event:", "id: ", "retry:", ":", "\uFEFF")
        .map(s -> s.getBytes(StandardCharsets.UTF_8));
    Arbitrary<byte[]> values = Arbitraries.frequencyOf(
        Tuple.of(8, Arbitraries.of("x", "yz", "é", "😀", "12", " ", ":", "\0", "\u2028")
            .map(s -> s.getBytes(StandardCharsets.UTF_8))),
        Tuple.of(2, Arbitraries.of(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF},
            new byte[] {(byte) 0xF0, (byte) 0x9F}, new byte[] {(byte) 0x98, (byte) 0x80},
            new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, new byte[] {(byte) 0xC0, (byte) 0xAF},
            new byte[] {(byte) 0xFF})),
        Tuple.of(1, Arbitraries.bytes().map(b -> new byte[] {b})),
        Tuple.of(1, Arbitraries.integers().between(8, 50).map(n -> "w".repeat(n).getBytes(StandardCharsets.UTF_8))));
    Arbitrary<byte[]> starts = Arbitraries.frequencyOf(
        Tuple.of(5, fields), Tuple.of(2, Arbitraries.just(new byte[0])), Tuple.of(1, values));
    Arbitrary<byte[]> ends = Arbitraries.of("\n", "\r", "\r\n", "", "\n\n", "\r\r", "\r\n\r\n")
        .map(s -> s.getBytes(StandardCharsets.UTF_8));
    Arbitrary<byte[]> lines = Combinators.combine(starts, values.list().ofMaxSize(4), ends).as((start, parts, end) -> {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.writeBytes(start);
      parts.forEach(out::writeBytes);
      out.writeBytes(end);
      return out.toByteArray();
    });
    return lines.list().ofMaxSize(20).map(parts -> {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      parts.forEach(out::writeBytes);
      return out.toByteArray();
    });
  }
}
