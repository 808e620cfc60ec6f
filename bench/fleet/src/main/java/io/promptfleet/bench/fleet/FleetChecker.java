package io.promptfleet.bench.fleet;

import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.Result;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Judges one phase of a run from what the topics hold: every job produced must have exactly one result, the
 * winning attempt's chunks must be whole, and no key may have gone over its concurrency at the upstream.
 *
 * <p>What counts:
 * <ul>
 *   <li><b>produced</b>: the phase's job ids on the job topics (what the broker acknowledged, not what the load
 *       generator tried to send).</li>
 *   <li><b>lost</b>: a produced job with no {@link Result} on its reply topic, whatever the status: a job that
 *       failed, was rejected or expired has been answered. A job whose record went to the dead-letter topic
 *       ({@code llm.jobs.dlq}, an invalid record) is not lost (the load generator writes none, so any is listed
 *       under {@code deadLettered}).</li>
 *   <li><b>duplicated</b>: a job with more than one {@link Result} record (read {@code read_committed}, so a
 *       result of an aborted transaction does not count).</li>
 *   <li><b>chunk gap</b>: the chunks of the winning attempt (the attempt of the job's first result) are not
 *       numbered 0, 1, 2, ... without a gap or a repeat, one of them comes after the result on the reply
 *       partition, or (for a succeeded result with content) their text deltas joined are not the result's
 *       content: the reader of the stream would have seen something other than the answer.</li>
 *   <li><b>over limit</b>: a key whose most concurrent requests at the upstream (the simulator's count by
 *       Authorization header) exceeded its configured {@code max_concurrency}.</li>
 *   <li><b>first result after the fault</b>: from the fault to the first result written after it.</li>
 *   <li><b>recovered</b>: the pre-fault rate is the median of the results per second in the 10 s before the
 *       fault; the time to recover is the start (relative to the fault) of the first 1-s window, windows aligned
 *       to the fault, with at least 80% of that rate. 0 means the rate never dropped; -1 that it never came
 *       back within the phase.</li>
 * </ul>
 *
 * <p>Pure logic on record lists; not thread-safe, one instance per judgement.
 */
public final class FleetChecker {
  /** Share of the pre-fault rate at which the fleet counts as recovered. */
  static final double RECOVERED_SHARE = 0.8;
  static final long WINDOW_MS = 1_000;
  static final long BASELINE_MS = 10_000;

  /** A job record as read from a job topic. */
  public record JobRecord(String jobId, long timestampMs) {}

  /** A reply-topic record: {@code offset} orders the records of one job (one key, one partition). */
  public record ReplyRecord(long offset, long timestampMs, Reply reply) {}

  /** Upstream concurrency of one key: the most requests in flight seen, and the configured limit. */
  public record KeyConcurrency(String key, int max, int limit) {
    boolean over() {
      return max > limit;
    }
  }

  /** The verdict on one phase. */
  public record Report(String phase, int produced, int results, List<String> lost, List<String> duplicated,
      List<String> chunkGaps, List<String> deadLettered, List<KeyConcurrency> overLimit,
      Map<JobStatus, Integer> statuses, int laterAttempts, long firstResultAfterFaultMs, long recoverMs,
      double baselinePerSecond) {
    /** True when nothing was lost or duplicated and no key went over its limit (what fails a run). */
    public boolean clean() {
      return lost.isEmpty() && duplicated.isEmpty() && overLimit.isEmpty();
    }
  }

  private FleetChecker() {}

  /**
   * @param phase       the phase's name, for the report
   * @param jobs        the phase's job records (only jobs of this phase)
   * @param replies     every reply record of those jobs (others are ignored), in any order
   * @param deadLetters job ids found on the dead-letter topic
   * @param upstream    per key: the most concurrent requests at the upstream during the phase and the limit
   * @param faultAtMs   when the fault was injected (wall clock), or -1 for a phase without a fault
   */
  public static Report check(String phase, Collection<JobRecord> jobs, Collection<ReplyRecord> replies,
      Set<String> deadLetters, Collection<KeyConcurrency> upstream, long faultAtMs) {
    Set<String> ids = new TreeSet<>();
    jobs.forEach(j -> ids.add(j.jobId()));
    Map<String, List<ReplyRecord>> byJob = new HashMap<>();
    for (ReplyRecord r : replies) {
      if (ids.contains(r.reply().jobId())) {
        byJob.computeIfAbsent(r.reply().jobId(), k -> new ArrayList<>()).add(r);
      }
    }
    List<String> lost = new ArrayList<>();
    List<String> duplicated = new ArrayList<>();
    List<String> gaps = new ArrayList<>();
    List<String> dead = new ArrayList<>();
    Map<JobStatus, Integer> statuses = new EnumMap<>(JobStatus.class);
    List<Long> resultTimes = new ArrayList<>();
    int results = 0;
    int later = 0;
    for (String id : ids) {
      List<ReplyRecord> rs = byJob.getOrDefault(id, new ArrayList<>());
      rs.sort(Comparator.comparingLong(ReplyRecord::offset));
      List<ReplyRecord> terminal = rs.stream().filter(r -> r.reply() instanceof Result).toList();
      if (terminal.isEmpty()) {
        (deadLetters.contains(id) ? dead : lost).add(id);
        continue;
      }
      if (deadLetters.contains(id)) {
        dead.add(id);
      }
      results += terminal.size();
      terminal.forEach(r -> resultTimes.add(r.timestampMs()));
      if (terminal.size() > 1) {
        duplicated.add(id);
      }
      ReplyRecord won = terminal.get(0);
      Result result = (Result) won.reply();
      statuses.merge(result.status(), 1, Integer::sum);
      later += result.attempt() > 1 ? 1 : 0;
      String gap = chunkGap(result, won.offset(), rs);
      if (gap != null) {
        gaps.add(id + ": " + gap);
      }
    }
    List<KeyConcurrency> over = upstream.stream().filter(KeyConcurrency::over).toList();
    long first = -1;
    long recover = -1;
    double baseline = 0;
    if (faultAtMs >= 0) {
      first = resultTimes.stream().filter(t -> t >= faultAtMs).min(Long::compare).map(t -> t - faultAtMs)
          .orElse(-1L);
      baseline = baselinePerSecond(resultTimes, faultAtMs);
      recover = recoverMs(resultTimes, faultAtMs, baseline);
    }
    return new Report(phase, ids.size(), results, lost, duplicated, gaps, dead, over, statuses, later, first,
        recover, baseline);
  }

  /** Why the winning attempt's chunks do not make up the result, or null when they do. */
  static String chunkGap(Result result, long resultOffset, List<ReplyRecord> records) {
    TreeMap<Long, Chunk> bySeq = new TreeMap<>();
    for (ReplyRecord r : records) {
      if (r.reply() instanceof Chunk c && c.attempt() == result.attempt()) {
        if (r.offset() > resultOffset) {
          return "chunk " + c.seq() + " of attempt " + c.attempt() + " after the result";
        }
        if (bySeq.put(c.seq(), c) != null) {
          return "chunk " + c.seq() + " of attempt " + c.attempt() + " twice";
        }
      }
    }
    long expect = 0;
    for (long seq : bySeq.keySet()) {
      if (seq != expect) {
        return "attempt " + result.attempt() + " has chunk " + seq + " where " + expect + " was due";
      }
      expect++;
    }
    if (result.status() == JobStatus.SUCCEEDED && result.content() != null) {
      StringBuilder text = new StringBuilder();
      bySeq.values().forEach(c -> text.append(c.delta()));
      if (!text.toString().equals(result.content())) {
        return "the " + bySeq.size() + " chunks of attempt " + result.attempt() + " join to " + text.length()
            + " characters, the result has " + result.content().length();
      }
    }
    return null;
  }

  /** The median of the results per 1-s window in the {@link #BASELINE_MS} before the fault. */
  static double baselinePerSecond(List<Long> resultTimes, long faultAtMs) {
    int windows = (int) (BASELINE_MS / WINDOW_MS);
    int[] counts = new int[windows];
    for (long t : resultTimes) {
      if (t < faultAtMs && t >= faultAtMs - BASELINE_MS) {
        counts[(int) ((faultAtMs - 1 - t) / WINDOW_MS)]++;
      }
    }
    java.util.Arrays.sort(counts);
    return (counts[(windows - 1) / 2] + counts[windows / 2]) / 2.0 * 1000.0 / WINDOW_MS;
  }

  /** See the class comment: the start of the first window with {@link #RECOVERED_SHARE} of the baseline. */
  static long recoverMs(List<Long> resultTimes, long faultAtMs, double baselinePerSecond) {
    Map<Long, Integer> windows = new LinkedHashMap<>();
    long last = -1;
    for (long t : resultTimes) {
      if (t >= faultAtMs) {
        long w = (t - faultAtMs) / WINDOW_MS;
        windows.merge(w, 1, Integer::sum);
        last = Math.max(last, w);
      }
    }
    double need = RECOVERED_SHARE * baselinePerSecond * WINDOW_MS / 1000.0;
    for (long w = 0; w <= last; w++) {
      if (windows.getOrDefault(w, 0) >= need && windows.getOrDefault(w, 0) > 0) {
        return w * WINDOW_MS;
      }
    }
    return -1;
  }
}
