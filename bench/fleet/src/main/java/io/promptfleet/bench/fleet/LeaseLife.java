package io.promptfleet.bench.fleet;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToLongFunction;
import java.util.stream.Collectors;

/**
 * Where a lease's time goes ({@link FastPath}'s paced phase): each lease's times as its records tell them, and the
 * table of its parts. The key holds a lease from its dispatch until the dispatcher reads the release; the parts seen
 * in records cover all of it but the dispatcher's reaction, which is the mean lease (the key's leases over the jobs
 * per second, every lease held under saturation) less them.
 *
 * <p>A successor assignment ({@code dispatcher.successors}) waits for its predecessor between being readable and
 * its {@code lease_started}, so the parts are of the ordinary leases only, and the successors get a row of their
 * own: from the predecessor's result to the successor's first chunk, i.e. the hand-over while the key's slot is idle
 * (the local hand-over on the predecessor's worker, or the predecessor's release read by the successor's worker),
 * then the upstream's time to a first token. (A successor's {@code lease_started} is its claim, written when it
 * came: no measure of its start.)
 *
 * <p>Thread-safe: the benchmark's reader thread records, its controlling thread reads the table.
 */
final class LeaseLife {

  /** One lease, from its records (wall ms; -1 until seen). */
  static final class Lease {
    volatile long dispatchedMs = -1;
    /** When the benchmark read the assignment: its transaction committed. */
    volatile long assignmentReadMs = -1;
    volatile long startedMs = -1;
    /** The first chunk's CreateTime. */
    volatile long firstChunkMs = -1;
    /** The last chunk's CreateTime. */
    volatile long lastChunkMs = -1;
    /** The result's CreateTime. */
    volatile long resultMs = -1;
    volatile long releasedMs = -1;
    /** When the benchmark read the lease_released event. */
    volatile long releaseReadMs = -1;
    /** A successor's predecessor lease (null: an ordinary lease). */
    volatile String afterLease;
    /** The worker that released it (ran its call). */
    volatile String worker;

    boolean complete() {
      return dispatchedMs >= 0 && assignmentReadMs >= 0 && startedMs >= 0 && resultMs >= 0 && releasedMs >= 0
          && releaseReadMs >= 0;
    }
  }

  /** The parts of a lease's life, each from two of its times, in order. */
  static final Map<String, ToLongFunction<Lease>> PARTS = new LinkedHashMap<>();

  static {
    PARTS.put("dispatched → assignment readable (its commit, a read)", l -> l.assignmentReadMs - l.dispatchedMs);
    PARTS.put("assignment readable → lease_started (share acquisition: a lane free to fetch)",
        l -> l.startedMs - l.assignmentReadMs);
    PARTS.put("lease_started → result produced (the upstream's ~1,000 ms, the worker)",
        l -> l.resultMs - l.startedMs);
    PARTS.put("result produced → lease_released (the result's ack)", l -> l.releasedMs - l.resultMs);
    PARTS.put("lease_released → readable (the event's produce, a read)", l -> l.releaseReadMs - l.releasedMs);
  }

  private final Map<String, Lease> byJob = new ConcurrentHashMap<>();
  private final Map<String, Lease> byLease = new ConcurrentHashMap<>();

  /** The lease of {@code jobId}, made on first sight. */
  Lease lease(String jobId) {
    return byJob.computeIfAbsent(jobId, k -> new Lease());
  }

  /** The assignment of {@code jobId} was read: its lease id and predecessor (null: ordinary). */
  void assigned(String jobId, String leaseId, String afterLease, long dispatchedMs, long readMs) {
    Lease l = lease(jobId);
    l.dispatchedMs = dispatchedMs;
    l.assignmentReadMs = readMs;
    l.afterLease = afterLease;
    byLease.put(leaseId, l);
  }

  /** A successor's predecessor (known: the table keeps only successors whose predecessor was read). */
  private Lease predecessor(Lease successor) {
    return byLease.get(successor.afterLease);
  }

