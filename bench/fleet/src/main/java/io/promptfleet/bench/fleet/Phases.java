package io.promptfleet.bench.fleet;

import io.promptfleet.bench.fleet.FleetChecker.JobRecord;
import io.promptfleet.bench.fleet.FleetChecker.Report;
import io.promptfleet.common.job.JobStatus;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the fault suite and the scale-out benchmark share: letting a phase's jobs drain, judging the phase with
 * the {@link FleetChecker} (writing the evidence of a failed one), and the table.
 */
final class Phases {
  private Phases() {}

  /**
   * Waits until every job of {@code phase} on the job topic has a result (or {@code timeout} passes), then reads
   * on for {@code quiet} (a second result could follow the first), and judges the phase.
   */
  static Report settleAndCheck(FleetHarness h, String phase, long faultAtMs, Duration timeout, Duration quiet)
      throws Exception {
    long until = System.nanoTime() + timeout.toNanos();
    h.tail.awaitCaughtUp(Duration.ofSeconds(60));
    while (System.nanoTime() < until) {
      int jobs = h.tail.jobs(phase).size();
      if (jobs > 0 && answered(h, phase) >= jobs) {
        break;
      }
      Thread.sleep(500);
    }
    Thread.sleep(quiet.toMillis());
    if (!h.tail.awaitCaughtUp(Duration.ofSeconds(60))) {
      FleetHarness.log("the checker's reader did not catch up with the topics within 60 s");
    }
    Report r = FleetChecker.check(phase, h.tail.jobs(phase), h.tail.replies(phase), h.tail.deadLetters(),
        h.upstreamConcurrency(), faultAtMs);
    if (!r.clean() || !r.chunkGaps().isEmpty()) {
      evidence(h, r);
    }
    return r;
  }

  private static long answered(FleetHarness h, String phase) {
    return h.tail.replies(phase).stream().filter(r -> r.reply() instanceof io.promptfleet.common.job.Result)
        .map(r -> r.reply().jobId()).distinct().count();
  }

  /** Every record of the first jobs found lost, duplicated or with a chunk gap, into {@code evidence-<phase>.txt}. */
  private static void evidence(FleetHarness h, Report r) throws Exception {
    Set<String> ids = new LinkedHashSet<>();
    r.lost().stream().limit(10).forEach(ids::add);
    r.duplicated().stream().limit(10).forEach(ids::add);
    r.chunkGaps().stream().limit(5).map(g -> g.substring(0, g.indexOf(':'))).forEach(ids::add);
    StringBuilder sb = new StringBuilder("phase " + r.phase() + ": lost " + r.lost() + "\nduplicated "
        + r.duplicated() + "\nchunk gaps " + r.chunkGaps() + "\nover limit " + r.overLimit() + "\n");
    Map<String, List<String>> lines = TopicTail.everyRecord(h.config, ids);
    for (String id : ids) {
      sb.append("\n").append(id).append(":\n");
      lines.getOrDefault(id, List.of()).forEach(l -> sb.append("  ").append(l).append("\n"));
    }
    var file = h.runDir.resolve("evidence-" + r.phase() + ".txt");
    Files.writeString(file, sb.toString());
    FleetHarness.log("evidence of %s in %s", r.phase(), file);
  }

  /** The first and last record timestamps of a phase's jobs. */
  static long[] span(List<JobRecord> jobs) {
    long first = jobs.stream().mapToLong(JobRecord::timestampMs).min().orElse(0);
    long last = jobs.stream().mapToLong(JobRecord::timestampMs).max().orElse(0);
    return new long[] {first, last};
  }

  static final String HEADER = String.format("| %-30s | %-34s | %8s | %7s | %4s | %4s | %4s | %4s | %9s | %9s | %6s "
      + "| %5s |", "fault", "victim", "produced", "results", "lost", "dup", "gaps", "over", "1st res ms",
      "recover s", "failed", "rerun");

  /** One table row: a phase's counts, and how it recovered. */
  static String row(String victim, Report r) {
    int failed = r.statuses().entrySet().stream().filter(e -> e.getKey() != JobStatus.SUCCEEDED)
        .mapToInt(Map.Entry::getValue).sum();
    return String.format("| %-30s | %-34s | %8d | %7d | %4d | %4d | %4d | %4d | %9s | %9s | %6d | %5d |",
        r.phase(), victim, r.produced(), r.results(), r.lost().size(), r.duplicated().size(), r.chunkGaps().size(),
        r.overLimit().size(), r.firstResultAfterFaultMs() < 0 ? "-" : Long.toString(r.firstResultAfterFaultMs()),
        r.recoverMs() < 0 ? "never" : String.format("%.0f", r.recoverMs() / 1000.0), failed, r.laterAttempts());
  }

  static String separator() {
    return HEADER.replaceAll("[^|]", "-");
  }

  static List<String> lines(List<String> rows) {
    List<String> out = new ArrayList<>();
    out.add(HEADER);
    out.add(separator());
    out.addAll(rows);
    return out;
  }
}
