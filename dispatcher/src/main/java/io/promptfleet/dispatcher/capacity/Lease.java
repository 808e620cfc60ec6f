package io.promptfleet.dispatcher.capacity;

import java.time.Instant;

/**
 * One in-flight assignment holding one unit of a key's concurrency.
 *
 * @param leaseId   the assignment's lease id
 * @param keyId     the key it holds
 * @param jobId     the job, for logs
 * @param expiresAt when the lease is reclaimed if no worker released it (the job's deadline plus grace)
 */
public record Lease(String leaseId, String keyId, String jobId, Instant expiresAt) {}
