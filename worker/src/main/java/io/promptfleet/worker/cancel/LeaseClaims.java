package io.promptfleet.worker.cancel;

import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.FleetEventGist;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Which leases other workers are running, from their {@code lease_started} events, and whether those workers are
 * alive, from the time of their newest event of any kind (heartbeats every few seconds). A share partition's new
 * leader (after a broker failover) delivers again, with delivery count 1, assignments another worker is still
 * streaming: neither run has ended, so no release says anything yet (the fault suite saw two workers answer one
 * lease). A worker that gets a lease another live worker runs holds it until that run ends or that worker is
 * gone ({@link #runningElsewhere}).
 *
 * <p>A claim ends with the lease's release of any outcome (handed back included: the next delivery runs it). A
 * worker counts as gone {@code deadAfterMs} after its newest event (event time, so a minute of events read back at
 * start does not make a dead worker look alive). Bounded: at most {@code maxClaims} claims, the oldest dropped first,
 * each for at most {@code ttlMs} unless its worker is still alive (a long run). Thread-safe (synchronized; touched once per fleet event and once per assignment).
 */
public final class LeaseClaims {
  private record Claim(String workerId, long atMs) {}

  private final int maxClaims;
  private final long ttlMs;
  private final LongSupplier deadAfterMs;
  private final LinkedHashMap<String, Claim> claims = new LinkedHashMap<>();
  private final Map<String, Long> lastSeenMs = new HashMap<>();

  /** @param deadAfterMs how long a worker may be silent and still count as alive (read at each look) */
  public LeaseClaims(int maxClaims, long ttlMs, LongSupplier deadAfterMs) {
    if (maxClaims <= 0 || ttlMs <= 0) {
      throw new IllegalArgumentException("maxClaims and ttlMs must be > 0");
    }
    this.maxClaims = maxClaims;
    this.ttlMs = ttlMs;
    this.deadAfterMs = deadAfterMs;
  }

  /** One fleet event, read from its gist (the watcher's thread). */
  public synchronized void accept(FleetEventGist e) {
    if (e.type() == null) {
      return;
    }
    long at = e.atMs();
    if (lastSeenMs.merge(e.workerId(), at, Math::max) == at && lastSeenMs.size() > maxClaims) {
      lastSeenMs.values().removeIf(seen -> at - seen > ttlMs); // workers long gone (every process has a new id)
    }
    if (e.leaseId() == null) {
      return;
    }
    if (e.type() == FleetEvent.Type.LEASE_STARTED) {
      claims.remove(e.leaseId());
      claims.put(e.leaseId(), new Claim(e.workerId(), at));
      evict(at);
    } else if (e.type() == FleetEvent.Type.LEASE_RELEASED) {
      claims.remove(e.leaseId());
    }
  }

  /**
   * The live worker other than {@code self} that runs {@code leaseId} now, or null: nobody claimed it, its run ended,
   * or its worker has been silent for {@code deadAfterMs}.
   */
  public synchronized String runningElsewhere(String leaseId, String self, long nowMs) {
    evict(nowMs);
    Claim c = claims.get(leaseId);
    if (c == null || c.workerId().equals(self)) {
      return null;
    }
    return alive(c.workerId(), nowMs) ? c.workerId() : null;
  }

  private boolean alive(String workerId, long nowMs) {
    Long seen = lastSeenMs.get(workerId);
    return seen != null && nowMs - seen <= deadAfterMs.getAsLong();
  }

  public synchronized int size() {
    return claims.size();
  }

  private void evict(long nowMs) {
    Iterator<Claim> it = claims.values().iterator();
    while (it.hasNext()) {
      Claim c = it.next();
      // Past its ttl a claim goes only once its worker is silent too: a live worker's run of over ttlMs (a long
      // reasoning call) still holds a second delivery of its lease, and its successors wait for it (issue 13).
      if (claims.size() > maxClaims || nowMs - c.atMs() > ttlMs && !alive(c.workerId(), nowMs)) {
        it.remove();
      } else {
        break;
      }
    }
  }
}
