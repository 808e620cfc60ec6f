package io.promptfleet.worker.poll;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;
import org.apache.kafka.clients.consumer.AcknowledgeType;

/**
 * The records of a lane's current batch and what the share consumer's batch discipline allows with them (see
 * {@link Lane}): which are held; which were renewed and have not come back from a poll yet (an acknowledgement for
 * one of those waits until it is back); which are acknowledged; which may be released on close; when acks are due
 * for a commit; and what the lane does next: poll for new work only once the whole batch is acknowledged, re-poll
 * while renewed records are out, renew when the first record's renewal is due, else wait for acknowledgements.
 *
 * <p>Pure bookkeeping: every order to the consumer goes through the {@link Acknowledger} it is given; times are
 * passed in. Confined to the lane thread, but {@link #size()}, which any thread may read.
 *
 * @param <R> a record; two objects for the same record (one before, one after a renewal) have the same key
 */
final class HeldBatch<R> {
  /** Acks of a batch that still holds records are committed at most this often. */
  static final long COMMIT_EVERY_MS = 50;

  /** Where the batch's acknowledgements go: the lane's share consumer. */
  @FunctionalInterface
  interface Acknowledger<R> {
    void acknowledge(R record, AcknowledgeType type);
  }

  /** What the lane does next. */
  enum Step {
    /** The batch is empty: acquire new records. */
    POLL,
    /** The batch is empty and the lane stopped polling: leave the share group. */
    LEAVE,
    /** Renewed records are out: poll to get them back (no new records come with them). */
    REPOLL,
    /** A record's renewal is due: renew every held record (poll may only run once all are acknowledged). */
    RENEW,
    /** Wait for acknowledgements. */
    AWAIT_ACKS
  }

  private static final class Held<R> {
    R record;
    long renewAt;
    boolean out;
    AcknowledgeType deferred;

    Held(R record, long renewAt) {
      this.record = record;
      this.renewAt = renewAt;
    }
  }

  private final ToLongFunction<R> key;
  private final Acknowledger<R> consumer;
  private final long renewAfterMaxMs;
  private final long lostAfterMs;
  private final Map<Long, Held<R>> held = new LinkedHashMap<>();
  private volatile int size;
  private long renewAfterMs;
  private long renewedAt = -1;
  private boolean uncommittedAcks;
  private long lastCommitMs;

  /**
   * @param renewAfterMax renew a record at most this long after its acquisition or last renewal
   * @param lostAfter     how long a renewed record may take to come back before its lock counts as lost
   */
  HeldBatch(ToLongFunction<R> key, Acknowledger<R> consumer, Duration renewAfterMax, Duration lostAfter) {
    this.key = key;
    this.consumer = consumer;
    this.renewAfterMaxMs = renewAfterMax.toMillis();
    this.renewAfterMs = renewAfterMaxMs;
    this.lostAfterMs = lostAfter.toMillis();
  }

  /** Records held: acquired and not acknowledged, lost or released. Any thread. */
  int size() {
    return size;
  }

  boolean isEmpty() {
    return held.isEmpty();
  }

  /** What the lane does next at {@code nowMs}; {@code polling} is false once the lane takes no new work. */
  Step next(long nowMs, boolean polling) {
    if (held.isEmpty()) {
      return polling ? Step.POLL : Step.LEAVE;
    }
    if (renewedAt >= 0) {
      return Step.REPOLL;
    }
    for (Held<R> h : held.values()) {
      if (nowMs >= h.renewAt) {
        return Step.RENEW;
      }
    }
    return Step.AWAIT_ACKS;
  }

  /** The group's acquisition lock (null when unknown): records are renewed at half of it, or sooner. */
  void lockTimeout(Integer lockMs) {
    renewAfterMs = lockMs == null ? renewAfterMaxMs : Math.min(renewAfterMaxMs, lockMs / 2L);
  }

