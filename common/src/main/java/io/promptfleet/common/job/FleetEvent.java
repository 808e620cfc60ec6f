package io.promptfleet.common.job;

import java.time.Instant;
import java.util.Map;

/**
 * What workers tell the dispatcher on {@code llm.fleet.events}: leases released (with usage and the rate-limit
 * headers seen), key cooldowns, and heartbeats with free slots. One record type with a {@link Type}; fields that
 * do not apply to a type are null.
 *
 * @param type          what happened
 * @param at            when
 * @param workerId      the worker that says it
 * @param leaseId       lease_released: the assignment's lease
 * @param jobId         lease_released: the job
 * @param keyId         lease_released, key_cooldown: the key's configured name (never its secret)
 * @param route         lease_released: the route's name
 * @param outcome       lease_released: succeeded, failed, retry, cancelled, handed_back
 * @param statusCode    lease_released: the provider's HTTP status, when there was one
 * @param errorCode     lease_released: the error code when the attempt did not succeed (see ErrorCodes); the
 *                      dispatcher disables a key on upstream_auth / upstream_quota and cools it down on
 *                      upstream_rate_limited
 * @param usage         lease_released: usage reported by the provider
 * @param retryAfterMs  key_cooldown: how long the provider asked us to wait
 * @param rateLimit     lease_released, key_cooldown: x-ratelimit-* response headers, lower-cased
 * @param timeToFirstTokenMs lease_released: for the breaker's slow-call rate
 * @param slotsTotal    heartbeat: the worker's slots
 * @param slotsFree     heartbeat: free slots
 */
public record FleetEvent(
    Type type,
    Instant at,
    String workerId,
    String leaseId,
    String jobId,
    String keyId,
    String route,
    String outcome,
    Integer statusCode,
    String errorCode,
    Usage usage,
    Long retryAfterMs,
    Map<String, String> rateLimit,
    Long timeToFirstTokenMs,
    Integer slotsTotal,
    Integer slotsFree) {

  /** The kinds of fleet event. */
  public enum Type {
    LEASE_RELEASED, KEY_COOLDOWN, WORKER_HEARTBEAT;

    @com.fasterxml.jackson.annotation.JsonValue
    public String wireName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }
}
