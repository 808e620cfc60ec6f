package io.promptfleet.dispatcher.capacity;

import java.time.Instant;

/**
 * One in-flight assignment holding one unit of a key's concurrency, one request and its token reservation in the
 * key's rate windows.
 *
 * @param leaseId        the assignment's lease id
 * @param keyId          the key it holds
 * @param jobId          the job, for logs
 * @param route          the route's name (provider/model), for the breaker
 * @param expiresAt      when the lease is reclaimed if no worker released it (the job's deadline plus grace)
 * @param reservedTokens prompt estimate plus max_tokens, counted in the key's tokens-per-minute window
 * @param reservedAtMs   when the request and tokens were counted (epoch ms)
 * @param afterLease     a successor's predecessor: the lease whose key slot this one takes over when it ends (its
 *                       assignment's {@code after_lease}); null for an ordinary lease
 */
public record Lease(String leaseId, String keyId, String jobId, String route, Instant expiresAt,
    long reservedTokens, long reservedAtMs, String afterLease) {

  public Lease(String leaseId, String keyId, String jobId, String route, Instant expiresAt, long reservedTokens,
      long reservedAtMs) {
    this(leaseId, keyId, jobId, route, expiresAt, reservedTokens, reservedAtMs, null);
  }

  /**
   * The same lease as an ordinary one counted from {@code atMs}: a successor that took a unit (its predecessor's, or a
   * granted one; at a takeover its own reservation time).
   */
  Lease promoted(long atMs) {
    return new Lease(leaseId, keyId, jobId, route, expiresAt, reservedTokens, atMs, null);
  }
}
