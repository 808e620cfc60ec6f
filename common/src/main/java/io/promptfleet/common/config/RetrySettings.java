package io.promptfleet.common.config;

/**
 * Retries of failed attempts, owned by the dispatcher: exponential backoff with full jitter, bounded attempts,
 * never past the job's deadline.
 *
 * @param baseMs      backoff before the second attempt is drawn from [0, base_ms] (default 500 ms)
 * @param capMs       the backoff bound doubles per attempt up to this (default 30 s)
 * @param maxAttempts attempts at most, the first included; then one failed result with retries_exhausted
 *                    (default 5)
 */
public record RetrySettings(Long baseMs, Long capMs, Integer maxAttempts) {
  public RetrySettings {
    baseMs = baseMs == null ? 500L : baseMs;
    capMs = capMs == null ? 30_000L : capMs;
    maxAttempts = maxAttempts == null ? 5 : maxAttempts;
    ConfigException.require(baseMs >= 0, "dispatcher.retry.base_ms must be >= 0");
    ConfigException.require(capMs >= baseMs, "dispatcher.retry.cap_ms must be >= dispatcher.retry.base_ms");
    ConfigException.require(maxAttempts >= 1, "dispatcher.retry.max_attempts must be >= 1");
  }

  public static RetrySettings defaults() {
    return new RetrySettings(null, null, null);
  }
}
