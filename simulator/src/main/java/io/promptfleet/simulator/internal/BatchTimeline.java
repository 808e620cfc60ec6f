package io.promptfleet.simulator.internal;

import io.promptfleet.simulator.BatchBehaviour;

/**
 * When a simulated batch's requests are answered, given its {@link BatchBehaviour}, the moment its processing
 * started and the moment a cancel arrived (if one did): requests finish evenly over {@code inProgressMs} in input
 * order; processing ends when all are done, when the completion window ends, or when a cancel arrives, whichever
 * comes first. Pure arithmetic over epoch milliseconds, shared by the OpenAI and Anthropic batches. Immutable and
 * thread-safe.
 *
 * @param behaviour the batch's phase durations and window
 * @param startMs   when processing started (OpenAI: the end of validation; Anthropic: creation)
 * @param cancelMs  when a cancel arrived, or {@code Long.MAX_VALUE} for none
 */
record BatchTimeline(BatchBehaviour behaviour, long startMs, long cancelMs) {

  /** How processing ended. */
  enum End { DONE, EXPIRED, CANCELLED }

  /** Whether a cancel arrived before processing ended on its own. */
  End end() {
    long natural = Math.min(doneMs(), windowEndMs());
    if (cancelMs < natural) {
      return End.CANCELLED;
    }
    return doneMs() <= windowEndMs() ? End.DONE : End.EXPIRED;
  }

  /** When processing stopped: all done, the window's end, or the cancel. */
  long stopMs() {
    return Math.min(cancelMs, Math.min(doneMs(), windowEndMs()));
  }

  /** When every request would be done without window or cancel. */
  long doneMs() {
    return startMs + behaviour.inProgressMs();
  }

  long windowEndMs() {
    return startMs + behaviour.windowMs();
  }

  /** How many of {@code total} requests (the first ones, in input order) have answers at {@code nowMs}. */
  int finished(int total, long nowMs) {
    long t = Math.min(nowMs, stopMs()) - startMs;
    if (t <= 0) {
      return behaviour.inProgressMs() == 0 && nowMs >= startMs ? total : 0;
    }
    if (t >= behaviour.inProgressMs()) {
      return total;
    }
    return (int) (total * t / behaviour.inProgressMs());
  }
}
