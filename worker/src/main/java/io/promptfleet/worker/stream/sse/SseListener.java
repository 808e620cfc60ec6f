package io.promptfleet.worker.stream.sse;

/**
 * Receives what an {@link SseParser} finds in a stream. All callbacks run synchronously on the thread that called
 * {@link SseParser#feed}, in stream order. A callback that throws aborts that {@code feed} call and leaves the
 * parser failed (see {@link SseParser}).
 */
@FunctionalInterface
public interface SseListener {

  /**
   * One dispatched event.
   *
   * @param type        the event type: the last {@code event} field of the event, or {@code "message"} if there
   *                    was none or it was empty
   * @param data        the {@code data} field values joined by {@code "\n"}, without a trailing newline; may be
   *                    empty (for example {@code "data\n\n"}), never null
   * @param lastEventId the stream's last event id as of this event (ids persist across events); {@code ""} if no
   *                    id was ever set, never null
   */
  void onEvent(String type, String data, String lastEventId);

  /**
   * One dispatched event, its data as the bytes the stream carried (the {@code data} field values joined by LF),
   * before they are decoded: the parser calls this one. The array is the parser's own buffer, valid only during the
   * call; do not keep it. By default the data is decoded as the specification requires ({@link Utf8#decode}: invalid
   * UTF-8 becomes U+FFFD) and passed to {@link #onEvent(String, String, String)}; a listener that reads the bytes
   * itself (for example with a byte-oriented JSON parser) skips that copy, and must decode as {@link Utf8#decode}
   * does wherever the bytes are not well-formed UTF-8 ({@link Utf8#isWellFormed}).
   */
  default void onEvent(String type, byte[] data, int offset, int length, String lastEventId) {
    onEvent(type, Utf8.decode(data, offset, length), lastEventId);
  }

  /**
   * A comment line (a line starting with {@code ':'}), such as {@code ": keep-alive"}. Its text is not decoded
   * or passed on, so that comments cost no allocation; use this as a liveness signal.
   */
  default void onComment() {}

  /**
   * A valid {@code retry} field: the server's requested reconnection time. Values too large for a {@code long}
   * saturate at {@link Long#MAX_VALUE}.
   *
   * @param millis the reconnection time in milliseconds, {@code >= 0}
   */
  default void onRetry(long millis) {}
}