  private static long[] times(List<Lease> leases, ToLongFunction<Lease> f) {
    return leases.stream().mapToLong(f).sorted().toArray();
  }

  private static String row(String what, long[] v) {
    return String.format("| %s | %.1f | %d | %d |", what, FastPath.mean(v), FastPath.pct(v, 50), FastPath.pct(v, 90));
  }

  /**
   * The leases dispatched in [fromMs, toMs) with every time seen: each part's mean, p50 and p90 (ms), then the
   * dispatcher's reaction: the mean lease ({@code keyConcurrency} over {@code jobsPerSecond}) less the parts' means.
   */
  List<String> table(long fromMs, long toMs, int keyConcurrency, double jobsPerSecond) {
    List<Lease> all = byJob.values().stream()
        .filter(l -> l.complete() && l.dispatchedMs >= fromMs && l.dispatchedMs < toMs).toList();
    List<Lease> seen = all.stream().filter(l -> l.afterLease == null).toList();
    List<Lease> successors = all.stream().filter(l -> l.afterLease != null && byLease.containsKey(l.afterLease)
        && byLease.get(l.afterLease).resultMs >= 0).toList();
    List<String> t = new ArrayList<>();
    t.add("| a paced lease's life (n=" + seen.size() + " ordinary leases, from record times) | mean ms | p50 ms | "
        + "p90 ms |");
    t.add("|---|---|---|---|");
    double partsSeen = 0;
    for (var part : seen.isEmpty() ? Map.<String, ToLongFunction<Lease>>of().entrySet() : PARTS.entrySet()) {
      long[] v = times(seen, part.getValue());
      partsSeen += FastPath.mean(v);
      t.add(row(part.getKey(), v));
    }
    if (!successors.isEmpty()) {
      List<Lease> started = successors.stream().filter(l -> l.firstChunkMs >= 0
          && predecessor(l).lastChunkMs >= 0 && predecessor(l).releasedMs >= 0).toList();
      long[] v = times(started, l -> l.firstChunkMs - predecessor(l).resultMs);
      t.add(row(String.format("successors (n=%d of %d leases): the predecessor's result produced → the successor's "
          + "first chunk produced (the slot's hand-over, then the upstream's %d ms to a first token)", v.length,
          all.size(), FastPath.PACED_TTFT_MS), v));
      // The hand-over in its parts: a successor starts once its predecessor's attempt is DONE, i.e. its chunks and
      // then its result were acknowledged by Kafka; the lease_released is written at that moment.
      t.add(row("  before it: the predecessor's last chunk produced → its result produced (the stream's end, its "
          + "chunks' acks; the key's slot is free from the stream's end)",
          times(started, l -> predecessor(l).resultMs - predecessor(l).lastChunkMs)));
      t.add(row("  of it: its result produced → its lease_released (the result's ack)",
          times(started, l -> predecessor(l).releasedMs - predecessor(l).resultMs)));
      Map<Boolean, List<Lease>> onItsWorker = started.stream().filter(l -> l.worker != null)
          .collect(Collectors.partitioningBy(l -> l.worker.equals(predecessor(l).worker)));
      ToLongFunction<Lease> start = l -> l.firstChunkMs - predecessor(l).releasedMs;
      t.add(row(String.format("  then, %d on the predecessor's worker: its lease_released → the successor's first "
          + "chunk (the local hand-over, the request, the upstream's %d ms)", onItsWorker.get(true).size(),
          FastPath.PACED_TTFT_MS), times(onItsWorker.get(true), start)));
      t.add(row(String.format("  or, %d on another worker: its lease_released → the successor's first chunk (the "
          + "event read by that worker, the request, the upstream's %d ms)", onItsWorker.get(false).size(),
          FastPath.PACED_TTFT_MS), times(onItsWorker.get(false), start)));
      return t;
    }
    double held = keyConcurrency * 1000 / jobsPerSecond;
    t.add(String.format("| the rest: the dispatcher's round and transaction from the release read to the next "
        + "dispatch (the mean lease, %.0f ms, less the above) | %.1f | | |", held, held - partsSeen));
    return t;
  }
}
