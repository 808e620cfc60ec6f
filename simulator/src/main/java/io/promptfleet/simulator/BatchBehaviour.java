package io.promptfleet.simulator;

/**
 * How the simulated batch APIs move a batch along, in milliseconds of wall time since it was created: OpenAI's
 * {@code validating → in_progress → finalizing → completed} (or {@code failed} after validating when a line is
 * invalid, {@code expired} when the completion window ends first, {@code cancelling → cancelled}); Anthropic's
 * {@code in_progress → ended} (or {@code canceling → ended}, requests {@code expired} when the window ends first).
 *
 * <p>Requests finish evenly over {@code inProgressMs}, in input order: at a cancel or at the end of the window, the
 * first {@code total × elapsed / inProgressMs} (rounded down) have answers and the rest are cancelled or expired. A
 * batch whose {@code inProgressMs} is longer than its {@code windowMs} therefore expires with that share done, e.g.
 * {@code inProgressMs = 200, windowMs = 100}: half of the requests answered, half expired.
 *
 * <p>Immutable and thread-safe; the compact constructor rejects negative durations and a window of 0, naming the
 * field.
 *
 * @param validatingMs  OpenAI: how long a batch stays {@code validating} (Anthropic batches skip it); default
 *                      {@value #DEFAULT_VALIDATING_MS}
 * @param inProgressMs  how long answering every request takes; default {@value #DEFAULT_IN_PROGRESS_MS}
 * @param finalizingMs  OpenAI: how long a batch stays {@code finalizing} before {@code completed}; default
 *                      {@value #DEFAULT_FINALIZING_MS}
 * @param cancellingMs  how long a cancelled batch stays {@code cancelling} (Anthropic: {@code canceling}); default
 *                      {@value #DEFAULT_CANCELLING_MS}
 * @param windowMs      the completion window, counted from the end of validation: a batch still in progress then
 *                      expires; default 24 h (the providers' {@code 24h})
 */
public record BatchBehaviour(long validatingMs, long inProgressMs, long finalizingMs, long cancellingMs,
    long windowMs) {

  public static final long DEFAULT_VALIDATING_MS = 100;
  public static final long DEFAULT_IN_PROGRESS_MS = 1_000;
  public static final long DEFAULT_FINALIZING_MS = 100;
  public static final long DEFAULT_CANCELLING_MS = 100;
  public static final long DEFAULT_WINDOW_MS = 24L * 60 * 60 * 1000;

  public BatchBehaviour {
    require(validatingMs >= 0, "validatingMs must be >= 0, was " + validatingMs);
    require(inProgressMs >= 0, "inProgressMs must be >= 0, was " + inProgressMs);
    require(finalizingMs >= 0, "finalizingMs must be >= 0, was " + finalizingMs);
    require(cancellingMs >= 0, "cancellingMs must be >= 0, was " + cancellingMs);
    require(windowMs > 0, "windowMs must be > 0, was " + windowMs);
  }

  /** 100 ms validating, 1 s in progress, 100 ms finalizing, 100 ms cancelling, a 24 h window. */
  public static BatchBehaviour defaults() {
    return new BatchBehaviour(DEFAULT_VALIDATING_MS, DEFAULT_IN_PROGRESS_MS, DEFAULT_FINALIZING_MS,
        DEFAULT_CANCELLING_MS, DEFAULT_WINDOW_MS);
  }

  /** Every phase {@code ms} long (a window of 24 h): what tests use to keep a batch's life to milliseconds. */
  public static BatchBehaviour phasesOf(long ms) {
    return new BatchBehaviour(ms, ms, ms, ms, DEFAULT_WINDOW_MS);
  }

  public BatchBehaviour withValidatingMs(long ms) {
    return new BatchBehaviour(ms, inProgressMs, finalizingMs, cancellingMs, windowMs);
  }

  public BatchBehaviour withInProgressMs(long ms) {
    return new BatchBehaviour(validatingMs, ms, finalizingMs, cancellingMs, windowMs);
  }

  public BatchBehaviour withFinalizingMs(long ms) {
    return new BatchBehaviour(validatingMs, inProgressMs, ms, cancellingMs, windowMs);
  }

  public BatchBehaviour withCancellingMs(long ms) {
    return new BatchBehaviour(validatingMs, inProgressMs, finalizingMs, ms, windowMs);
  }

  /** The completion window: a batch whose {@code inProgressMs} exceeds it expires after it. */
  public BatchBehaviour withWindowMs(long ms) {
    return new BatchBehaviour(validatingMs, inProgressMs, finalizingMs, cancellingMs, ms);
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
