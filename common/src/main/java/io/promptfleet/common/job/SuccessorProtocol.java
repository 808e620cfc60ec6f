package io.promptfleet.common.job;

/**
 * Which revision of the successor rules ({@link Assignment#afterLease}, issue 13) a worker follows: what it reports
 * in its heartbeat's {@code successor_protocol} ({@link FleetEvent#successorProtocol}), and what the dispatcher, with
 * {@code dispatcher.successors: auto}, asks of every live worker before it writes successor assignments. A worker
 * whose heartbeat has no {@code successor_protocol} does not know successors: it starts one at once, over its key's
 * limit.
 *
 * <p>The revisions:
 * <ol>
 *   <li>holds a successor until its predecessor's call ended (its own call, the predecessor's
 *       {@code lease_released} or the successor's {@code lease_granted}); the first build of successors (never
 *       reported in a heartbeat: workers that report nothing are treated as not knowing successors). Unsafe
 *       under a share-partition leader change: the new leader delivers the successor again, and two workers holding
 *       copies both start it when the predecessor ends (docs/DESIGN.md, "Key capacity in transit");</li>
 *   <li>also claims: a worker writes a successor's {@code lease_started} when it takes it and starts it only once
 *       its predecessor ended and it has read that claim back as the first live claim of the lease (all of a key's
 *       fleet events share a partition, so the first claim wins everywhere).</li>
 * </ol>
 */
public final class SuccessorProtocol {
  /** The revision this build's worker follows, and the least the dispatcher's {@code auto} accepts. */
  public static final int CURRENT = 2;

  private SuccessorProtocol() {}
}
