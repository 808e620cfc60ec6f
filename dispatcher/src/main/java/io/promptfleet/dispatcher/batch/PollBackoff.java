package io.promptfleet.dispatcher.batch;

import java.util.function.DoubleSupplier;

/**
 * How long the batcher waits before polling a submitted batch again: {@code initial × 2^polls}, at most {@code max},
 * jittered by ±20 % so that batches created together do not poll together. Thread-safe if the random source is.
 */
final class PollBackoff {
  private final long initialMs;
  private final long maxMs;
  private final DoubleSupplier random;

  /** @param random uniform in [0, 1) */
  PollBackoff(long initialMs, long maxMs, DoubleSupplier random) {
    this.initialMs = initialMs;
    this.maxMs = maxMs;
    this.random = random;
  }

  /** The wait before the next poll after {@code polls} polls that found the batch unfinished (0: the first). */
  long delayMs(int polls) {
    double base = Math.min(maxMs, initialMs * Math.pow(2, Math.min(polls, 40)));
    return Math.max(1, Math.round(base * (0.8 + 0.4 * random.getAsDouble())));
  }
}
