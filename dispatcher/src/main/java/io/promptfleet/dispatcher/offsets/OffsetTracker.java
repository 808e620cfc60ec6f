package io.promptfleet.dispatcher.offsets;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-partition offset tracking, as a parallel consumer does it: records of one partition wait in different
 * queues (per route, per due time) and complete out of order, so the committable offset of a partition is its
 * lowest record still open, or one past the highest record read when none is open. A committed offset therefore
 * never passes a job that was not yet dispatched or answered.
 *
 * <p>The records handled above that offset go into the commit's metadata ({@link OffsetMap}). Whoever reads the
 * partition again from the committed offset — this dispatcher after an aborted transaction, a successor after a
 * takeover or rebalance — first {@link #restore restores} them, and {@link #read} then says which records were
 * handled already: they are skipped, so no job is dispatched or answered twice because a job below it waited.
 *
 * <p>The metadata must fit the broker's {@code offset.metadata.max.bytes} (4,096 by default). It takes a few bytes
 * per record that waits between handled ones, so it stays far below that while a partition holds fewer than about a
 * thousand waiting jobs; should it not fit, the highest ranges are left out (those records would be handled again
 * after a rewind) and the caller is told ({@code overflow}): never silently.
 *
 * <p>Memory is the number of open records (bounded by the dispatcher's buffer) plus the restored ranges. Not
 * thread-safe: owned by the dispatcher thread.
 */
public final class OffsetTracker {
  private static final Logger LOG = LoggerFactory.getLogger(OffsetTracker.class);
  /** The broker's default {@code offset.metadata.max.bytes}. */
  public static final int DEFAULT_MAX_METADATA = 4_096;

  /** What the offset commit of one partition last said. */
  private record Sent(long offset, String metadata) {}

  private final Map<TopicPartition, TreeSet<Long>> open = new HashMap<>();
  private final Map<TopicPartition, Long> nextRead = new HashMap<>();
  /** Handled ranges (from, to) restored from a commit's metadata, not yet passed by {@link #read}. */
  private final Map<TopicPartition, TreeMap<Long, Long>> handledAhead = new HashMap<>();
  private final Map<TopicPartition, Sent> committed = new HashMap<>();
  private final Set<TopicPartition> dirty = new HashSet<>();
  private final int maxMetadata;
  private final Runnable overflow;

  /** With the broker's default metadata limit, overflows only logged. */
  public OffsetTracker() {
    this(DEFAULT_MAX_METADATA, () -> { });
  }

  /**
   * @param maxMetadata the broker's {@code offset.metadata.max.bytes}
   * @param overflow    called when a partition's handled ranges did not fit and some were left out
   */
  public OffsetTracker(int maxMetadata, Runnable overflow) {
    this.maxMetadata = maxMetadata;
    this.overflow = overflow;
  }

  /**
   * The partition will be read from {@code from}, the group's committed offset (null: none, read from the reset
   * position): the records its metadata names as handled are skipped by {@link #read}. Forgets what was tracked.
   */
  public void restore(TopicPartition tp, OffsetAndMetadata from) {
    forget(tp);
    if (from == null) {
      return;
    }
    TreeMap<Long, Long> ranges = new TreeMap<>();
    try {
      for (OffsetMap.Range r : OffsetMap.decode(from.offset(), from.metadata())) {
        ranges.put(r.from(), r.to());
      }
    } catch (IllegalArgumentException e) {
      LOG.error("the committed offset {} of {} carries unreadable metadata ({}): records above it that were handled "
          + "may be handled again", from.offset(), tp, e.getMessage());
    }
    if (!ranges.isEmpty()) {
      handledAhead.put(tp, ranges);
    }
    committed.put(tp, new Sent(from.offset(), Objects.requireNonNullElse(from.metadata(), "")));
  }

  /**
   * A record was read. True when it is now open; false when the restored commit says it was handled already (it
   * must be skipped: its assignment, answer or dead letter is in Kafka).
   */
  public boolean read(TopicPartition tp, long offset) {
    nextRead.merge(tp, offset + 1, Math::max);
    dirty.add(tp);
    TreeMap<Long, Long> ahead = handledAhead.get(tp);
    if (ahead != null) {
      Map.Entry<Long, Long> r = ahead.floorEntry(offset);
      if (r != null && offset < r.getValue()) {
        return false;
      }
    }
    open.computeIfAbsent(tp, k -> new TreeSet<>()).add(offset);
    return true;
  }

  /** The record is handled (its assignment or answer is in the current transaction). */
  public void done(TopicPartition tp, long offset) {
    TreeSet<Long> s = open.get(tp);
    if (s != null && s.remove(offset)) {
      dirty.add(tp);
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

  /**
   * The offsets, with their handled ranges as metadata, that changed since the last {@link #markCommitted}, ready
   * for sendOffsetsToTransaction.
   */
  public Map<TopicPartition, OffsetAndMetadata> toCommit() {
    Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
    for (TopicPartition tp : dirty) {
      long c = committable(tp);
      if (c < 0) {
        continue;
      }
      String metadata = metadata(tp, c);
      Sent last = committed.get(tp);
      if (last == null || c > last.offset() || c == last.offset() && !metadata.equals(last.metadata())) {
        out.put(tp, new OffsetAndMetadata(c, metadata));
      }
    }
    return out;
  }

  /** The transaction with these offsets committed. */
  public void markCommitted(Map<TopicPartition, OffsetAndMetadata> offsets) {
    offsets.forEach((tp, om) -> {
      committed.put(tp, new Sent(om.offset(), om.metadata()));
      prune(tp, om.offset());
    });
    dirty.clear(); // toCommit looked at each: what it left out had not changed
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
    handledAhead.remove(tp);
    committed.remove(tp);
    dirty.remove(tp);
  }

  public void clear() {
    open.clear();
    nextRead.clear();
    handledAhead.clear();
    committed.clear();
    dirty.clear();
  }

  /** The handled ranges at or above {@code base}: read and not open below the next read, then restored ones. */
  List<OffsetMap.Range> handledAbove(TopicPartition tp, long base) {
    List<OffsetMap.Range> out = new ArrayList<>();
    long next = nextRead.getOrDefault(tp, base);
    long from = base;
    TreeSet<Long> s = open.get(tp);
    if (s != null) {
      for (long o : s.tailSet(base, true)) {
        if (o >= next) {
          break;
        }
        if (o > from) {
          out.add(new OffsetMap.Range(from, o));
        }
        from = o + 1;
      }
    }
    if (next > from) {
      out.add(new OffsetMap.Range(from, next));
    }
    TreeMap<Long, Long> ahead = handledAhead.get(tp);
    if (ahead != null) {
      for (var e : ahead.entrySet()) {
        long f = Math.max(e.getKey(), next);
        long t = e.getValue();
        if (t <= f) {
          continue;
        }
        OffsetMap.Range last = out.isEmpty() ? null : out.get(out.size() - 1);
        if (last != null && last.to() >= f) {
          out.set(out.size() - 1, new OffsetMap.Range(last.from(), Math.max(last.to(), t)));
        } else {
          out.add(new OffsetMap.Range(f, t));
        }
      }
    }
    return out;
  }

  private String metadata(TopicPartition tp, long base) {
    List<OffsetMap.Range> ranges = handledAbove(tp, base);
    String m = OffsetMap.encode(base, ranges);
    if (m.length() <= maxMetadata) {
      return m;
    }
    int keep = ranges.size();
    while (keep > 0 && m.length() > maxMetadata) {
      keep = keep * 3 / 4;
      m = OffsetMap.encode(base, ranges.subList(0, keep));
    }
    LOG.warn("{}: {} ranges of records handled above offset {} do not fit the offset commit's metadata ({} of "
        + "{} kept): after a rewind or takeover the records of the others are handled again. Fewer jobs waiting "
        + "per partition (dispatcher.max_buffered_jobs) or more partitions keep it small", tp, ranges.size(), base,
        keep, ranges.size());
    overflow.run();
    return m;
  }

  /** Restored ranges below the committed offset are passed for good. */
  private void prune(TopicPartition tp, long committedOffset) {
    TreeMap<Long, Long> ahead = handledAhead.get(tp);
    if (ahead == null) {
      return;
    }
    ahead.headMap(committedOffset).entrySet().removeIf(e -> e.getValue() <= committedOffset);
    if (ahead.isEmpty()) {
      handledAhead.remove(tp);
    }
  }
}
