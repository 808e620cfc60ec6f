package io.promptfleet.worker.stream.sse;

/**
 * The stream broke one of the parser's size limits. The parser that threw it is failed and must be discarded;
 * the caller should close the connection.
 */
public abstract sealed class SseLimitExceededException extends RuntimeException
    permits SseLineTooLongException, SseEventTooLargeException {

  private final int limit;

  SseLimitExceededException(String message, int limit) {
    super(message);
    this.limit = limit;
  }

  /** The limit, in bytes, that was exceeded. */
  public int limit() {
    return limit;
  }
}
