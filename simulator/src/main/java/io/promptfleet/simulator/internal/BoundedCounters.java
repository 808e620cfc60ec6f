package io.promptfleet.simulator.internal;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Counters by key, forgetting the least recently used key beyond a fixed capacity.
 * Thread-safe (one lock; each operation is a single map access).
 */
final class BoundedCounters {

  private final Map<String, long[]> counts;

  BoundedCounters(int capacity) {
    this.counts = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, long[]> eldest) {
        return size() > capacity;
      }
    };
  }

  /** Adds one to the counter of {@code key} and returns the new value (1 for a new or forgotten key). */
  synchronized long incrementAndGet(String key) {
    return ++counts.computeIfAbsent(key, k -> new long[1])[0];
  }

  synchronized void clear() {
    counts.clear();
  }
}
