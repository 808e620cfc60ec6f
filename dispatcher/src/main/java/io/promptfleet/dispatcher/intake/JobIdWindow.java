package io.promptfleet.dispatcher.intake;

import com.carrotsearch.hppc.LongLongHashMap;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The job ids admitted in the last {@code dispatcher.dedupe_window_ms}, so that a job produced twice (a producer's
 * retry, a batch re-run after a crash) runs once: the second record of a {@code job_id} already admitted is a
 * {@link Verdict#DUPLICATE}, committed past without a second run or a second result.
 *
 * <p>Each entry is a 64-bit key, the first 8 bytes of SHA-256 over the tenant and the job id (a tenant's ids never
 * collide with another tenant's by construction, and nobody can craft an id that collides with someone else's
 * without 2^64 work), mapped to the position of the record that was admitted (topic-partition and offset, packed):
 * the same record read again (after an aborted transaction rewound the dispatcher, or after its partitions came
 * back) is {@link Verdict#SAME_RECORD}, not a duplicate of itself. Entries live in buckets of 1/60 of the window
 * (HPPC {@code LongLongHashMap}s: about 36 bytes per job id measured over a million, against some 150 for a
 * {@code HashMap<String, ...>}), dropped whole when they fall out of the window. At 1,000 jobs/s and a window of one
 * hour: 3.6 million ids, ~130 MB.
 *
 * <p>A successor gets the window from Kafka: every id the window takes ({@link #offer}ed or {@link #seed}ed) also
 * goes to a journal, which the active dispatcher writes with its state snapshots, in the same transaction, to the
 * dispatcher state topic ({@link #journal}: 24 bytes per id: bucket, key, position; each id once). A takeover
 * applies those records of the last window ({@link #apply}), then {@link #seed}s the ids of the assignments written
 * since the newest snapshot (their positions unknown: the records they came from are never admitted again anyway,
 * the committed offsets' metadata skips them). A record admitted but not yet committed (still queued) keeps its
 * position, so when the successor reads it again it is {@link Verdict#SAME_RECORD}, not a duplicate of itself.
 *
 * <p>Not thread-safe: owned by the dispatcher thread.
 */
public final class JobIdWindow {
  /** The position of a job id seeded from an assignment: no record is "the same" as it. */
  public static final long UNKNOWN_POSITION = -1;

  /** What a job record with an admitted id is. */
  public enum Verdict {
    /** Not admitted in the window: admit it (it is now remembered). */
    NEW,
    /** The record that was admitted, read again: admit it again. */
    SAME_RECORD,
    /** Another record with an id admitted in the window: do not run it. */
    DUPLICATE
  }

  private static final byte JOURNAL_VERSION = 1;

  private final long windowMs;
  private final long bucketMs;
  private final TreeMap<Long, LongLongHashMap> buckets = new TreeMap<>();
  private final MessageDigest sha256;
  private int size;
  /** Ids taken since the last committed journal record: (bucket start, key, position) triples. */
  private final com.carrotsearch.hppc.LongArrayList journal = new com.carrotsearch.hppc.LongArrayList();
  /** How many longs of {@link #journal} the open transaction carries. */
  private int journalWritten;
  private boolean journaling;

  /** @param windowMs how long an id is remembered; 0 disables the check */
  public JobIdWindow(long windowMs) {
    this.windowMs = windowMs;
    this.bucketMs = Math.max(1_000, windowMs / 60);
    try {
      this.sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  /**
   * A job record at {@code position} ({@link #position}) carrying {@code jobId} of {@code tenant} (null: none),
   * read at {@code nowMs}: remembered when new.
   */
  public Verdict offer(String tenant, String jobId, long position, long nowMs) {
    if (windowMs <= 0) {
      return Verdict.NEW;
    }
    expire(nowMs);
    long key = key(tenant, jobId);
    for (LongLongHashMap b : buckets.values()) {
      int slot = b.indexOf(key);
      if (b.indexExists(slot)) {
        long at = b.indexGet(slot);
        return at == position && position != UNKNOWN_POSITION ? Verdict.SAME_RECORD : Verdict.DUPLICATE;
      }
    }
    put(key, position, nowMs);
    return Verdict.NEW;
  }

  /** A job id dispatched at {@code atMs} (a takeover's read-back): later records with it are duplicates. */
  public void seed(String tenant, String jobId, long atMs, long nowMs) {
    if (windowMs <= 0 || atMs <= nowMs - windowMs) {
      return;
    }
    long key = key(tenant, jobId);
    if (!contains(key)) {
      put(key, UNKNOWN_POSITION, atMs);
    }
  }

  private void put(long key, long position, long atMs) {
    long start = atMs - Math.floorMod(atMs, bucketMs);
    buckets.computeIfAbsent(start, s -> new LongLongHashMap()).put(key, position);
    size++;
    if (journaling) {
      journal.add(start, key, position);
    }
  }

  /** Whether ids taken go to the {@link #journal} (only while state snapshots are written: it would grow). */
  public void journaling(boolean on) {
    this.journaling = on;
    if (!on) {
      journal.clear();
      journalWritten = 0;
    }
  }

  private boolean contains(long key) {
    for (LongLongHashMap b : buckets.values()) {
      if (b.containsKey(key)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The ids taken since the last committed journal, encoded for the dispatcher state topic in records of at most
   * {@code maxIds} ids each (none when nothing was taken). They count as written until {@link #journalCommitted}
   * or {@link #journalAborted}.
   */
  public List<byte[]> journal(int maxIds) {
    List<byte[]> out = new ArrayList<>();
    int total = journal.size() / 3;
    for (int from = 0; from < total; from += maxIds) {
      int n = Math.min(maxIds, total - from);
      ByteBuffer b = ByteBuffer.allocate(5 + n * 24);
      b.put(JOURNAL_VERSION).putInt(n);
      for (int i = from * 3; i < (from + n) * 3; i++) {
        b.putLong(journal.get(i));
      }
      out.add(b.array());
    }
    journalWritten = journal.size();
    return out;
  }

  /** The transaction that carried the {@link #journal} committed: those ids are in Kafka. */
  public void journalCommitted() {
    journal.removeRange(0, journalWritten);
    journalWritten = 0;
  }

  /** The transaction that carried the {@link #journal} aborted: the next one writes them again. */
  public void journalAborted() {
    journalWritten = 0;
  }

  /**
   * A journal record read back on takeover: its ids still in the window at {@code nowMs} are remembered (with
   * their positions), not journaled again. Returns how many it held; -1 when it cannot be read.
   */
  public int apply(byte[] record, long nowMs) {
    if (record == null || record.length < 5 || record[0] != JOURNAL_VERSION) {
      return -1;
    }
    ByteBuffer b = ByteBuffer.wrap(record);
    b.get();
    int n = b.getInt();
    if (n < 0 || b.remaining() != n * 24L) {
      return -1;
    }
    if (windowMs <= 0) {
      return n;
    }
    for (int i = 0; i < n; i++) {
      long start = b.getLong();
      long key = b.getLong();
      long position = b.getLong();
      if (start + bucketMs > nowMs - windowMs && !contains(key)) {
        buckets.computeIfAbsent(start, s -> new LongLongHashMap()).put(key, position);
        size++;
      }
    }
    return n;
  }

  /** Every id remembered as (bucket start, key, position) triples, in bucket order (for tests). */
  public long[] contents() {
    com.carrotsearch.hppc.LongArrayList out = new com.carrotsearch.hppc.LongArrayList();
    buckets.forEach((start, b) -> {
      long[] keys = b.keys().toArray();
      java.util.Arrays.sort(keys);
      for (long k : keys) {
        out.add(start, k, b.get(k));
      }
    });
    return out.toArray();
  }

  /** Drops the buckets that lie wholly before the window. */
  private void expire(long nowMs) {
    Iterator<Map.Entry<Long, LongLongHashMap>> it = buckets.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<Long, LongLongHashMap> e = it.next();
      if (e.getKey() + bucketMs > nowMs - windowMs) {
        return;
      }
      size -= e.getValue().size();
      it.remove();
    }
  }

  /** Job ids remembered. */
  public int size() {
    return size;
  }

  /** This dispatcher stands by: the next term seeds from what it reads back. */
  public void clear() {
    buckets.clear();
    size = 0;
    journal.clear();
    journalWritten = 0;
  }

  /** A record's position: its topic-partition (hashed to 24 bits) and offset (40 bits). */
  public static long position(String topic, int partition, long offset) {
    long tp = (topic.hashCode() * 31L + partition) & 0xFFFFFFL;
    return tp << 40 | offset & 0xFF_FFFF_FFFFL;
  }

  private long key(String tenant, String jobId) {
    sha256.reset();
    if (tenant != null) {
      sha256.update(tenant.getBytes(StandardCharsets.UTF_8));
    }
    sha256.update((byte) 0);
    return ByteBuffer.wrap(sha256.digest(jobId.getBytes(StandardCharsets.UTF_8))).getLong();
  }
}
