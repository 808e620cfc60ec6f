package io.promptfleet.dispatcher.intake;

import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.JobError;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Predicate;
import org.apache.kafka.common.TopicPartition;

/**
 * Everything decided since the last dispatch transaction that is not an assignment: answers (rejected, expired,
 * cancelled, failed), dead letters, and the answers to archived assignments. The next transaction writes them all
 * ({@code transaction.TransactionWriter}) before any new assignment.
 *
 * <p>An entry with a partition answers a job record there: its offset is committed with it, and an aborted
 * transaction loses nothing because the record is read again. An entry without one (a dead-lettered fleet event or
 * cancel, an archived assignment) would not be read again, so the writer keeps it across an abort.
 *
 * <p>Not thread-safe: owned by the dispatcher thread.
 */
public final class Outbox {

  /**
   * One decision waiting for the next transaction.
   *
   * @param tp       the job partition whose record it answers, or null when it answers no job record
   * @param offset   that record's offset (-1 without a partition)
   * @param decision what to write
   * @param source   the record it is about (dead letters copy it), or null for an answer to a queued job
   */
  public record Entry(TopicPartition tp, long offset, Decision decision, Inbound source) {}

  private final List<Entry> entries = new ArrayList<>();

  /** A decision about the job record at {@code tp}/{@code offset}. */
  public void add(TopicPartition tp, long offset, Decision decision, Inbound source) {
    entries.add(new Entry(tp, offset, decision, source));
  }

  /** One terminal result for the job, which will not run (again). */
  public void answer(TopicPartition tp, long offset, Inbound source, Job job, JobStatus status, String code,
      String message, int attempts) {
    entries.add(new Entry(tp, offset, new Decision.Answer(job.replyTo(), Result.terminal(job.jobId(), status,
        new JobError(code, message, false), job.metadata(), attempts)), source));
  }

  /** A fleet event or cancel that cannot be read: the dead-letter topic gets it with the reason. */
  public void deadLetter(Inbound source, String reason) {
    entries.add(new Entry(null, -1, new Decision.DeadLetter(reason, null), source));
  }

  /** The answer to an assignment the share group archived, read from its dead-letter queue. */
  public void archived(Decision.Archived answer, Inbound source) {
    entries.add(new Entry(null, -1, answer, source));
  }

  /** Every entry, oldest first (live view). */
  public List<Entry> entries() {
    return entries;
  }

  public boolean isEmpty() {
    return entries.isEmpty();
  }

  public int size() {
    return entries.size();
  }

  /** Puts entries back (they were taken by a transaction that aborted). */
  public void addAll(Collection<Entry> kept) {
    entries.addAll(kept);
  }

  public void removeIf(Predicate<Entry> drop) {
    entries.removeIf(drop);
  }

  public void clear() {
    entries.clear();
  }
}
