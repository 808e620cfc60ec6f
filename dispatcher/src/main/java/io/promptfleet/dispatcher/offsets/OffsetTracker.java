package io.promptfleet.dispatcher.offsets;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Per-partition offset tracking, as a parallel consumer does it: records of one partition wait in different
 * queues (per route, per due time) and complete out of order, so the committable offset of a partition is its
 * lowest record still open, or one past the highest record read when none is open. A committed offset therefore
 * never passes a job that was not yet dispatched or answered.
 *
 * <p>Memory is the number of open records (bounded by the dispatcher's buffer). Not thread-safe: owned by the
 * dispatcher thread.
 */
public final class OffsetTracker {
  private final Map<TopicPartition, TreeSet<Long>> open = new HashMap<>();
  private final Map<TopicPartition, Long> nextRead = new HashMap<>();
  private final Map<TopicPartition, Long> committed = new HashMap<>();

  /** A record was read and is now open. */
  public void read(TopicPartition tp, long offset) {
    open.computeIfAbsent(tp, k -> new TreeSet<>()).add(offset);
    nextRead.merge(tp, offset + 1, Math::max);
  }

  /** The record is handled (its assignment or answer is in the current transaction). */
  public void done(TopicPartition tp, long offset) {
    TreeSet<Long> s = open.get(tp);
    if (s != null) {
      s.remove(offset);
    }
  }

  /** The offset to commit for {@code tp}, or -1 when nothing was read. */
  public long committable(TopicPartition tp) {
    Long next = nextRead.get(tp);
    if (next == null) {
      return -1;
    }
    TreeSet<Long> s = open.get(tp);
    return s == null || s.isEmpty() ? next : s.first();
  }

  /** The offsets that moved since the last {@link #markCommitted}, ready for sendOffsetsToTransaction. */
  public Map<TopicPartition, OffsetAndMetadata> toCommit() {
    Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
    for (TopicPartition tp : nextRead.keySet()) {
      long c = committable(tp);
      Long last = committed.get(tp);
      if (c >= 0 && (last == null || c > last)) {
        out.put(tp, new OffsetAndMetadata(c));
      }
    }
    return out;
  }

  /** The transaction with these offsets committed. */
  public void markCommitted(Map<TopicPartition, OffsetAndMetadata> offsets) {
    offsets.forEach((tp, om) -> committed.put(tp, om.offset()));
  }

  /** Open records of {@code tp}. */
  public int openCount(TopicPartition tp) {
    TreeSet<Long> s = open.get(tp);
    return s == null ? 0 : s.size();
  }

  /** Forgets a partition (revoked, or rewound after an aborted transaction). */
  public void forget(TopicPartition tp) {
    open.remove(tp);
    nextRead.remove(tp);
    committed.remove(tp);
  }

  public void clear() {
    open.clear();
    nextRead.clear();
    committed.clear();
  }
}
