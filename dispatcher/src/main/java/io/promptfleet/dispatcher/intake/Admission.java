package io.promptfleet.dispatcher.intake;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.JobError;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.RetryRequest;
import io.promptfleet.common.logging.LogContext;
import io.promptfleet.dispatcher.capacity.TokenEstimator;
import io.promptfleet.dispatcher.schedule.Backoff;
import io.promptfleet.dispatcher.spill.Spill;
import io.promptfleet.dispatcher.spill.SpillTopics;
import io.promptfleet.dispatcher.schedule.LaneTopics;
import io.promptfleet.dispatcher.schedule.ReadyQueues;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.apache.kafka.common.TopicPartition;

/**
 * Admission: what becomes of each record read from a job topic. It is validated ({@link JobIntake}); a job whose
 * reply topic is not listed yet is parked until a fresh listing says whether it exists; then it is either queued as
 * a {@link Pending} job in its model's ready queue, or answered once through the {@link Outbox}:
 *
 * <ul>
 *   <li>invalid: dead-lettered (with a {@code rejected} result where a job id and allowed reply topic are known);</li>
 *   <li>cancelled before it ran: {@code cancelled};</li>
 *   <li>a retry past {@code dispatcher.retry.max_attempts}: {@code failed}/{@code retries_exhausted};</li>
 *   <li>a retry whose backoff (max of the worker's not_before and full-jitter exponential backoff) ends at or after
 *       its deadline: {@code expired};</li>
 *   <li>a job no route of its chain could ever serve: {@code rejected} with {@code no_key} or
 *       {@code prompt_too_large};</li>
 *   <li>a reply topic proven missing: dead-lettered;</li>
 *   <li>a valid job whose {@code job_id} was admitted within {@code dispatcher.dedupe_window_ms}
 *       ({@link JobIdWindow}): nothing (no second run, no second result), counted and logged.</li>
 * </ul>
 *
 * Queued jobs leave again through {@link #sweep} when their deadline passes or a cancel names them.
 *
 * <p>Not thread-safe: owned by the dispatcher thread. Holds no Kafka client: the reply-topic listing comes through
 * the {@link ReplyTopics} port, the servability check through {@link ServabilityCheck}. While it decides one job,
 * the job id is in the thread's logging context ({@link LogContext}).
 */
public final class Admission {
  private final FleetConfig config;
  private final JobIntake intake;
  private final LaneTopics lanes;
  private final ReadyQueues<Pending> queues;
  private final Outbox outbox;
  private final CancelledJobs cancelled;
  private final Backoff backoff;
  private final TokenEstimator tokens;
  private final ServabilityCheck servability;
  private final JobIdWindow ids;
  /** Job records whose reply topic was not listed yet, waiting for a fresh listing. */
  private final List<Parked> parked = new ArrayList<>();
  private ReplyTopics replyTopics;
  private Spill spill;
  private Spill.Positions positions = tp -> -1;
  private BatchDiversion batches = (job, nowMs) -> false;

  /** A job record waiting for a topic listing that started after it was read. */
  private record Parked(Inbound r, TopicPartition tp, Lane lane, Decision d, String replyTo, long ticket,
      boolean fromSpill) {}

  public Admission(FleetConfig config, JobIntake intake, LaneTopics lanes, ReadyQueues<Pending> queues,
      Outbox outbox, CancelledJobs cancelled, Backoff backoff, TokenEstimator tokens,
      ServabilityCheck servability) {
    this(config, intake, lanes, queues, outbox, cancelled, backoff, tokens, servability, new JobIdWindow(0));
  }

  /** With the window of job ids admitted lately ({@link JobIdWindow}): a job produced twice runs once. */
  public Admission(FleetConfig config, JobIntake intake, LaneTopics lanes, ReadyQueues<Pending> queues,
      Outbox outbox, CancelledJobs cancelled, Backoff backoff, TokenEstimator tokens,
      ServabilityCheck servability, JobIdWindow ids) {
    this.ids = ids;
    this.config = config;
    this.intake = intake;
    this.lanes = lanes;
    this.queues = queues;
    this.outbox = outbox;
    this.cancelled = cancelled;
    this.backoff = backoff;
    this.tokens = tokens;
    this.servability = servability;
  }

  /**
   * Sends jobs whose model's queue is full to its spill partition, and reads them back from there
   * ({@link Spill}); without it (tests), every job is queued.
   */
  public void spill(Spill spill, Spill.Positions positions) {
    this.spill = spill;
    this.positions = positions;
  }

  /** Fresh jobs that may wait for a provider batch are offered here first (default: none is taken). */
  public void batching(BatchDiversion batches) {
    this.batches = batches;
  }

