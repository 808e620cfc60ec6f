package io.promptfleet.worker.stream.sse;

/**
 * The data of one event (its {@code data} values joined by {@code "\n"}, in UTF-8 bytes) was larger than the
 * parser's {@code maxEventBytes}.
 */
public final class SseEventTooLargeException extends SseLimitExceededException {

  SseEventTooLargeException(int maxEventBytes) {
    super("SSE event data larger than maxEventBytes=" + maxEventBytes + " bytes", maxEventBytes);
  }
}
