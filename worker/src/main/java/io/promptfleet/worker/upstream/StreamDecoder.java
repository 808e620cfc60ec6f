package io.promptfleet.worker.upstream;

/**
 * Reads one attempt's server-sent events as its protocol defines them: each event means zero or more
 * {@link ChunkEvent}s (a keep-alive or an unknown event type means none and is ignored), or a failure (an error
 * event, or an event that is not what the protocol sends). Not thread-safe: one per attempt, driven on its event
 * loop.
 */
public interface StreamDecoder {

  /** Where a decoder puts what an event means. */
  interface Events {
    /** Something of the answer: metadata, a delta, usage or the finish reason. */
    void event(ChunkEvent e);

    /** The stream reports an error, or is not valid for the protocol: the attempt ends with {@code f}. */
    void failure(Failure f);
  }

  /**
   * @param type the SSE {@code event:} field, or null when the event had none
   * @param data the SSE {@code data:} lines, joined by newlines
   */
  void decode(String type, String data, Events out);

  /**
   * The same event, its data given as well-formed UTF-8 bytes (the caller checked), valid only during the call: a
   * decoder that parses bytes skips decoding them to a {@code String} (this runs once per token). By default they
   * are decoded and passed to {@link #decode(String, String, Events)}; either way the outcome is the same.
   */
  default void decode(String type, byte[] utf8, int offset, int length, Events out) {
    decode(type, EventJson.text(utf8, offset, length), out);
  }

  /**
   * Whether the provider said its stream is complete ({@code [DONE]}, {@code message_stop}, {@code
   * response.completed}); a stream that ends before is cut.
   */
  boolean complete();
}
