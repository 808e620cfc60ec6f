package io.promptfleet.common.job;

/** The error codes a result or dead letter may carry. */
public final class ErrorCodes {
  public static final String INVALID_JOB = "invalid_job";
  public static final String UNKNOWN_MODEL = "unknown_model";
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
  public static final String INTERNAL = "internal_error";

  private ErrorCodes() {}
}
