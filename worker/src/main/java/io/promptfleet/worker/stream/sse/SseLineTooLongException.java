package io.promptfleet.worker.stream.sse;

/** A line (bytes between two line ends, not counting them) was longer than the parser's {@code maxLineBytes}. */
public final class SseLineTooLongException extends SseLimitExceededException {

  SseLineTooLongException(int maxLineBytes) {
    super("SSE line longer than maxLineBytes=" + maxLineBytes + " bytes", maxLineBytes);
  }
}
