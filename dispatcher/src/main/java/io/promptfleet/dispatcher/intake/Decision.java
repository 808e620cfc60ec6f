package io.promptfleet.dispatcher.intake;

import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Result;
import java.time.Instant;

/** What to do with one record from a job topic (or, {@link Archived}, from the assignments' dead-letter queue). */
public sealed interface Decision {

  /**
   * A valid job to assign to a key of its route.
   *
   * @param job        the job, reply_to resolved
   * @param attempt    the attempt to run
   * @param routes     the fallback chain
   * @param enqueuedAt when the job first entered Kafka
   * @param deadline   the job's effective deadline
   */
  record Dispatch(Job job, int attempt, java.util.List<RouteSettings> routes, Instant enqueuedAt, Instant deadline)
      implements Decision {}

  /** A job that gets one terminal result without running (rejected, expired). */
  record Answer(String replyTo, Result result) implements Decision {}

  /**
   * A record that is not a valid job: the original bytes go to the dead-letter topic with the reason, and where a
   * job_id and an allowed reply_to could be read, a rejected result goes there too.
   */
  record DeadLetter(String reason, Answer answer) implements Decision {}

  /**
   * A valid job whose model's ready queue is full, or whose model has earlier jobs waiting in its spill partition:
   * the record is copied there as it is (key, value, headers, timestamp) and read back when the queue drains
   * ({@code spill.Spill}).
   *
   * @param to the spill partition of its model and lane
   */
  record Spill(org.apache.kafka.common.TopicPartition to) implements Decision {}

  /**
   * A job whose {@code job_id} was admitted within {@code dispatcher.dedupe_window_ms} ({@link JobIdWindow}): no
   * second run, no second result; its offset passes with the round's transaction.
   */
  record Duplicate(String jobId) implements Decision {}

  /**
   * An assignment the workers' share group archived after its delivery limit: the job's one result, and the
   * dispatcher-made {@code lease_released} event that marks it answered (for a dispatcher that takes over).
   */
  record Archived(Answer answer, io.promptfleet.common.job.FleetEvent released) implements Decision {}
}
