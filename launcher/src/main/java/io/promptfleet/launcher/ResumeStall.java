package io.promptfleet.launcher;

import java.time.Instant;
import java.util.Collection;
import java.util.stream.Collectors;

/**
 * When a resumed {@code promptfleet batch} run stops waiting. The lines the interrupted run had sent keep their job
 * ids, and the fleet does not run a job id it admitted within {@code dispatcher.dedupe_window_ms} again (no run, no
 * result): their answers come only from the interrupted run's jobs, read back from the reply topic. When those were
 * answered where this run cannot read them (another {@code --reply-to}, before the read-back's start), nothing will
 * ever come; the producer is not told. So a resumed run that gets no answer at all for {@code --resume-wait} while
 * lines are in flight stops and says why. It cannot tell that case from a fleet that is merely slow (its jobs wait
 * for a key, or take longer than the wait), so the message names both, and what to do in each. Stopping loses nothing: those lines have no output line, and the next run
 * of the same command reads back the answers that came since. A fresh run (new job ids) never stops this way.
 * Times are {@link System#nanoTime()} values.
 */
final class ResumeStall {
  private final boolean resumed;
  private final String wait;
  private final long waitNanos;
  private volatile long lastAnswer;

  /** {@code wait}: as the user wrote it ({@link Durations}). */
  ResumeStall(boolean resumed, String wait, long nowNanos) {
    this.resumed = resumed;
    this.wait = wait;
    this.waitNanos = Durations.parse(wait).toNanos();
    this.lastAnswer = nowNanos;
  }

  /** A line of this run was answered (or failed). */
  void answered(long nowNanos) {
    lastAnswer = nowNanos;
  }

  /** Whether to stop: a resumed run, lines in flight, and no answer for the wait. */
  boolean stalled(long nowNanos, int inFlight) {
    return resumed && inFlight > 0 && nowNanos - lastAnswer >= waitNanos;
  }

  /** What to tell the user when it stopped: the problem, some of the lines, and what to do. */
  String message(Collection<String> unanswered, String replyTo, Instant readFrom) {
    String some = unanswered.stream().sorted().limit(5).collect(Collectors.joining(", "))
        + (unanswered.size() > 5 ? ", ..." : "");
    return "stopped: no answer for " + wait + " with " + unanswered.size()
        + " lines unanswered (" + some + "). This run resumes the output's earlier run, so the lines that run had "
        + "sent keep their job ids, and the fleet does not run a job id again within its dispatcher.dedupe_window_ms "
        + "(1 h by default; counted in promptfleet_dispatcher_duplicates_total): their answers come only from the "
        + "earlier run's jobs. Either the jobs (the earlier run's and this run's) are still waiting or running, on a "
        + "busy or slow fleet (see ./promptfleet status), or the earlier run's were answered where this run cannot "
        + "read them (another --reply-to than " + replyTo + ", or before " + readFrom + "). Nothing is lost: these "
        + "lines have no output line yet, and the jobs sent go on. Re-run the same command later to collect their "
        + "answers (a line whose answer cannot be read runs again once the dedupe window has passed), give "
        + "--resume-wait more time on a slow fleet, or write to a new output file (-o) to run the whole input "
        + "again now.";
  }
}
