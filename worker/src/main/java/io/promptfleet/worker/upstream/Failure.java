package io.promptfleet.worker.upstream;

/**
 * Why one attempt did not succeed, classified. Immutable.
 *
 * @param kind       transient, key-fatal or permanent
 * @param code       an {@link io.promptfleet.common.job.ErrorCodes} constant
 * @param message    human-readable, never containing a secret (the caller redacts provider text)
 * @param statusCode the provider's HTTP status, or null when there was no response
 */
public record Failure(FailureClass kind, String code, String message, Integer statusCode) {

  public static Failure transientFailure(String code, String message, Integer statusCode) {
    return new Failure(FailureClass.TRANSIENT, code, message, statusCode);
  }

  public boolean goesToRetryTopic() {
    return kind != FailureClass.PERMANENT;
  }
}
