package io.promptfleet.dispatcher.batch;

/**
 * A call to a provider's batch or file endpoint that did not succeed: {@link #retriable()} for a connection failure,
 * a timeout, 408, 409, 429 or a 5xx (tried again after a backoff), else permanent. The message names the call and the
 * provider's answer, never the key.
 */
final class BatchCallException extends Exception {
  private final boolean retriable;

  BatchCallException(String message, boolean retriable) {
    super(message);
    this.retriable = retriable;
  }

  BatchCallException(String message, Throwable cause) {
    super(message, cause);
    this.retriable = true;
  }

  boolean retriable() {
    return retriable;
  }

  /** Whether an HTTP status is worth another try. */
  static boolean retriable(int status) {
    return status == 408 || status == 409 || status == 429 || status >= 500;
  }
}
