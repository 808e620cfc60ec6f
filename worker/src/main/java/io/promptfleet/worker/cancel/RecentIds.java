package io.promptfleet.worker.cancel;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Ids seen recently: job ids cancelled (an assignment arriving just after its cancel is cancelled too), lease ids
 * released (an assignment delivered again after its lease ended is not run again). Bounded by count and age: the
 * oldest entries go first. Thread-safe (synchronized; touched once per cancel and once per
 * assignment).
 */
public final class RecentIds {
  private final int maxEntries;
  private final long ttlMillis;
  private final LinkedHashMap<String, Long> seen = new LinkedHashMap<>();

  public RecentIds(int maxEntries, long ttlMillis) {
    if (maxEntries <= 0 || ttlMillis <= 0) {
      throw new IllegalArgumentException("maxEntries and ttlMillis must be > 0");
    }
    this.maxEntries = maxEntries;
    this.ttlMillis = ttlMillis;
  }

  /** Remembers an id seen at {@code nowMillis}. */
  public synchronized void add(String jobId, long nowMillis) {
    seen.remove(jobId);
    seen.put(jobId, nowMillis);
    evict(nowMillis);
  }

  /** True if {@code jobId} was seen within the time-to-live. */
  public synchronized boolean contains(String jobId, long nowMillis) {
    evict(nowMillis);
    return seen.containsKey(jobId);
  }

  public synchronized int size() {
    return seen.size();
  }

  private void evict(long nowMillis) {
    Iterator<Map.Entry<String, Long>> it = seen.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<String, Long> e = it.next();
      if (seen.size() > maxEntries || nowMillis - e.getValue() > ttlMillis) {
        it.remove();
      } else {
        break;
      }
    }
  }
}
