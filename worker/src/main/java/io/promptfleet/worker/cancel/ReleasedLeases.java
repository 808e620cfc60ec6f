package io.promptfleet.worker.cancel;

import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.FleetEventGist;
import io.promptfleet.common.job.LeaseOutcome;
import java.util.function.LongSupplier;

/**
 * The leases released lately with an outcome (not handed back), read from the fleet events by a {@link TopicWatcher}:
 * an assignment of such a lease delivered again is not run again. A share partition's new leader (after a broker
 * failover) delivers again, with delivery count 1, assignments whose ACCEPT the old leader never wrote although their
 * worker answered them and released their lease (BrokerFailoverIT); the lanes' answered check covers the
 * redeliveries counted as such. The worker adds its own releases at once ({@link #releasedHere}). Bounded by count
 * and age ({@link RecentIds}). Thread-safe.
 */
public final class ReleasedLeases {

  private final RecentIds released;
  private final LongSupplier clockMs;

  public ReleasedLeases(int maxEntries, long ttlMillis, LongSupplier clockMs) {
    this.released = new RecentIds(maxEntries, ttlMillis);
    this.clockMs = clockMs;
  }

  /** One fleet event (the watcher's thread); only {@code lease_released} events with an outcome count. */
  public void accept(FleetEventGist e) {
    if (e.type() == FleetEvent.Type.LEASE_RELEASED && e.leaseId() != null
        && e.outcome() != LeaseOutcome.HANDED_BACK) {
      released.add(e.leaseId(), clockMs.getAsLong());
    }
  }

  /**
   * This worker released {@code leaseId} with an outcome: its terminal record is written. Remembered at once, before
   * the assignment's ACCEPT, so a delivery of it that comes back to this worker (a share partition's new leader
   * redelivers what the dead one never saw accepted) is not run again even before the event is read back.
   */
  public void releasedHere(String leaseId) {
    released.add(leaseId, clockMs.getAsLong());
  }

  /** True if {@code leaseId} was released lately. */
  public boolean contains(String leaseId) {
    return released.contains(leaseId, clockMs.getAsLong());
  }
}
