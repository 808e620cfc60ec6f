package io.promptfleet.dispatcher.intake;

import io.promptfleet.common.codec.JobParser;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.ModelSettings;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.JobError;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.RetryRequest;
import io.promptfleet.dispatcher.capacity.TokenLimits;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Validates job and retry records against the configuration, tenants included ({@link Tenancy}: the tenant
 * established from the job topic, its reply topics, its routes). Pure: no Kafka, no clock of its own (the caller passes
 * {@code now}). Thread-safe.
 */
public final class JobIntake {
  private final FleetConfig config;
  private final JobParser parser;
  private final Tenancy tenancy;

  public JobIntake(FleetConfig config) {
    this.config = config;
    this.tenancy = new Tenancy(config);
    this.parser = new JobParser(config.dispatcher().maxRecordBytes());
  }

  /** A fresh job from a shared priority topic (or from anywhere, without tenants configured). */
  public Decision ofJob(byte[] value, Instant recordTime, Instant now) {
    return ofJob(null, value, recordTime, now);
  }

  /**
   * A fresh job read from the priority topic {@code topic}: its tenant is the one whose topic it is
   * ({@link Tenancy}), and its reply topic must be one that tenant (or, on a shared topic, no tenant) may use.
   */
  public Decision ofJob(String topic, byte[] value, Instant recordTime, Instant now) {
    String tenant = tenancy.tenantOfTopic(topic);
    JobParser.Parsed parsed = parser.parse(value);
    if (parsed instanceof JobParser.Rejection r) {
      String replyTo = r.replyTo() == null ? tenancy.defaultReplyTo(tenant) : r.replyTo();
      Decision.Answer answer = null;
      if (r.jobId() != null && tenancy.replyAllowed(tenant, replyTo)) {
        answer = new Decision.Answer(replyTo, Result.terminal(r.jobId(), JobStatus.REJECTED,
            new JobError(r.code(), r.reason(), false), r.metadata(), 0));
      }
      return new Decision.DeadLetter(r.reason(), answer);
    }
    Job job = ((JobParser.Accepted) parsed).job();
    if (!tenancy.enabled()) {
      tenant = job.tenant(); // as before tenants existed: the job's field selects its dedicated keys
    }
    String replyTo = job.replyTo() == null ? tenancy.defaultReplyTo(tenant) : job.replyTo();
    String notAllowed = tenancy.whyReplyNotAllowed(tenant, replyTo);
    if (notAllowed != null) {
      // No result can go anywhere this job may write to; never into another tenant's topic.
      return new Decision.DeadLetter(notAllowed, null);
    }
    job = job.withReplyTo(replyTo);
    Tenancy.Refusal refusal = tenancy.refusal(tenant, job.tenant());
    if (refusal != null) {
      return reject(job, refusal.code(), refusal.message());
    }
    if (tenancy.enabled()) {
      job = job.withTenant(tenant);
    }
    Optional<ModelSettings> model = config.model(job.model());
    if (model.isEmpty()) {
      return reject(job, ErrorCodes.UNKNOWN_MODEL, "unknown model " + job.model() + "; known models: "
          + new java.util.TreeSet<>(config.models().keySet()));
    }
    List<RouteSettings> routes = tenancy.routesFor(job.tenant(), model.get().routes());
    if (routes.isEmpty()) {
      return reject(job, ErrorCodes.NO_KEY, noOwnKey(job));
    }
    RouteSettings first = routes.get(0);
    if (TokenLimits.exceedsCap(job, first)) {
      return reject(job, ErrorCodes.MAX_TOKENS_TOO_LARGE, TokenLimits.field(job) + " " + job.maxTokens()
          + " exceeds the cap of " + first.maxTokensCap() + " for model " + job.model());
    }
    Instant deadline = job.effectiveDeadline(recordTime);
    if (deadline == null) {
      deadline = recordTime.plusMillis(config.dispatcher().defaultJobTtlMs());
    }
    if (!now.isBefore(deadline)) {
      return new Decision.Answer(replyTo, Result.terminal(job.jobId(), JobStatus.EXPIRED,
          new JobError(ErrorCodes.DEADLINE_EXCEEDED, "the job's deadline " + deadline + " passed before it ran",
              false), job.metadata(), 0));
    }
    return new Decision.Dispatch(job, 1, routes, recordTime, deadline);
  }

  /** A job coming back for another attempt. */
  public Decision ofRetry(byte[] value, Instant now) {
    RetryRequest retry;
    try {
      retry = Json.read(value, RetryRequest.class);
    } catch (RuntimeException e) {
      return new Decision.DeadLetter("unreadable retry record: " + e.getMessage(), null);
    }
    var a = retry.assignment();
    if (a == null || a.job() == null) {
      return new Decision.DeadLetter("retry record without its assignment", null);
    }
    Job job = a.job();
    if (a.deadline() != null && !now.isBefore(a.deadline())) {
      return new Decision.Answer(a.replyTo(), Result.terminal(job.jobId(), JobStatus.EXPIRED,
          new JobError(ErrorCodes.DEADLINE_EXCEEDED, "the job's deadline passed after " + a.attempt()
              + " attempt(s); last error: " + (retry.reason() == null ? "unknown" : retry.reason().message()),
              false), job.metadata(), a.attempt()));
    }
    Optional<ModelSettings> model = config.model(job.model());
    if (model.isEmpty()) {
      return reject(job, ErrorCodes.UNKNOWN_MODEL, "model " + job.model() + " is no longer configured");
    }
    List<RouteSettings> routes = tenancy.routesFor(job.tenant(), model.get().routes());
    if (routes.isEmpty()) {
      return reject(job, ErrorCodes.NO_KEY, noOwnKey(job));
    }
    return new Decision.Dispatch(job, retry.nextAttempt(), routes, a.enqueuedAt(), a.deadline());
  }

  private static String noOwnKey(Job job) {
    return "no key serves model " + job.model() + " for tenant " + job.tenant() + ": tenants." + job.tenant()
        + ".shared_keys is false and no route of the model has a key of the tenant's own";
  }


  private static Decision reject(Job job, String code, String message) {
    return new Decision.Answer(job.replyTo(), Result.terminal(job.jobId(), JobStatus.REJECTED,
        new JobError(code, message, false), job.metadata(), 0));
  }
}
