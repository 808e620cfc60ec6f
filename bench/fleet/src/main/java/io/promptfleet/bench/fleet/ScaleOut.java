package io.promptfleet.bench.fleet;

import io.promptfleet.bench.fleet.FleetChecker.ReplyRecord;
import io.promptfleet.bench.fleet.FleetChecker.Report;
import io.promptfleet.common.job.Result;
import io.promptfleet.simulator.SimulatorOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Completed jobs/s as worker processes are added against a slow upstream: each answer takes about 2.5 s (the first of 5
 * tokens after 0.5 s, the other 4 at 2/s), each worker runs at most {@code worker.slots} streams, and the keys allow far
 * more than all workers together, so the workers' slots are the limit: the ideal is {@code slots / 2.5 s} jobs/s
 * per worker. For each worker count a backlog of jobs (about 45 s of the ideal rate) is produced at once; the rate
 * is the median of the completed jobs/s of 5-s windows from 8 s after the first result to 3 s before the last (at
 * most {@code window} long). Then a join/leave phase: a steady load on 4 workers while workers are added, stopped
 * with SIGTERM and killed with SIGKILL, judged by the {@link FleetChecker}.
 */
final class ScaleOut {
  static final double ANSWER_SECONDS = 2.5;
  private static final long WARMUP_MS = 8_000;
  private static final long RATE_WINDOW_MS = 5_000;

  record Options(int[] workers, int slots, Duration window, boolean joinLeave, long recordLockMs, Path runDir) {}

  static FleetHarness.Setup setup(int slots, long recordLockMs) {
    return new FleetHarness.Setup(1, 4, 1_000, slots, 2, 10_000,
        SimulatorOptions.defaults().withFirstTokenDelayMs(500).withTokensPerSecond(2).withDefaultCompletionTokens(5),
        List.of(), 5, recordLockMs);
  }

  static int run(Options o) throws Exception {
    long t0 = System.nanoTime();
    try (FleetHarness h = new FleetHarness(setup(o.slots(), o.recordLockMs()), o.runDir())) {
      h.startDispatcher();
      h.awaitActiveDispatcher(Duration.ofSeconds(120));
      List<String> rows = new ArrayList<>();
      rows.add("| workers | slots each | ideal jobs/s | jobs/s (median) | × 1 worker | jobs | lost | dup | load avg |");
      rows.add("|---|---|---|---|---|---|---|---|---|");
      double one = 0;
      boolean clean = true;
      for (int n : o.workers()) {
        h.startWorkers(n - h.workers.size());
        String phase = "scale-" + n;
        double ideal = n * o.slots() / ANSWER_SECONDS;
        int backlog = (int) Math.ceil(ideal * (WARMUP_MS / 1000.0 + o.window().toSeconds() + 7));
        h.load.phase(phase);
        h.sim.stats().reset();
        FleetHarness.log("%d workers: backlog of %d jobs (ideal %.1f jobs/s)", n, backlog, ideal);
        h.load.backlog(backlog);
        Report r = Phases.settleAndCheck(h, phase, -1, Duration.ofSeconds((long) (backlog / ideal * 3 + 60)),
            Duration.ofSeconds(1));
        double rate = medianRate(h.tail.replies(phase), o.window());
        Files.writeString(h.runDir.resolve("timeline-" + phase + ".txt"), timeline(h.tail.replies(phase)));
        one = one == 0 ? rate / n : one;
        String row = String.format("| %d | %d | %.1f | %.1f | %.2f | %d | %d | %d | %s |", n, o.slots(), ideal, rate,
            rate / one, r.produced(), r.lost().size(), r.duplicated().size(), FleetHarness.loadAverage()
                .split(" ")[0]);
        rows.add(row);
        clean &= r.clean();
        FleetHarness.log("%s (max streams per key at the upstream %s)", row, h.upstreamConcurrency());
      }
      if (o.joinLeave()) {
        Report r = joinLeave(h, o.slots());
        rows.add("");
        rows.add(Phases.HEADER);
        rows.add(Phases.separator());
        rows.add(Phases.row("workers added, SIGTERMed and SIGKILLed", r));
        clean &= r.clean();
      }
      Files.write(h.runDir.resolve("scale.md"), rows);
      System.out.println();
      rows.forEach(System.out::println);
      FleetHarness.log("scale-out %s in %d s", clean ? "clean" : "FAILED", (System.nanoTime() - t0) / 1_000_000_000);
      return clean ? 0 : 1;
    }
  }

