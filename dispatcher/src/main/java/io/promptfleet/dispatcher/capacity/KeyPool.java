package io.promptfleet.dispatcher.capacity;

import io.promptfleet.common.config.KeySettings;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The dispatcher's view of every key's capacity: leases held per key against its {@code max_concurrency}.
 *
 * <p>Not thread-safe: owned by the dispatcher loop thread. Gauges read {@link #inFlight(String)} racily, which is
 * fine for metrics.
 */
public final class KeyPool {
  private final Map<String, KeySettings> keys;
  private final Map<String, Integer> inFlight = new HashMap<>();
  private final Map<String, Lease> leases = new LinkedHashMap<>();

  public KeyPool(Map<String, KeySettings> keys) {
    this.keys = Map.copyOf(keys);
    keys.keySet().forEach(k -> inFlight.put(k, 0));
  }

  /**
   * The least-utilised key among {@code candidates} that has capacity and may serve {@code tenant}, or empty.
   * Utilisation is in-flight divided by max_concurrency.
   */
  public Optional<String> choose(List<String> candidates, String tenant) {
    String best = null;
    double bestUse = Double.MAX_VALUE;
    for (String k : candidates) {
      KeySettings s = keys.get(k);
      if (s == null || (s.tenant() != null && !s.tenant().equals(tenant))) {
        continue;
      }
      int used = inFlight.getOrDefault(k, 0);
      if (used >= s.maxConcurrency()) {
        continue;
      }
      double use = (double) used / s.maxConcurrency();
      if (use < bestUse) {
        best = k;
        bestUse = use;
      }
    }
    return Optional.ofNullable(best);
  }

  /** Takes one unit of the key's concurrency. */
  public void acquire(Lease lease) {
    KeySettings s = keys.get(lease.keyId());
    if (s == null) {
      throw new IllegalArgumentException("unknown key " + lease.keyId());
    }
    int used = inFlight.get(lease.keyId());
    if (used >= s.maxConcurrency()) {
      throw new IllegalStateException("key " + lease.keyId() + " is at its concurrency of " + s.maxConcurrency());
    }
    if (leases.putIfAbsent(lease.leaseId(), lease) != null) {
      throw new IllegalStateException("lease " + lease.leaseId() + " is held already");
    }
    inFlight.put(lease.keyId(), used + 1);
  }

  /** Gives a lease back; unknown leases (released twice, or after expiry) are ignored. */
  public Optional<Lease> release(String leaseId) {
    Lease l = leases.remove(leaseId);
    if (l != null) {
      inFlight.merge(l.keyId(), -1, Integer::sum);
    }
    return Optional.ofNullable(l);
  }

  /** Reclaims leases whose workers never released them. */
  public List<Lease> expire(Instant now) {
    List<Lease> expired = new ArrayList<>();
    for (Iterator<Lease> it = leases.values().iterator(); it.hasNext(); ) {
      Lease l = it.next();
      if (!now.isBefore(l.expiresAt())) {
        it.remove();
        inFlight.merge(l.keyId(), -1, Integer::sum);
        expired.add(l);
      }
    }
    return expired;
  }

  public int inFlight(String keyId) {
    return inFlight.getOrDefault(keyId, 0);
  }

  public int totalInFlight() {
    return leases.size();
  }

  public boolean hasCapacity(List<String> candidates, String tenant) {
    return choose(candidates, tenant).isPresent();
  }
}
