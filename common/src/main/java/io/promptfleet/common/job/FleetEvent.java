package io.promptfleet.common.job;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What workers tell the dispatcher and each other on {@code llm.fleet.events}: leases started (for the other
 * workers), leases released (with usage and the rate-limit
 * headers seen, from which the dispatcher cools a key down on a 429 or disables it) and heartbeats with free slots
 * and the worker's connections to each provider.
 * One record type with a {@link Type}; fields that do not apply to a type are null. Build them with
 * {@link #leaseStarted}, {@link #leaseReleased} and {@link #heartbeat}. A dispatcher older than {@code lease_started}
 * dead-letters it as unreadable: upgrade dispatchers before workers.
 *
 * @param type          what happened
 * @param at            when
 * @param workerId      the worker that says it
 * @param leaseId       lease_started, lease_released, lease_granted: the assignment's lease
 * @param jobId         lease_started, lease_released: the job
 * @param keyId         lease_started, lease_released: the key's configured name (never its secret)
 * @param route         lease_started, lease_released: the route's name
 * @param outcome       lease_released: how the attempt ended
 * @param statusCode    lease_released: the provider's HTTP status, when there was one
 * @param errorCode     lease_released: the error code when the attempt did not succeed (see ErrorCodes); the
 *                      dispatcher disables a key on upstream_auth / upstream_quota and cools it down on
 *                      upstream_rate_limited
 * @param usage         lease_released: usage reported by the provider
 * @param retryAfterMs  lease_released: how long the provider asked us to wait (retry-after-ms or retry-after)
 * @param rateLimit     lease_released: x-ratelimit-* response headers, lower-cased
 * @param timeToFirstTokenMs lease_released: for the breaker's slow-call rate
 * @param slotsTotal    heartbeat: the worker's slots
 * @param slotsFree     heartbeat: free slots
 * @param connections   heartbeat: the worker's connections to each provider it calls; absent from the heartbeats
 *                      of workers that predate it (readers ignore fields they do not know, so older dispatchers
 *                      read newer heartbeats)
 * @param successorProtocol heartbeat: the revision of the successor rules the worker follows
 *                      ({@link SuccessorProtocol}); null from a worker that does not know successor assignments
 *                      (older readers ignore it)
 */
public record FleetEvent(
    Type type,
    Instant at,
    String workerId,
    @Nullable String leaseId,
    @Nullable String jobId,
    @Nullable String keyId,
    @Nullable String route,
    @Nullable LeaseOutcome outcome,
    @Nullable Integer statusCode,
    @Nullable String errorCode,
    @Nullable Usage usage,
    @Nullable Long retryAfterMs,
    @Nullable Map<String, String> rateLimit,
    @Nullable Long timeToFirstTokenMs,
    @Nullable Integer slotsTotal,
    @Nullable Integer slotsFree,
    @Nullable List<ProviderConnectionStats> connections,
    @Nullable Integer successorProtocol) {

  /** A worker's heartbeat: its slots and how many are free. */
  public static FleetEvent heartbeat(Instant at, String workerId, int slotsTotal, int slotsFree) {
    return heartbeat(at, workerId, slotsTotal, slotsFree, null);
  }

  /**
   * A worker's heartbeat with its connections to each provider (null or empty: none reported), as from a worker that
   * does not know successor assignments.
   */
  public static FleetEvent heartbeat(Instant at, String workerId, int slotsTotal, int slotsFree,
      @Nullable List<ProviderConnectionStats> connections) {
    return heartbeat(at, workerId, slotsTotal, slotsFree, connections, null);
  }

  /**
   * A worker's heartbeat with its connections to each provider (null or empty: none reported) and the revision of
   * the successor rules it follows ({@link SuccessorProtocol}; null: it does not know successors).
   */
  public static FleetEvent heartbeat(Instant at, String workerId, int slotsTotal, int slotsFree,
      @Nullable List<ProviderConnectionStats> connections, @Nullable Integer successorProtocol) {
    return new FleetEvent(Type.WORKER_HEARTBEAT, at, workerId, null, null, null, null, null, null, null, null, null,
        null, null, slotsTotal, slotsFree,
        connections == null || connections.isEmpty() ? null : List.copyOf(connections), successorProtocol);
  }

  /**
   * A worker starts running an assignment: other workers that get the same lease delivered while this one runs it
   * (a share partition's new leader delivers again what the dead one had handed out) hold it instead of running it
   * twice.
   */
  public static FleetEvent leaseStarted(Assignment a, String workerId, Instant at) {
    return new FleetEvent(Type.LEASE_STARTED, at, workerId, a.leaseId(), a.job().jobId(), a.keyId(),
        a.route() == null ? null : a.route().name(), null, null, null, null, null, null, null, null, null, null,
        null);
  }

  /** The release of an assignment's lease, to be completed with what the attempt saw ({@link Released}). */
  public static Released leaseReleased(Assignment a, LeaseOutcome outcome) {
    return leaseReleased(a.leaseId(), a.job().jobId(), a.keyId(), a.route() == null ? null : a.route().name(),
        outcome);
  }

  /** The release of a lease named by its parts (for a lease whose assignment is known only by its ids). */
  public static Released leaseReleased(String leaseId, String jobId, String keyId, @Nullable String route,
      LeaseOutcome outcome) {
    return new Released(leaseId, jobId, keyId, route, outcome);
  }

  /** Builds a {@code lease_released} event; every setting is optional but who and when. Not thread-safe. */
  public static final class Released {
    private final String leaseId;
    private final String jobId;
    private final String keyId;
    private final @Nullable String route;
    private final LeaseOutcome outcome;
    private @Nullable Integer statusCode;
    private @Nullable String errorCode;
    private @Nullable Usage usage;
    private @Nullable Long retryAfterMs;
    private @Nullable Map<String, String> rateLimit;
    private @Nullable Long timeToFirstTokenMs;

    private Released(String leaseId, String jobId, String keyId, @Nullable String route, LeaseOutcome outcome) {
      this.leaseId = leaseId;
      this.jobId = jobId;
      this.keyId = keyId;
      this.route = route;
      this.outcome = outcome;
    }

    /** The provider's HTTP status, when there was a response. */
    public Released status(@Nullable Integer code) {
      this.statusCode = code;
      return this;
    }

    /** The error code ({@link ErrorCodes}) when the attempt did not succeed. */
    public Released error(@Nullable String code) {
      this.errorCode = code;
      return this;
    }

    public Released usage(@Nullable Usage u) {
      this.usage = u;
      return this;
    }

    /** How long the provider asked to wait, and the x-ratelimit-* headers it sent. */
    public Released rateLimit(@Nullable Long retryAfterMs, @Nullable Map<String, String> headers) {
      this.retryAfterMs = retryAfterMs;
      this.rateLimit = headers;
      return this;
    }

    public Released timeToFirstTokenMs(@Nullable Long ms) {
      this.timeToFirstTokenMs = ms;
      return this;
    }

    /** The event, said by {@code workerId} at {@code at}. */
    public FleetEvent by(String workerId, Instant at) {
      return new FleetEvent(Type.LEASE_RELEASED, at, workerId, leaseId, jobId, keyId, route, outcome, statusCode,
          errorCode, usage, retryAfterMs, rateLimit, timeToFirstTokenMs, null, null, null, null);
    }
  }

  /**
   * The dispatcher gives a waiting successor assignment ({@link Assignment#afterLease}) its key slot without its
   * predecessor's release: the predecessor's lease expired, or another lease of the key ended first (issue 13). The
   * worker holding the successor may start its call now.
   */
  public static FleetEvent leaseGranted(String leaseId, String jobId, String keyId, @Nullable String route,
      String dispatcherId, Instant at) {
    return new FleetEvent(Type.LEASE_GRANTED, at, dispatcherId, leaseId, jobId, keyId, route, null, null, null, null,
        null, null, null, null, null, null, null);
  }

  /** The kinds of fleet event. */
  public enum Type {
    /**
     * A worker starts running an assignment (its claim of the lease, for the other workers; the dispatcher ignores
     * it). Carries who, when, the lease and the job.
     */
    LEASE_STARTED,
    LEASE_RELEASED, WORKER_HEARTBEAT,
    /** The dispatcher: a waiting successor assignment may start ({@link #leaseGranted}). */
    LEASE_GRANTED;

    @com.fasterxml.jackson.annotation.JsonValue
    public String wireName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }
}