  /** The listing of existing topics for this term as the active dispatcher; null while standing by. */
  public void replyTopics(ReplyTopics topics) {
    this.replyTopics = topics;
  }

  /** A record read from the job topic partition {@code tp} (its offset is open in the offset tracker already). */
  public void offer(Inbound r, TopicPartition tp, long nowMs) {
    SpillTopics.Slot slot = spill == null ? null : spill.slotOf(tp);
    boolean fromSpill = slot != null;
    Lane lane = fromSpill ? slot.lane() : lanes.laneOf(r.topic());
    // a job read back from its spill partition is judged as if read from the topic it was produced to
    String topic = fromSpill ? SpillTopics.sourceTopic(r.headers(), r.topic()) : r.topic();
    Instant now = Instant.ofEpochMilli(nowMs);
    Decision d = lane == Lane.RETRY
        ? intake.ofRetry(r.value(), now)
        : intake.ofJob(topic, r.value(), Instant.ofEpochMilli(r.timestamp()), now);
    String replyTo = replyTopicOf(d);
    if (replyTo != null && !replyTopics.listed(replyTo)) {
      parked.add(new Parked(r, tp, lane, d, replyTo, replyTopics.ticket(), fromSpill));
      return;
    }
    LogContext.put(jobIdOf(d), null);
    try {
      admit(r, tp, lane, d, fromSpill, nowMs);
    } finally {
      LogContext.clear();
    }
  }

  /** The job id a decision answers or dispatches (null: none could be read). */
  private static String jobIdOf(Decision d) {
    if (d instanceof Decision.Dispatch x) {
      return x.job().jobId();
    } else if (d instanceof Decision.Answer x) {
      return x.result().jobId();
    } else if (d instanceof Decision.DeadLetter x && x.answer() != null) {
      return x.answer().result().jobId();
    }
    return null;
  }

  /** The reply topic a decision will write to (null: none). */
  private static String replyTopicOf(Decision d) {
    if (d instanceof Decision.Dispatch x) {
      return x.job().replyTo();
    } else if (d instanceof Decision.Answer x) {
      return x.replyTo();
    } else if (d instanceof Decision.DeadLetter x && x.answer() != null) {
      return x.answer().replyTo();
    }
    return null;
  }

  /** How many records wait for a listing. */
  public int parked() {
    return parked.size();
  }

  /**
   * Parked records whose reply topic a fresh listing has go on; those it proves missing are dead-lettered (no
   * result can be written to a topic that does not exist, and a send to it would stall the dispatcher thread for
   * max.block.ms).
   */
  public void resolveParked(long nowMs) {
    var it = parked.iterator();
    while (it.hasNext()) {
      Parked p = it.next();
      Boolean exists = replyTopics.answer(p.replyTo(), p.ticket());
      if (exists == null) {
        continue;
      }
      it.remove();
      if (exists) {
        LogContext.put(jobIdOf(p.d()), null);
        try {
          admit(p.r(), p.tp(), p.lane(), p.d(), p.fromSpill(), nowMs);
        } finally {
          LogContext.clear();
        }
      } else {
        String reason = "reply_to topic " + p.replyTo() + " does not exist";
        if (p.d() instanceof Decision.DeadLetter dl) {
          reason = dl.reason() + "; " + reason;
        } else if (p.d() instanceof Decision.Answer a && a.result().error() != null) {
          reason = reason + " (the job would have been " + a.result().status().wireName() + ": "
              + a.result().error().message() + ")";
        }
        outbox.add(p.tp(), p.r().offset(), new Decision.DeadLetter(reason, null), p.r());
      }
    }
  }

