package io.promptfleet.worker.upstream;

/** How an attempt that did not succeed is handled. */
public enum FailureClass {
  /** Worth another attempt (connect error, reset, 408/409/429/5xx/529, cut or invalid stream, timeouts): retry record. */
  TRANSIENT,
  /** The key is unusable (401, 403, quota 429): retry record, and the dispatcher disables the key. */
  KEY_FATAL,
  /** The provider rejects the request itself (400, 404, 413, 422, ...): one {@code failed} result. */
  PERMANENT;

  /** Lower-case name for metric tags. */
  public String tag() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
