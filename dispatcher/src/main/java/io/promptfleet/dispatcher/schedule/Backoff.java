package io.promptfleet.dispatcher.schedule;

import io.promptfleet.common.config.RetrySettings;
import java.util.function.DoubleSupplier;

/**
 * Exponential backoff with full jitter: before attempt {@code n} (n ≥ 2) wait a uniform random time in
 * {@code [0, min(cap, base * 2^(n-2))]}. Thread-safe if the random source is.
 */
public final class Backoff {
  private final RetrySettings settings;
  private final DoubleSupplier random;

  public Backoff(RetrySettings settings, DoubleSupplier random) {
    this.settings = settings;
    this.random = random;
  }

  /** The bound of the wait before {@code attempt}. */
  public long boundMs(int attempt) {
    int doublings = Math.max(0, Math.min(attempt - 2, 40));
    double bound = settings.baseMs() * Math.pow(2, doublings);
    return (long) Math.min(settings.capMs(), bound);
  }

  /** A random wait before {@code attempt}, in [0, boundMs(attempt)]. */
  public long delayMs(int attempt) {
    return (long) (random.getAsDouble() * (boundMs(attempt) + 1));
  }
}
