package io.promptfleet.common.job;

/** The error codes a result or dead letter may carry. */
public final class ErrorCodes {
  public static final String INVALID_JOB = "invalid_job";
  public static final String UNKNOWN_MODEL = "unknown_model";
  /**
   * The job's reply_to is not allowed: not in {@code topics.reply_to_allow}, not in its tenant's
   * {@code reply_topics}, or (for a job without a tenant) in some tenant's {@code reply_topics}. No result can be
   * written for it: the record is dead-lettered with this code at the start of the reason, and no other tenant's
   * topic ever gets a record.
   */
  public static final String REPLY_TO_NOT_ALLOWED = "reply_to_not_allowed";
  public static final String MAX_TOKENS_TOO_LARGE = "max_tokens_too_large";
  public static final String PROMPT_TOO_LARGE = "prompt_too_large";
  public static final String DEADLINE_EXCEEDED = "deadline_exceeded";
  public static final String UPSTREAM_ERROR = "upstream_error";
  public static final String UPSTREAM_REJECTED = "upstream_rejected";
  public static final String UPSTREAM_AUTH = "upstream_auth";
  public static final String UPSTREAM_QUOTA = "upstream_quota";
  public static final String UPSTREAM_RATE_LIMITED = "upstream_rate_limited";
  public static final String STREAM_CUT = "stream_cut";
  public static final String STREAM_INVALID = "stream_invalid";
  public static final String TIMEOUT = "timeout";
  public static final String CONNECT_FAILED = "connect_failed";
  /**
   * The worker could not get a connection in time because of its own load (the provider completed other connects of
   * this worker meanwhile, the worker's pool was at its cap, or the host ran out of ports or file descriptors):
   * retried, and neither the route's breaker nor the key is charged for it.
   */
  public static final String CONNECT_OVERLOADED = "connect_overloaded";
  public static final String CANCELLED = "cancelled";
  public static final String RETRIES_EXHAUSTED = "retries_exhausted";
  /**
   * The share group delivered the assignment {@code share.delivery.count.limit} times without an answer (workers
   * crashed, were killed, or could not publish) and archived it; the dispatcher answers the job from the
   * share group's dead-letter queue.
   */
  public static final String DELIVERY_LIMIT = "delivery_limit";
  /**
   * A strict structured output ({@code response_format} {@code json_schema} with {@code strict: true}) that does not
   * validate against its schema, on a route that validates; retried once, then the job fails with it.
   */
  public static final String INVALID_OUTPUT = "invalid_output";
  /** A field of the job that the fleet does not pass to a provider (it would redirect, authenticate or change the
   * transport); the rejection names it. */
  public static final String FIELD_NOT_ALLOWED = "field_not_allowed";
  public static final String NO_KEY = "no_key_configured";
  /**
   * The job asks for something the route's provider protocol cannot express (e.g. {@code n: 3} or logprobs on an
   * Anthropic route); the message names the field. Permanent: the same route never could.
   */
  public static final String UNSUPPORTED_BY_PROVIDER = "unsupported_by_provider";
  /**
   * A job read from one tenant's job topic names another tenant in its {@code tenant} field; the message names
   * both. The fleet establishes a job's tenant from the topic it was produced to, never from the field alone.
   */
  public static final String TENANT_MISMATCH = "tenant_mismatch";
  /**
   * A job on the shared job topics names a tenant: a configured tenant's jobs must come from its own topics (the
   * message names them), and with tenants configured, a job on the shared topics names none.
   */
  public static final String TENANT_NOT_ALLOWED = "tenant_not_allowed";
  /**
   * The job's tenant has not enough of its daily budget left ({@code tenants.NAME.budget}, {@code on_exceeded:
   * reject}); the message names the tenant, the budget and the UTC day.
   */
  public static final String BUDGET_EXCEEDED = "budget_exceeded";
  /**
   * The answer is too large for one reply record (an embeddings job's vectors beyond the worker producer's
   * {@code max.request.size}); the message names both sizes. Permanent: the same job answers the same size again.
   */
  public static final String RESULT_TOO_LARGE = "result_too_large";
  public static final String INTERNAL = "internal_error";

  private ErrorCodes() {}
}