  /**
   * A poll returned {@code records} (and sent every acknowledgement made so far). A renewed record that is back is
   * acknowledged now if its acknowledgement waited for it; the others are new to the batch.
   *
   * @return the new records, in poll order
   */
  List<R> polled(Iterable<R> records, long nowMs) {
    uncommittedAcks = false;
    long renewAt = nowMs + renewAfterMs;
    List<R> fresh = new ArrayList<>();
    for (R r : records) {
      Held<R> h = held.get(key.applyAsLong(r));
      if (h != null) {
        h.record = r;
        h.out = false;
        if (h.deferred != null) {
          finish(h, h.deferred);
        }
      } else {
        held.put(key.applyAsLong(r), new Held<>(r, renewAt));
        fresh.add(r);
      }
    }
    size = held.size();
    return fresh;
  }

  /**
   * The record's work is done: acknowledged with {@code type} now, or once it is back when it is out for renewal.
   * Ignored for a record the batch does not hold (lost, or acknowledged twice).
   */
  void acknowledge(R record, AcknowledgeType type) {
    Held<R> h = held.get(key.applyAsLong(record));
    if (h == null) {
      return;
    }
    if (h.out) {
      h.deferred = type;
    } else {
      finish(h, type);
      size = held.size();
    }
  }

  /**
   * Whether acknowledgements wait that should be committed now: the batch still holds records (else the next poll
   * carries them) and the last commit was at least {@link #COMMIT_EVERY_MS} ago.
   */
  boolean commitDue(long nowMs) {
    return uncommittedAcks && !held.isEmpty() && nowMs - lastCommitMs >= COMMIT_EVERY_MS;
  }

  /** Every acknowledgement so far was committed at {@code nowMs}. */
  void committed(long nowMs) {
    lastCommitMs = nowMs;
    uncommittedAcks = false;
  }

  /**
   * RENEWs every held record (they are out until a poll returns them) and sets their next renewal; the caller
   * commits at once.
   *
   * @return how many records were renewed
   */
  int renewAll(long nowMs) {
    for (Held<R> h : held.values()) {
      consumer.acknowledge(h.record, AcknowledgeType.RENEW);
      h.out = true;
      h.renewAt = nowMs + renewAfterMs;
    }
    uncommittedAcks = false;
    renewedAt = nowMs;
    return held.size();
  }

  /** Whether renewed records are out: the lane must re-poll, not take new work. */
  boolean renewing() {
    return renewedAt >= 0;
  }

  /**
   * After a re-poll: the renewal is over once every renewed record is back; records still out {@code lostAfter}
   * after the renewal are given up (their lock expired; another worker may run them).
   *
   * @return the records given up, no longer held
   */
  List<R> lost(long nowMs) {
    boolean out = false;
    for (Held<R> h : held.values()) {
      out |= h.out;
    }
    if (!out) {
      renewedAt = -1;
      return List.of();
    }
    if (nowMs - renewedAt <= lostAfterMs) {
      return List.of();
    }
    List<R> lost = new ArrayList<>();
    for (Iterator<Held<R>> it = held.values().iterator(); it.hasNext();) {
      Held<R> h = it.next();
      if (h.out) {
        it.remove();
        lost.add(h.record);
      }
    }
    size = held.size();
    renewedAt = -1;
    return lost;
  }

  /**
   * The lane closes: RELEASEs every held record to the share group, but those out for renewal (the consumer does
   * not hold them now; the broker reclaims them when their lock expires). The batch is empty after.
   *
   * @return how many records were released
   */
  int releaseAll() {
    int n = 0;
    try {
      for (Held<R> h : held.values()) {
        if (!h.out) {
          consumer.acknowledge(h.record, AcknowledgeType.RELEASE);
          n++;
        }
      }
    } finally {
      held.clear();
      size = 0;
    }
    return n;
  }

  /**
   * The consumer failed: the batch forgets every record without acknowledging any (the consumer cannot take orders
   * any more; the broker gives its records to the group again once it is closed). The batch is empty after.
   *
   * @return the records it held, in acquisition order
   */
  List<R> abandon() {
    List<R> records = new ArrayList<>(held.size());
    held.values().forEach(h -> records.add(h.record));
    held.clear();
    size = 0;
    renewedAt = -1;
    uncommittedAcks = false;
    return records;
  }

  private void finish(Held<R> h, AcknowledgeType type) {
    consumer.acknowledge(h.record, type);
    held.remove(key.applyAsLong(h.record));
    uncommittedAcks = true;
  }
}
