package io.promptfleet.dispatcher.capacity;

/**
 * A sliding-window counter in fixed slots: what was counted in the last {@code window} milliseconds, never less
 * (a slot is forgotten only once its whole span is older than the window, so the sum may include up to one slot
 * too much: conservative). Memory is the slot count, whatever the rate.
 *
 * <p>Not thread-safe; owned by the dispatcher thread.
 */
final class RateWindow {
  private final long slotMs;
  private final long[] counts;
  private final long[] slotIds;
  private long sum;

  RateWindow(long windowMs, int slots) {
    this.slotMs = Math.max(1, (windowMs + slots - 1) / slots); // slots * slotMs >= window: never undercount
    this.counts = new long[slots + 1];
    this.slotIds = new long[slots + 1];
    java.util.Arrays.fill(slotIds, Long.MIN_VALUE);
  }

  /** The total in the window ending at {@code nowMs}. */
  long sum(long nowMs) {
    expire(nowMs);
    return sum;
  }

  /** Adds {@code n} (may be negative to correct an earlier add) at {@code atMs}, if that time is still counted. */
  void add(long atMs, long n, long nowMs) {
    expire(nowMs);
    long id = Math.floorDiv(atMs, slotMs);
    int i = (int) Math.floorMod(id, (long) counts.length);
    if (slotIds[i] != id) {
      if (id <= Math.floorDiv(nowMs, slotMs) - counts.length) {
        return; // older than the window: nothing to correct
      }
      sum -= counts[i];
      counts[i] = 0;
      slotIds[i] = id;
    }
    long before = counts[i];
    counts[i] = Math.max(0, before + n);
    sum += counts[i] - before;
  }

  /** The slots counted in the window ending at {@code nowMs}, as (slot id, count) pairs, for a state snapshot. */
  long[] slots(long nowMs) {
    expire(nowMs);
    int n = 0;
    for (long id : slotIds) {
      if (id != Long.MIN_VALUE) {
        n++;
      }
    }
    long[] out = new long[2 * n];
    int j = 0;
    for (int i = 0; i < counts.length; i++) {
      if (slotIds[i] != Long.MIN_VALUE) {
        out[j++] = slotIds[i];
        out[j++] = counts[i];
      }
    }
    return out;
  }

  /** Replaces the counts with {@link #slots} of a window of the same length (a takeover from a snapshot). */
  void restore(long[] slots, long nowMs) {
    java.util.Arrays.fill(slotIds, Long.MIN_VALUE);
    java.util.Arrays.fill(counts, 0);
    sum = 0;
    for (int j = 0; j + 1 < slots.length; j += 2) {
      long id = slots[j];
      int i = (int) Math.floorMod(id, (long) counts.length);
      if (slotIds[i] == Long.MIN_VALUE || slotIds[i] < id) {
        sum -= counts[i];
        slotIds[i] = id;
        counts[i] = Math.max(0, slots[j + 1]);
        sum += counts[i];
      }
    }
    expire(nowMs);
  }

  private void expire(long nowMs) {
    long oldestKept = Math.floorDiv(nowMs, slotMs) - counts.length + 1;
    for (int i = 0; i < counts.length; i++) {
      if (slotIds[i] != Long.MIN_VALUE && slotIds[i] < oldestKept) {
        sum -= counts[i];
        counts[i] = 0;
        slotIds[i] = Long.MIN_VALUE;
      }
    }
  }
}