  private void admit(Inbound r, TopicPartition tp, Lane lane, Decision d, boolean fromSpill, long nowMs) {
    if (!(d instanceof Decision.Dispatch dispatch)) {
      outbox.add(tp, r.offset(), d, r);
      return;
    }
    Job job = dispatch.job();
    int prior = dispatch.attempt() - 1;
    // a fresh job record (not a retry, not its own copy read back from a spill partition) whose id ran lately
    if (lane != Lane.RETRY && !fromSpill && ids.offer(job.tenant(), job.jobId(),
        JobIdWindow.position(r.topic(), r.partition(), r.offset()), nowMs) == JobIdWindow.Verdict.DUPLICATE) {
      outbox.add(tp, r.offset(), new Decision.Duplicate(job.jobId()), r);
      return;
    }
    if (cancelled.contains(job.jobId())) {
      outbox.answer(tp, r.offset(), r, job, JobStatus.CANCELLED, ErrorCodes.CANCELLED, "cancelled before it ran",
          prior);
      return;
    }
    Priority priority = switch (lane) {
      case HIGH -> Priority.HIGH;
      case NORMAL -> Priority.NORMAL;
      case LOW -> Priority.LOW;
      case RETRY -> Priority.NORMAL;
    };
    long readyAt = nowMs;
    JobError lastError = null;
    String lastKey = null;
    if (lane == Lane.RETRY) {
      RetryRequest retry = Json.read(r.value(), RetryRequest.class);
      lastError = retry.reason();
      lastKey = retry.assignment().keyId();
      if (retry.assignment().priority() != null) {
        priority = retry.assignment().priority();
      }
      String last = lastError == null ? "unknown" : lastError.code() + ": " + lastError.message();
      int max = config.dispatcher().retry().maxAttempts();
      if (dispatch.attempt() > max) {
        outbox.answer(tp, r.offset(), r, job, JobStatus.FAILED, ErrorCodes.RETRIES_EXHAUSTED, "gave up after "
            + prior + " attempt(s) (dispatcher.retry.max_attempts = " + max + "); last error: " + last, prior);
        return;
      }
      long due = Math.max(retry.notBefore() == null ? 0 : retry.notBefore().toEpochMilli(),
          // read back from spill: the backoff counts from when the retry was written, not again from now
          (fromSpill ? Math.min(nowMs, r.timestamp()) : nowMs) + backoff.delayMs(dispatch.attempt()));
      if (dispatch.deadline() != null && due >= dispatch.deadline().toEpochMilli()) {
        outbox.answer(tp, r.offset(), r, job, JobStatus.EXPIRED, ErrorCodes.DEADLINE_EXCEEDED, "the next attempt "
            + "could not start before the job's deadline " + dispatch.deadline() + " after " + prior
            + " attempt(s); last error: " + last, prior);
        return;
      }
      readyAt = due;
    }
    String group = config.models().containsKey(job.model()) ? job.model() : "*";
    // Before the prompt estimate: a job that goes to its spill topic is estimated when it is read back.
    if (!fromSpill && spill != null && config.models().containsKey(group)) {
      TopicPartition to = spill.divert(group, lane, queues.size(group, lane), queues.size(), positions);
      if (to != null) {
        outbox.add(tp, r.offset(), new Decision.Spill(to), r);
        return;
      }
    }
    TokenEstimator.Estimate prompt = tokens.estimate(job);
    String problem = servability.whyUnservable(dispatch, prompt);
    if (problem != null) {
      String code = problem.startsWith("no key") ? ErrorCodes.NO_KEY : ErrorCodes.PROMPT_TOO_LARGE;
      outbox.answer(tp, r.offset(), r, job, JobStatus.REJECTED, code, problem, prior);
      return;
    }
    Pending pending = new Pending(tp, r.offset(), lane, group, dispatch, priority, readyAt, prompt, lastError,
        lastKey);
    if (lane != Lane.RETRY && batches.divert(pending, nowMs)) {
      return; // waits for a provider batch; a retry (a job back from a batch included) always runs live
    }
    queues.add(group, lane, pending);
  }

  /** Expired and cancelled jobs leave the ready queues with one result each. */
  public void sweep(long nowMs) {
    for (Pending p : queues.removeIf(p -> isExpired(p, nowMs) || cancelled.contains(p.dispatch().job().jobId()))) {
      Job job = p.dispatch().job();
      int prior = p.dispatch().attempt() - 1;
      boolean cancel = cancelled.contains(job.jobId());
      String msg = cancel ? "cancelled before it ran" : "the job's deadline " + p.dispatch().deadline()
          + " passed while it waited for a key" + (p.lastError() == null ? ""
          : "; last error: " + p.lastError().code() + ": " + p.lastError().message());
      outbox.add(p.tp(), p.offset(), new Decision.Answer(job.replyTo(), Result.terminal(job.jobId(),
          cancel ? JobStatus.CANCELLED : JobStatus.EXPIRED,
          new JobError(cancel ? ErrorCodes.CANCELLED : ErrorCodes.DEADLINE_EXCEEDED, msg, false), job.metadata(),
          prior)), null);
    }
  }

  private static boolean isExpired(Pending p, long nowMs) {
    return p.dispatch().deadline() != null && nowMs >= p.dispatch().deadline().toEpochMilli();
  }

  /** Partitions were revoked: their parked records are dropped (the next owner reads them again). */
  public void revoked(Collection<TopicPartition> partitions) {
    parked.removeIf(p -> partitions.contains(p.tp()));
  }

  /** Standing by or rewound: nothing is parked. */
  public void clear() {
    parked.clear();
  }
}
