package io.promptfleet.dispatcher.spill;

import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import io.promptfleet.dispatcher.spill.SpillTopics.Slot;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.TopicPartition;

/**
 * No model's backlog holds up another's, with memory bounded by configuration: a job read from a job topic whose
 * model's ready queue (for its lane) is full is not kept in memory and does not pause the topic — it is copied, in
 * the round's transaction, to its model's spill partition ({@link SpillTopics}), and its offset passes.
 * Other models' jobs behind it in the same partition go on at once. The spill partition is read back into the
 * ready queue as it drains, and paused while the queue is full, so the backlog waits in Kafka, not in memory.
 *
 * <p>Order: while anything of a (model, lane) waits in its spill partition — the consumer's position there is
 * below the end it knows (what this dispatcher wrote, or the end offset found when the partition was assigned) —
 * newly read jobs of that (model, lane) go to the spill partition too, behind the earlier ones, so each
 * (model, lane) stays FIFO (retries are ordered by due time anyway). A job read back from a spill partition is
 * always queued (the partition pauses when the queue is full; at most one poll's records overshoot).
 *
 * <p>Durability: the copy and the input offset are in one transaction; the copy keeps the record's key, value,
 * headers and timestamp (its enqueue time, from which a ttl counts). A crash, abort or takeover before the commit
 * leaves the input record to be read again; after it, the job is in its spill partition. Records handled above
 * a committed offset are skipped when read again ({@code offsets.OffsetMap}), spill partitions included.
 *
 * <p>Not thread-safe: owned by the dispatcher thread.
 */
public final class Spill {
  /** How the loop owner's job consumer stands on a partition (a simulation models it). */
  public interface Positions {
    /** The consumer's position on {@code tp} (the next offset it returns), or -1 when unknown or not assigned. */
    long position(TopicPartition tp);
  }

  private final SpillTopics topics;
  private final int slotCap;
  private final int totalCap;
  /** Per spill partition: one past the last record known to be there. */
  private final Map<TopicPartition, Long> end = new HashMap<>();
  private final Set<TopicPartition> paused = new HashSet<>();

  /**
   * @param slotCap  jobs one (model, lane) keeps in memory ({@code dispatcher.max_buffered_per_model})
   * @param totalCap jobs all queues keep in memory ({@code dispatcher.max_buffered_jobs})
   */
  public Spill(SpillTopics topics, int slotCap, int totalCap) {
    this.topics = topics;
    this.slotCap = Math.max(1, slotCap);
    this.totalCap = Math.max(1, totalCap);
  }

  public SpillTopics topics() {
    return topics;
  }

  /** Jobs one (model, lane) keeps in memory. */
  public int slotCap() {
    return slotCap;
  }

  /**
   * Where a job newly read from a job topic goes: null to its ready queue, else the spill partition to copy it
   * to (its queue or all queues are full, or earlier jobs of its model and lane wait there).
   *
   * @param queued     jobs in its (model, lane) queue now
   * @param allQueued  jobs in every queue now
   */
  public TopicPartition divert(String group, Lane lane, int queued, int allQueued, Positions positions) {
    TopicPartition tp = topics.partitionOf(group, lane);
    if (queued >= slotCap || allQueued >= totalCap || backlogged(tp, positions)) {
      return tp;
    }
    return null;
  }

  /** True while records of {@code tp} the consumer has not passed are known to be there. */
  public boolean backlogged(TopicPartition tp, Positions positions) {
    Long e = end.get(tp);
    if (e == null) {
      return false;
    }
    long p = positions.position(tp);
    return p < 0 || p < e;
  }

  /** The spill partition's end as found when it was assigned (from a predecessor's writes). */
  public void endFound(TopicPartition tp, long endOffset) {
    if (endOffset > 0) {
      end.merge(tp, endOffset, Math::max);
    }
  }

  /** A committed transaction wrote a record at {@code offset} of a spill partition. */
  public void written(TopicPartition tp, long offset) {
    end.merge(tp, offset + 1, Math::max);
  }

  /**
   * Jobs of {@code group} waiting in its spill partitions: per lane, the known end minus the consumer's position
   * (lanes whose position is not known yet count from 0).
   */
  public long backlog(String group, Positions positions) {
    long n = 0;
    for (Lane lane : Lane.values()) {
      TopicPartition tp = topics.partitionOf(group, lane);
      Long e = end.get(tp);
      if (e != null) {
        n += Math.max(0, e - Math.max(0, positions.position(tp)));
      }
    }
    return n;
  }

  /** The (model, lane) a spill partition feeds; null for any other partition. */
  public Slot slotOf(TopicPartition tp) {
    return topics.slotOf(tp);
  }

  /**
   * Which spill partitions to pause (their queue is at its cap, or all queues are) and resume (their queue is
   * down to half, and all queues below their cap).
   */
  public void pauseOrResume(Queued queued, int allQueued, Pauses pauses) {
    for (String group : topics.groups()) {
      for (Lane lane : Lane.values()) {
        TopicPartition tp = topics.partitionOf(group, lane);
        int n = queued.size(group, lane);
        if (n >= slotCap || allQueued >= totalCap) {
          if (paused.add(tp)) {
            pauses.pause(tp);
          }
        } else if (n <= slotCap / 2 && paused.remove(tp)) {
          pauses.resume(tp);
        }
      }
    }
  }

  /** Jobs queued per (model, lane). */
  public interface Queued {
    int size(String group, Lane lane);
  }

  /** What the loop owner does to its consumer's spill partitions; idempotent. */
  public interface Pauses {
    void pause(TopicPartition tp);

    void resume(TopicPartition tp);
  }

  /** Standing by: what a successor wrote is found again when the partitions come back. */
  public void clear() {
    end.clear();
    paused.clear();
  }

  /** Rewound or reassigned: the consumer's partitions start unpaused. */
  public void unpaused() {
    paused.clear();
  }
}
