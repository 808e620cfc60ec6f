package io.promptfleet.dispatcher.schedule;

import java.util.ArrayDeque;
import java.util.EnumMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Records read from the job topics and not yet dispatched, one FIFO per {@link Lane}. Records of one partition
 * always land in the same lane in offset order, so dispatching heads in order keeps each partition's committed
 * offset behind every undispatched record.
 *
 * <p>Strict priority: retry (already admitted work), then high, normal, low. Not thread-safe: owned by the
 * dispatcher loop thread.
 *
 * @param <T> the pending record type
 */
public final class ReadyQueues<T> {
  /** Where a record waits. */
  public enum Lane { RETRY, HIGH, NORMAL, LOW }

  private final Map<Lane, ArrayDeque<T>> queues = new EnumMap<>(Lane.class);
  private int size;

  public ReadyQueues() {
    for (Lane l : Lane.values()) {
      queues.put(l, new ArrayDeque<>());
    }
  }

  public void add(Lane lane, T item) {
    queues.get(lane).addLast(item);
    size++;
  }

  /**
   * The lane whose head should go next, among lanes whose head passes {@code ready} (e.g. a retry whose backoff
   * has not passed is not ready), or null when nothing is ready.
   */
  public Lane next(Predicate<T> ready) {
    for (Lane l : Lane.values()) {
      T head = queues.get(l).peekFirst();
      if (head != null && ready.test(head)) {
        return l;
      }
    }
    return null;
  }

  public T peek(Lane lane) {
    return queues.get(lane).peekFirst();
  }

  public T poll(Lane lane) {
    T t = queues.get(lane).pollFirst();
    if (t != null) {
      size--;
    }
    return t;
  }

  /** Drops every queued item matching {@code drop} (e.g. of revoked partitions). */
  public void removeIf(Predicate<T> drop) {
    for (ArrayDeque<T> q : queues.values()) {
      int before = q.size();
      q.removeIf(drop);
      size -= before - q.size();
    }
  }

  public int size() {
    return size;
  }

  public int size(Lane lane) {
    return queues.get(lane).size();
  }
}
