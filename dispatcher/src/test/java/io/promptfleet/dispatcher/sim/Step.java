package io.promptfleet.dispatcher.sim;

import io.promptfleet.common.job.Priority;
import java.util.List;

/**
 * One step of a simulated run: something happens in the fleet (jobs arrive, a worker ends an attempt, a cancel, the
 * clock moves, an unreadable record, the active dispatcher goes), or the dispatcher plays one {@link Round} as its
 * loop owner does. Every invariant is checked after every step. Steps name what they act on by a number
 * ({@code pick}) taken modulo what exists at that moment (the running assignments, the jobs waiting), so a step
 * stays meaningful when shrinking removes the steps before it. Immutable.
 */
sealed interface Step {

  /** Producers write one to four jobs. */
  record Arrive(List<JobSpec> jobs) implements Step {}

  /**
   * One job as a producer writes it.
   *
   * @param maxTokens  the completion limit, in the field {@code limit} names (none: the route's default)
   * @param deadlineMs for {@link Deadline#TTL} the ttl_ms, for {@link Deadline#ABSOLUTE} the deadline from now
   * @param words      prompt length
   * @param forbidden  carries {@code api_key}: dead-lettered, and rejected on its reply topic
   */
  record JobSpec(Priority priority, String model, String tenant, Limit limit, int maxTokens, Deadline deadline,
      long deadlineMs, Reply reply, int words, boolean forbidden) {}

  /** Which completion-limit field a job sets. */
  enum Limit { NONE, MAX_TOKENS, MAX_COMPLETION_TOKENS }

  /** How a job sets its deadline (none: the configured default_job_ttl_ms). */
  enum Deadline { NONE, TTL, ABSOLUTE }

  /**
   * Where a job wants its answer: the default reply topic, a topic created a while after the run starts (a job
   * written before it exists is dead-lettered, one written after waits for a fresh topic listing), or a topic that
   * never exists (dead-lettered).
   */
  enum Reply { DEFAULT, LATE_TOPIC, MISSING_TOPIC }

  /** A worker ends (or gives back) one running assignment; {@code percent} scales usage and retry-after. */
  record Work(int pick, Outcome outcome, int percent) implements Step {}

  /** How a worker's attempt ends, and what it writes (terminal record first, then its lease_released event). */
  enum Outcome {
    /** succeeded result, released succeeded with usage. */
    SUCCEEDED,
    /** failed result (the provider rejected the request), released failed. */
    FAILED,
    /** a retry request (not_before now) on the retry topic, released retry with a 503. */
    RETRY_5XX,
    /** a retry request (not_before = retry-after) on the retry topic, released retry with a 429 and retry-after. */
    RETRY_429,
    /** a retry request, released retry with 401 upstream_auth: the key is disabled. */
    AUTH,
    /** a retry request, released retry with 429 upstream_quota: the key is disabled. */
    QUOTA,
    /** a cancelled result if a cancel names the job (else as SUCCEEDED), released cancelled. */
    CANCELLED,
    /** released handed_back and delivered again by the share group (archived at the delivery limit). */
    HANDED_BACK,
    /** the worker dies: no record; delivered again by the share group (archived at the delivery limit). */
    WORKER_CRASH,
    /** a poison pill: every worker that takes it dies, until the share group archives it at the delivery limit. */
    POISON,
    /** succeeded result, but the lease_released event is lost: the lease expires at deadline + grace. */
    RELEASE_LOST
  }

  /** A cancel on llm.cancels for a job that waits (in Kafka or the queues), runs, or does not exist. */
  record Cancel(Target target, int pick) implements Step {}

  /** What a cancel names. */
  enum Target { WAITING, IN_FLIGHT, UNKNOWN }

  /** The clock moves on. */
  record Tick(long ms) implements Step {}

  /**
   * One dispatcher round (poll, activate if needed, feedback, jobs, settle, write, commit), its transaction failing
   * as {@code failure} says: at send number {@code atSend} (at the commit when the round sends fewer), at the commit,
   * or the dispatcher dies before it commits (fenced: a fresh instance takes over at the next round).
   */
  record Round(Failure failure, int atSend) implements Step {}

  /** How a round's transaction fails, if it does. */
  enum Failure { NONE, SEND, COMMIT, CRASH_BEFORE_COMMIT }

  /**
   * The active dispatcher goes; the next round activates a fresh instance ({@code sameInstance} false: the old one
   * died) or the same one after it stood by (it lost its partitions and got them back).
   */
  record Takeover(boolean sameInstance) implements Step {}

  /** A record that cannot be read arrives: on a job topic, the fleet events or the cancels. */
  record Garbage(Where where) implements Step {}

  /** Where a garbage record arrives. */
  enum Where { JOB, FLEET_EVENT, CANCEL }
}
