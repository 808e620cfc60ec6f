package io.promptfleet.worker.cancel;

import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.FleetEventGist;
import io.promptfleet.common.job.LeaseOutcome;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
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
 * <p><b>The first live claim wins.</b> A lease may be claimed by two workers: two copies of a successor assignment
 * (one from the old leader, one from the new) both wait for the same predecessor and both claim when it ends. Each
 * starts only once it has read its own claim back and no live worker's claim came before it (a key's fleet events
 * share a partition, so every worker reads the claims of a lease in the same order and comes to the same answer).
 * A lease's claims are kept in the order read; {@link #runningElsewhere} names the first whose worker is alive.
 *
 * <p>A lease's release with an outcome ends all its claims; a release {@code handed_back} ends only its worker's (the
 * next delivery runs it; a claim withdrawn before its call started is one too). A worker counts as gone
 * {@code deadAfterMs} after its newest event (event time, so a minute of events read back at start does not make a
 * dead worker look alive). Bounded: at most {@code maxClaims} leases, the oldest dropped first, each for at most
 * {@code ttlMs} unless one of its workers is still alive (a long run), and at most {@link #MAX_PER_LEASE} claims per
 * lease (the oldest dropped). Thread-safe (synchronized; touched once per fleet event and once per assignment).
 */
public final class LeaseClaims {
  /** Claims kept per lease: one normally, two after a share-partition leader change; more is a fault on a fault. */
  static final int MAX_PER_LEASE = 4;

  private record Claim(String workerId, long atMs) {}

  private final int maxClaims;
  private final long ttlMs;
  private final LongSupplier deadAfterMs;
  private final LongSupplier heardWithinMs;
  /** Per lease, its claims in the order read (the first read first); the map in the order leases were claimed. */
  private final LinkedHashMap<String, List<Claim>> claims = new LinkedHashMap<>();
  private final Map<String, Long> lastSeenMs = new HashMap<>();

  /**
   * @param deadAfterMs   how long a worker may be silent and still count as alive (read at each look)
   * @param heardWithinMs how lately a worker must have been heard from for its claim written before a redelivery to
   *                      count (its heartbeats' interval twice and a second: shorter than {@code deadAfterMs})
   */
  public LeaseClaims(int maxClaims, long ttlMs, LongSupplier deadAfterMs, LongSupplier heardWithinMs) {
    if (maxClaims <= 0 || ttlMs <= 0) {
      throw new IllegalArgumentException("maxClaims and ttlMs must be > 0");
    }
    this.maxClaims = maxClaims;
    this.ttlMs = ttlMs;
    this.deadAfterMs = deadAfterMs;
    this.heardWithinMs = heardWithinMs;
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
      List<Claim> of = claims.computeIfAbsent(e.leaseId(), k -> new ArrayList<>(1));
      if (of.stream().noneMatch(c -> c.workerId().equals(e.workerId()))) { // a worker's first claim is its place
        if (of.size() == MAX_PER_LEASE) {
          of.remove(0);
        }
        of.add(new Claim(e.workerId(), at));
      }
      evict(at);
    } else if (e.type() == FleetEvent.Type.LEASE_RELEASED) {
      if (e.outcome() == LeaseOutcome.HANDED_BACK) {
        List<Claim> of = claims.get(e.leaseId());
        if (of != null && of.removeIf(c -> c.workerId().equals(e.workerId())) && of.isEmpty()) {
          claims.remove(e.leaseId());
        }
      } else {
        claims.remove(e.leaseId());
      }
    }
  }

  /**
   * The worker that runs {@code leaseId} now if it is not {@code self}, or null: nobody claimed it, its run ended,
   * every claimer has been silent for {@code deadAfterMs}, or the first live claim is {@code self}'s.
   */
  public String runningElsewhere(String leaseId, String self, long nowMs) {
    return runningElsewhere(leaseId, self, nowMs, Long.MIN_VALUE);
  }

  /**
   * As {@link #runningElsewhere(String, String, long)} for a delivery that counts more than one delivery and came at
   * {@code sinceMs} (event time, less a margin for clocks): its previous holder's lock ended, so a claim written
   * before it is that holder's, which counts only while that worker is heard from within {@code heardWithinMs} (a
   * holder that died stops its heartbeats, and would count as alive for the liveness threshold yet: every redelivery
   * of a killed worker's leases would wait that long; a live holder whose lock was given away while it runs, after a
   * stall past its lock or when a share partition's new leader delivers an acquired record with the count it had,
   * goes on beating, and the delivery waits for its run's end). Claims written since count as usual.
   */
  public synchronized String runningElsewhere(String leaseId, String self, long nowMs, long sinceMs) {
    evict(nowMs);
    List<Claim> of = claims.get(leaseId);
    if (of == null) {
      return null;
    }
    for (Claim c : of) {
      if (c.workerId().equals(self)) {
        return null;
      }
      if (heard(c.workerId(), nowMs, c.atMs() < sinceMs ? heardWithinMs : deadAfterMs)) {
        return c.workerId();
      }
    }
    return null;
  }

  private boolean alive(String workerId, long nowMs) {
    return heard(workerId, nowMs, deadAfterMs);
  }

  private boolean heard(String workerId, long nowMs, LongSupplier withinMs) {
    Long seen = lastSeenMs.get(workerId);
    return seen != null && nowMs - seen <= withinMs.getAsLong();
  }

  public synchronized int size() {
    return claims.size();
  }

  private void evict(long nowMs) {
    Iterator<List<Claim>> it = claims.values().iterator();
    while (it.hasNext()) {
      List<Claim> of = it.next();
      // Past its ttl a claim goes only once its workers are silent too: a live worker's run of over ttlMs (a long
      // reasoning call) still holds a second delivery of its lease, and its successors wait for it (issue 13).
      if (claims.size() > maxClaims
          || nowMs - of.get(0).atMs() > ttlMs && of.stream().noneMatch(c -> alive(c.workerId(), nowMs))) {
        it.remove();
      } else {
        break;
      }
    }
  }
}
