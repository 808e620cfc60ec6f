package io.promptfleet.worker.stream.sse;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * An incremental parser for one {@code text/event-stream}, following the WHATWG HTML "Server-sent events" parsing
 * rules. The caller passes the bytes of the response body as they arrive, split anywhere (down to one byte per
 * call); the events that come out do not depend on where the splits fall.
 *
 * <ul>
 *   <li>Lines end with LF, CR or CRLF (also when the CR and the LF arrive in different reads); U+2028, U+2029 and
 *       U+0085 are ordinary characters.
 *   <li>One UTF-8 byte order mark at the very start of the stream is skipped.
 *   <li>Values are decoded from UTF-8 once their line is complete, so characters split across reads decode
 *       correctly; invalid UTF-8 becomes U+FFFD as the WHATWG Encoding standard prescribes.
 *   <li>{@code data}, {@code event}, {@code id} (ignored if it contains NUL) and {@code retry} (only if all ASCII
 *       digits) are understood; other fields are ignored; lines starting with {@code ':'} are comments, reported
 *       to {@link SseListener#onComment()} and counted by {@link #commentCount()}.
 *   <li>A blank line dispatches the event if its data buffer is not empty, and resets data and type.
 *   <li>{@link #end()} discards an unterminated last event, as the specification requires.
 * </ul>
 *
 * <p><b>Limits.</b> A line longer than {@code maxLineBytes} (not counting its line end; a leading BOM counts
 * towards the first line) fails with {@link SseLineTooLongException}, and an event whose data (values joined by
 * {@code "\n"}) exceeds {@code maxEventBytes} fails with {@link SseEventTooLargeException}. The exception is
 * thrown from the {@code feed} call that brings the offending byte or line end; events before it have already
 * been dispatched. The parser never holds more than {@code maxLineBytes} of an incomplete line plus
 * {@code maxEventBytes + 1} of event data; buffers that grew beyond 64 KiB are released after use.
 *
 * <p><b>Failure.</b> Once a limit is exceeded or a listener callback throws, the parser is failed: the exception
 * propagates to the caller, the rest of that read is not parsed, and every later call to {@code feed} or
 * {@code end} throws {@link IllegalStateException}. Discard the parser and close the connection.
 *
 * <p><b>Threading.</b> One parser per stream. Not thread-safe: call it from one thread, normally the event loop of
 * its connection. Listener callbacks run on that thread, inside {@code feed}, and must not call back into the
 * parser.
 *
 * <pre>{@code
 * SseParser parser = new SseParser((type, data, id) -> onChunk(data), 1 << 20, 8 << 20);
 * response.handler(buffer -> parser.feed(bytesOf(buffer), 0, length)); // or parser.feed(byteBuffer)
 * response.endHandler(v -> parser.end());
 * }</pre>
 *
 * <p><b>Cost.</b> Bytes are scanned directly; a complete line in the caller's array is parsed in place, and only
 * a line that spans reads is copied into a reusable buffer. Data values are copied into a reusable byte buffer
 * and handed over as bytes ({@link SseListener#onEvent(String, byte[], int, int, String)}), decoded once per event
 * only for a listener that asks for text, so a single-line event costs one {@code String} at most; comments
 * allocate nothing;
 * repeated {@code event} and {@code id} values are reused rather than decoded again.
 */
public final class SseParser {
  private static final byte LF = '\n';
  private static final byte CR = '\r';
  private static final byte COLON = ':';
  private static final byte SPACE = ' ';
  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long ONES = 0x0101010101010101L;
  private static final long HIGH_BITS = 0x8080808080808080L;
  private static final long LF_BYTES = ONES * LF;
  private static final long CR_BYTES = ONES * CR;
  private static final String DEFAULT_EVENT_TYPE = "message";
  private static final int INITIAL_LINE_CAPACITY = 256;
  private static final int INITIAL_DATA_CAPACITY = 512;
  /** Buffers that grew beyond this are dropped after use, so one huge event does not pin memory for good. */
  private static final int RETAINED_CAPACITY = 64 * 1024;
  private static final int SCRATCH_BYTES = 4096;
  /** Keeps {@code maxEventBytes + 1} and array sizes clear of int overflow and VM array limits. */
  static final int MAX_LIMIT = Integer.MAX_VALUE - 16;

  private final SseListener listener;
  private final int maxLineBytes;
  private final int maxEventBytes;

  /** The start of a line whose line end has not arrived yet; empty when the last read ended on a line end. */
  private byte[] line;
  private int lineLength;
  /** The data buffer: each data value followed by LF. Decoded once, at dispatch, without the last LF. */
  private byte[] data;
  private int dataLength;
  /** The event type buffer; "" means none. */
  private String eventType = "";
  /** The last decoded event type, reused when the next {@code event} field carries the same ASCII bytes. */
  private String eventTypeCache = "";
  private String lastEventIdBuffer = "";
  private String lastEventId = "";
  private long reconnectionTimeMillis = -1;
  private long commentCount;
  /** The previous read ended with a CR line end: an LF first in the next read belongs to it. */
  private boolean skipLineFeed;
  /** No line processed yet: a BOM may lead the first line. */
  private boolean atStreamStart = true;
  private boolean inFeed;
  private boolean ended;
  private Throwable failure;
  /** Lazily allocated, for byte buffers without an accessible array. */
  private byte[] scratch;

  /**
   * @param listener      receives events, comments and retry values
   * @param maxLineBytes  the longest line accepted, in bytes, not counting its line end; {@code > 0}
   * @param maxEventBytes the largest event data accepted (UTF-8 bytes of the data values joined by
   *                      {@code "\n"}); {@code > 0}
   */
  public SseParser(SseListener listener, int maxLineBytes, int maxEventBytes) {
    this.listener = Objects.requireNonNull(listener, "listener");
    if (maxLineBytes <= 0 || maxLineBytes > MAX_LIMIT) {
      throw new IllegalArgumentException("maxLineBytes must be in [1, " + MAX_LIMIT + "]: " + maxLineBytes);
    }
    if (maxEventBytes <= 0 || maxEventBytes > MAX_LIMIT) {
      throw new IllegalArgumentException("maxEventBytes must be in [1, " + MAX_LIMIT + "]: " + maxEventBytes);
    }
    this.maxLineBytes = maxLineBytes;
    this.maxEventBytes = maxEventBytes;
  }

  /**
   * Parses the next {@code length} bytes of the stream, dispatching every event completed by them. The bytes are
   * not retained after the call returns (a line that is not complete yet is copied).
   *
   * @throws SseLineTooLongException    if a line exceeds {@code maxLineBytes}
   * @throws SseEventTooLargeException  if an event's data exceeds {@code maxEventBytes}
   * @throws IllegalStateException      if the parser has failed, has ended, or is called from its own listener
   * @throws IndexOutOfBoundsException  if offset and length do not fit the array
   */
  public void feed(byte[] bytes, int offset, int length) {
    Objects.checkFromIndexSize(offset, length, bytes.length);
    enter();
    try {
      parse(bytes, offset, offset + length);
    } catch (Throwable t) {
      failure = t;
      throw t;
    } finally {
      inFeed = false;
    }
  }

  /**
   * Parses all remaining bytes of {@code buffer} (as {@link #feed(byte[], int, int)}) and moves its position to
   * its limit. Heap buffers are parsed in place; other buffers are copied through a small reusable array.
   */
  public void feed(ByteBuffer buffer) {
    checkUsable();
    if (buffer.hasArray()) {
      feed(buffer.array(), buffer.arrayOffset() + buffer.position(), buffer.remaining());
      buffer.position(buffer.limit());
      return;
    }
    if (scratch == null) {
      scratch = new byte[SCRATCH_BYTES];
    }
    while (buffer.hasRemaining()) {
      int n = Math.min(buffer.remaining(), scratch.length);
      buffer.get(scratch, 0, n);
      feed(scratch, 0, n);
    }
  }

  /**
   * Signals the end of the stream. Per the specification, an event not yet terminated by a blank line is
   * discarded, as is an unterminated last line. Later calls return {@code false} and do nothing; {@code feed}
   * after {@code end} throws.
   *
   * @return {@code true} if something was discarded: an unterminated line, or data of an undispatched event (a
   *     sign that the stream was cut off)
   * @throws IllegalStateException if the parser has failed or is called from its own listener
   */
  public boolean end() {
    if (ended && !inFeed && failure == null) {
      return false;
    }
    checkUsable();
    ended = true;
    boolean onlyBom = atStreamStart && lineLength == 3 && startsWithBom(line, 0, 3);
    boolean discarded = dataLength > 0 || (lineLength > 0 && !onlyBom);
    lineLength = 0;
    dataLength = 0;
    eventType = "";
    lastEventIdBuffer = lastEventId;
    skipLineFeed = false;
    line = null;
    data = null;
    scratch = null;
    return discarded;
  }

  /**
   * The stream's last event id string, as set by the most recent blank line (so an {@code id} in an event that
   * never completed does not count); {@code ""} if none. Send it as {@code Last-Event-ID} when reconnecting.
   */
  public String lastEventId() {
    return lastEventId;
  }

  /** The reconnection time from the last valid {@code retry} field, in milliseconds, or -1 if there was none. */
  public long reconnectionTimeMillis() {
    return reconnectionTimeMillis;
  }

  /** How many comment lines (such as {@code ": keep-alive"}) the stream has carried so far. */
  public long commentCount() {
    return commentCount;
  }

  /** Current capacity of the incomplete-line buffer, for tests of the memory bound. */
  int lineBufferCapacity() {
    return line == null ? 0 : line.length;
  }

  /** Current capacity of the data buffer, for tests of the memory bound. */
  int dataBufferCapacity() {
    return data == null ? 0 : data.length;
  }

  private void checkUsable() {
    if (inFeed) {
      throw new IllegalStateException("SseParser called from its own listener");
    }
    if (failure != null) {
      throw new IllegalStateException("SseParser has failed; discard it", failure);
    }
    if (ended) {
      throw new IllegalStateException("SseParser: end() was already called");
    }
  }

  private void enter() {
    checkUsable();
    inFeed = true;
  }

  private void parse(byte[] bytes, int position, int end) {
    if (position == end) {
      return;
    }
    int start = position;
    if (skipLineFeed) {
      skipLineFeed = false;
      if (bytes[start] == LF && ++start == end) {
        return;
      }
    }
    while (true) {
      int lineEnd = indexOfLineEnd(bytes, start, end);
      if (lineEnd < 0) {
        buffer(bytes, start, end);
        return;
      }
      if (lineLength == 0) {
        if (lineEnd - start > maxLineBytes) {
          throw new SseLineTooLongException(maxLineBytes);
        }
        processLine(bytes, start, lineEnd);
      } else {
        buffer(bytes, start, lineEnd);
        int length = lineLength;
        lineLength = 0;
        processLine(line, 0, length);
        if (line.length > RETAINED_CAPACITY) {
          line = null;
        }
      }
      int next = lineEnd + 1;
      if (bytes[lineEnd] == CR) {
        if (next == end) {
          skipLineFeed = true;
          return;
        }
        if (bytes[next] == LF) {
          next++;
        }
      }
      if (next == end) {
        return;
      }
      start = next;
    }
  }

  /** The index of the first CR or LF in {@code bytes[from, to)}, or -1; eight bytes at a time (SWAR). */
  private static int indexOfLineEnd(byte[] bytes, int from, int to) {
    int i = from;
    for (int last = to - Long.BYTES; i <= last; i += Long.BYTES) {
      long word = (long) LONGS.get(bytes, i);
      long lf = word ^ LF_BYTES;
      long cr = word ^ CR_BYTES;
      // The classic "has zero byte" test, for both; its lowest set bit marks the first match exactly.
      long found = ((lf - ONES) & ~lf | (cr - ONES) & ~cr) & HIGH_BITS;
      if (found != 0) {
        return i + (Long.numberOfTrailingZeros(found) >>> 3);
      }
    }
    for (; i < to; i++) {
      byte b = bytes[i];
      if (b == LF || b == CR) {
        return i;
      }
    }
    return -1;
  }

  /** Appends part of an incomplete line to the line buffer, within {@code maxLineBytes}. */
  private void buffer(byte[] bytes, int from, int to) {
    int n = to - from;
    if (n == 0) {
      return;
    }
    if (n > maxLineBytes - lineLength) {
      throw new SseLineTooLongException(maxLineBytes);
    }
    int needed = lineLength + n;
    if (line == null || needed > line.length) {
      line = grow(line, lineLength, needed, INITIAL_LINE_CAPACITY, maxLineBytes);
    }
    System.arraycopy(bytes, from, line, lineLength, n);
    lineLength = needed;
  }

  private static byte[] grow(byte[] old, int used, int needed, int initial, int cap) {
    long proposed = old == null ? initial : 2L * old.length;
    int capacity = (int) Math.min(Math.max(proposed, needed), cap);
    byte[] grown = new byte[capacity];
    if (old != null) {
      System.arraycopy(old, 0, grown, 0, used);
    }
    return grown;
  }

  /** Interprets one complete line, {@code bytes[from, to)}, line end excluded. */
  private void processLine(byte[] bytes, int from, int to) {
    int start = from;
    if (atStreamStart) {
      atStreamStart = false;
      if (startsWithBom(bytes, start, to)) {
        start += 3;
      }
    }
    if (start == to) {
      dispatch();
      return;
    }
    byte first = bytes[start];
    if (first == COLON) {
      commentCount++;
      listener.onComment();
      return;
    }
    int colon = start + 1;
    while (colon < to && bytes[colon] != COLON) {
      colon++;
    }
    int valueStart = colon;
    if (colon < to) {
      valueStart = colon + 1;
      if (valueStart < to && bytes[valueStart] == SPACE) {
        valueStart++;
      }
    }
    switch (colon - start) {
      case 4 -> {
        if (first == 'd' && bytes[start + 1] == 'a' && bytes[start + 2] == 't' && bytes[start + 3] == 'a') {
          appendData(bytes, valueStart, to);
        }
      }
      case 5 -> {
        if (first == 'e' && bytes[start + 1] == 'v' && bytes[start + 2] == 'e' && bytes[start + 3] == 'n'
            && bytes[start + 4] == 't') {
          if (!asciiEquals(eventTypeCache, bytes, valueStart, to)) {
            eventTypeCache = Utf8.decode(bytes, valueStart, to - valueStart);
          }
          eventType = eventTypeCache;
        } else if (first == 'r' && bytes[start + 1] == 'e' && bytes[start + 2] == 't' && bytes[start + 3] == 'r'
            && bytes[start + 4] == 'y') {
          retry(bytes, valueStart, to);
        }
      }
      case 2 -> {
        if (first == 'i' && bytes[start + 1] == 'd') {
          id(bytes, valueStart, to);
        }
      }
      default -> {
        // Unknown field: ignored.
      }
    }
  }

  private void appendData(byte[] bytes, int from, int to) {
    int n = to - from;
    // dataLength counts one LF per earlier line; the last one becomes the joiner, so the dispatched data would be
    // dataLength + n bytes long.
    if (n > maxEventBytes - dataLength) {
      throw new SseEventTooLargeException(maxEventBytes);
    }
    int needed = dataLength + n + 1;
    if (data == null || needed > data.length) {
      data = grow(data, dataLength, needed, INITIAL_DATA_CAPACITY, maxEventBytes + 1);
    }
    System.arraycopy(bytes, from, data, dataLength, n);
    data[dataLength + n] = LF;
    dataLength = needed;
  }

  private void id(byte[] bytes, int from, int to) {
    for (int i = from; i < to; i++) {
      if (bytes[i] == 0) {
        return;
      }
    }
    if (!asciiEquals(lastEventIdBuffer, bytes, from, to)) {
      lastEventIdBuffer = Utf8.decode(bytes, from, to - from);
    }
  }

  private void retry(byte[] bytes, int from, int to) {
    if (from == to) {
      return;
    }
    long value = 0;
    for (int i = from; i < to; i++) {
      int digit = bytes[i] - '0';
      if (digit < 0 || digit > 9) {
        return;
      }
      value = value > (Long.MAX_VALUE - digit) / 10 ? Long.MAX_VALUE : value * 10 + digit;
    }
    reconnectionTimeMillis = value;
    listener.onRetry(value);
  }

  private void dispatch() {
    lastEventId = lastEventIdBuffer;
    if (dataLength == 0) {
      eventType = "";
      return;
    }
    byte[] payload = data;
    int length = dataLength - 1;
    String type = eventType.isEmpty() ? DEFAULT_EVENT_TYPE : eventType;
    dataLength = 0;
    eventType = "";
    if (data.length > RETAINED_CAPACITY) {
      data = null;
    }
    // the listener cannot feed this parser (inFeed), so the buffer stays as it is until the call returns
    listener.onEvent(type, payload, 0, length, lastEventId);
  }

  private static boolean startsWithBom(byte[] bytes, int from, int to) {
    return to - from >= 3 && bytes[from] == (byte) 0xEF && bytes[from + 1] == (byte) 0xBB
        && bytes[from + 2] == (byte) 0xBF;
  }

  /** Whether {@code s} is exactly the ASCII bytes {@code bytes[from, to)}; false for any non-ASCII byte. */
  private static boolean asciiEquals(String s, byte[] bytes, int from, int to) {
    int n = to - from;
    if (s.length() != n) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      byte b = bytes[from + i];
      if (b < 0 || s.charAt(i) != b) {
        return false;
      }
    }
    return true;
  }
}
