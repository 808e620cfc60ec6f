package io.promptfleet.dispatcher.schedule;

import io.promptfleet.common.config.PrioritySettings;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Queue;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

/**
 * Jobs read from Kafka and not yet dispatched: one queue per (group, {@link Lane}), where a group is what shares
 * capacity (the model's fallback chain), so a saturated model never blocks another.
 *
 * <p>Which lane goes next is weighted (stride scheduling: while every lane has work, lane L gets
 * {@code weight(L) / sum of weights} of the dispatches) with aging: a job ready for {@code aging_ms} or longer
 * goes first, oldest first. Within a lane, the oldest head of the groups not blocked goes. Retry lanes are ordered
 * by the time each retry becomes due; the others are FIFO.
 *
 * <p>Not thread-safe: owned by the dispatcher loop thread.
 *
 * @param <T> the pending item type
 */
public final class ReadyQueues<T> {
  /** Where a job waits. */
  public enum Lane { RETRY, HIGH, NORMAL, LOW }

  /** The item to dispatch next, and where it waits. */
  public record Choice<T>(String group, Lane lane, T item) {}

  private final Map<String, Map<Lane, Queue<T>>> groups = new LinkedHashMap<>();
  private final ToLongFunction<T> readyAt;
  private final Comparator<T> byReadyAt;
  private final EnumMap<Lane, Double> pass = new EnumMap<>(Lane.class);
  private final EnumMap<Lane, Double> stride = new EnumMap<>(Lane.class);
  private final EnumMap<Lane, Integer> laneSize = new EnumMap<>(Lane.class);
  private final EnumMap<Lane, Boolean> wasCandidate = new EnumMap<>(Lane.class);
  private final long agingMs;
  private double virtualTime;
  private int size;

  /**
   * @param priority weights and aging
   * @param readyAt  when an item became ready to go (epoch ms): its record's time, or a retry's due time
   */
  public ReadyQueues(PrioritySettings priority, ToLongFunction<T> readyAt) {
    this.readyAt = readyAt;
    this.byReadyAt = Comparator.comparingLong(readyAt);
    this.agingMs = priority.agingMs();
    stride.put(Lane.RETRY, 1.0 / priority.weightRetry());
    stride.put(Lane.HIGH, 1.0 / priority.weightHigh());
    stride.put(Lane.NORMAL, 1.0 / priority.weightNormal());
    stride.put(Lane.LOW, 1.0 / priority.weightLow());
    for (Lane l : Lane.values()) {
      pass.put(l, 0.0);
      laneSize.put(l, 0);
      wasCandidate.put(l, false);
    }
  }

  public void add(String group, Lane lane, T item) {
    groups.computeIfAbsent(group, g -> {
      Map<Lane, Queue<T>> m = new EnumMap<>(Lane.class);
      for (Lane l : Lane.values()) {
        m.put(l, l == Lane.RETRY ? new PriorityQueue<>(byReadyAt) : new ArrayDeque<>());
      }
      return m;
    }).get(lane).add(item);
    laneSize.merge(lane, 1, Integer::sum);
    size++;
  }

  /**
   * The item that should go next at {@code nowMs}, skipping groups for which {@code blocked} holds (no capacity
   * this round) and retries not yet due; null when nothing can go. The item stays queued until {@link #take}.
   */
  public Choice<T> next(long nowMs, Predicate<String> blocked) {
    EnumMap<Lane, Choice<T>> heads = new EnumMap<>(Lane.class);
    Choice<T> oldest = null;
    for (var g : groups.entrySet()) {
      if (blocked.test(g.getKey())) {
        continue;
      }
      for (var q : g.getValue().entrySet()) {
        T head = q.getValue().peek();
        if (head == null || readyAt.applyAsLong(head) > nowMs && q.getKey() == Lane.RETRY) {
          continue;
        }
        Choice<T> best = heads.get(q.getKey());
        if (best == null || readyAt.applyAsLong(head) < readyAt.applyAsLong(best.item())) {
          Choice<T> c = new Choice<>(g.getKey(), q.getKey(), head);
          heads.put(q.getKey(), c);
          if (oldest == null || readyAt.applyAsLong(head) < readyAt.applyAsLong(oldest.item())) {
            oldest = c;
          }
        }
      }
    }
    if (heads.isEmpty()) {
      return null;
    }
    for (Lane l : Lane.values()) {
      boolean candidate = heads.containsKey(l);
      if (candidate && !wasCandidate.get(l)) {
        pass.put(l, Math.max(pass.get(l), virtualTime)); // an idle lane earns no credit while idle
      }
      wasCandidate.put(l, candidate);
    }
    if (agingMs > 0 && nowMs - readyAt.applyAsLong(oldest.item()) >= agingMs) {
      return oldest;
    }
    Choice<T> pick = null;
    for (Lane l : Lane.values()) {
      Choice<T> c = heads.get(l);
      if (c != null && (pick == null || pass.get(l) < pass.get(pick.lane()))) {
        pick = c;
      }
    }
    return pick;
  }

  /** Removes the chosen item (the head of its queue) and charges its lane. */
  public void take(Choice<T> c) {
    T t = groups.get(c.group()).get(c.lane()).poll();
    if (t != c.item()) {
      throw new IllegalStateException("the queue changed between next() and take()");
    }
    virtualTime = pass.get(c.lane());
    pass.merge(c.lane(), stride.get(c.lane()), Double::sum);
    laneSize.merge(c.lane(), -1, Integer::sum);
    size--;
  }

  /** Removes and returns every queued item matching {@code drop}. */
  public List<T> removeIf(Predicate<T> drop) {
    List<T> removed = new ArrayList<>();
    for (Map<Lane, Queue<T>> g : groups.values()) {
      for (var e : g.entrySet()) {
        for (Iterator<T> it = e.getValue().iterator(); it.hasNext(); ) {
          T t = it.next();
          if (drop.test(t)) {
            it.remove();
            removed.add(t);
            laneSize.merge(e.getKey(), -1, Integer::sum);
            size--;
          }
        }
      }
    }
    return removed;
  }

  public int size() {
    return size;
  }

  public int size(Lane lane) {
    return laneSize.get(lane);
  }
}