  /** Results per second from the first one, one line per second, for a reader who doubts the median. */
  static String timeline(List<ReplyRecord> replies) {
    long[] times = replies.stream().filter(r -> r.reply() instanceof Result).mapToLong(ReplyRecord::timestampMs)
        .sorted().toArray();
    StringBuilder sb = new StringBuilder();
    if (times.length > 0) {
      int[] counts = new int[(int) ((times[times.length - 1] - times[0]) / 1000) + 1];
      for (long t : times) {
        counts[(int) ((t - times[0]) / 1000)]++;
      }
      for (int i = 0; i < counts.length; i++) {
        sb.append(i).append(' ').append(counts[i]).append('\n');
      }
    }
    return sb.toString();
  }

  /**
   * The median of the completed jobs/s of the 5-s windows between warm-up and the backlog's tail. Windows of 5 s,
   * not 1 s: a lane acquires its next batch only when its whole batch is done, so a worker's results come in bursts
   * of {@code slots / lanes} every answer time, and most 1-s windows of a single worker hold none.
   */
  static double medianRate(List<ReplyRecord> replies, Duration window) {
    long[] times = replies.stream().filter(r -> r.reply() instanceof Result).mapToLong(ReplyRecord::timestampMs)
        .sorted().toArray();
    if (times.length == 0) {
      return 0;
    }
    long from = times[0] + WARMUP_MS;
    long to = Math.min(from + window.toMillis(), times[times.length - 1] - 3_000);
    int windows = (int) ((to - from) / RATE_WINDOW_MS);
    if (windows < 1) {
      return 0;
    }
    int[] counts = new int[windows];
    for (long t : times) {
      if (t >= from && t < from + windows * RATE_WINDOW_MS) {
        counts[(int) ((t - from) / RATE_WINDOW_MS)]++;
      }
    }
    Arrays.sort(counts);
    return (counts[(windows - 1) / 2] + counts[windows / 2]) / 2.0 * 1000.0 / RATE_WINDOW_MS;
  }

  /**
   * Four workers under a steady load of about 60% of their slots for 60 s: at 10 s two join; at 20 s one is
   * stopped (SIGTERM: it drains); at 30 s one is killed (SIGKILL); at 40 s one joins; at 50 s one is killed and
   * one stopped.
   */
  private static Report joinLeave(FleetHarness h, int slots) throws Exception {
    h.startWorkers(Math.max(0, 4 - h.workers.size()));
    while (h.workers.size() > 4) {
      h.workers.remove(0).terminate(Duration.ofSeconds(30));
    }
    String phase = "join-leave";
    h.load.phase(phase);
    h.sim.stats().reset();
    h.load.rate(0.6 * 4 * slots / ANSWER_SECONDS);
    long start = System.currentTimeMillis();
    at(start, 10);
    h.startWorker();
    h.startWorker();
    at(start, 20);
    h.workers.remove(0).terminate(Duration.ofSeconds(30));
    at(start, 30);
    h.workers.remove(0).kill();
    at(start, 40);
    h.startWorker();
    at(start, 50);
    h.workers.remove(0).kill();
    h.workers.remove(0).terminate(Duration.ofSeconds(30));
    at(start, 60);
    h.load.rate(0);
    return Phases.settleAndCheck(h, phase, start + 10_000, Duration.ofSeconds(120), Duration.ofSeconds(3));
  }

  private static void at(long start, int second) throws InterruptedException {
    Thread.sleep(Math.max(0, start + second * 1000L - System.currentTimeMillis()));
  }
}
