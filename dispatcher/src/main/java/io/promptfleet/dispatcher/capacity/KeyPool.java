package io.promptfleet.dispatcher.capacity;

import io.promptfleet.common.config.KeySettings;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The one authority over every key's capacity: concurrent streams (leases), requests and tokens per rate window,
 * cooldowns after 429s, budgets lowered by {@code x-ratelimit-remaining-*} headers, and keys disabled after auth or
 * quota errors.
 *
 * <p>A dispatch takes a {@link Lease}: one unit of concurrency, one request and a token reservation (prompt
 * estimate plus max_tokens) at that instant. A release gives the concurrency back and corrects the reservation to
 * the usage the provider reported; requests and tokens stay counted until they leave the window. A key is
 * offered only when all of its budgets admit the whole reservation, so no dispatch takes a key over a limit.
 * {@link #availability} tells the fallback policy whether the keys a job may use are merely busy (it waits) or
 * disabled, cooling down or too small for it (it may move down its chain).
 *
 * <p><b>Successors</b> ({@code dispatcher.successors}, issue 13): while a key's concurrency is all held, a lease whose
 * {@code lease_started} was read ({@link #started}) may be followed by one successor lease
 * ({@link #chooseSuccessor}, {@link #acquire} of a lease with {@link Lease#afterLease}): it counts its request and
 * tokens at once but holds no unit of concurrency while it waits. When its predecessor ends, the successor takes the
 * predecessor's unit (the worker starts it only after the predecessor's call ended, so the key is never over its
 * limit); when an ordinary lease without a successor ends while successors of its key wait, the oldest of them takes
 * that unit and is {@linkplain #drainGrants granted} it (the dispatcher tells its worker with a
 * {@code lease_granted} event), so no successor waits longer behind a long predecessor than a new dispatch would. A
 * successor's request and tokens are counted again at the time it takes its unit (and uncounted at its dispatch),
 * so the windows count its request when the provider sees it. {@link Successors} keeps the links.
 *
 * <p>Not thread-safe: owned by the dispatcher thread. Other threads (metrics, the dashboard) read the immutable
 * status snapshot the dispatcher thread publishes, never this.
 */
public final class KeyPool {
  static final int SLOTS = 20;

  private final Map<String, KeyState> keys = new LinkedHashMap<>();
  private final Map<String, Lease> leases = new LinkedHashMap<>();
  private final Successors successors = new Successors();
  /** Waiting successors given a unit without their predecessor's release: their workers must be told. */
  private final List<Lease> grants = new ArrayList<>();
  private final long windowMs;

  /**
   * @param keys     the configured keys
   * @param windowMs the rate window; requests_per_minute and tokens_per_minute are scaled to it
   */
  public KeyPool(Map<String, KeySettings> keys, long windowMs) {
    this.windowMs = windowMs;
    keys.forEach((name, s) -> this.keys.put(name, new KeyState(s, windowMs)));
  }

  /** Requests a key may take per rate window. */
  public long requestsPerWindow(String keyId) {
    return keys.get(keyId).requestLimit;
  }

  /** Tokens a key may take per rate window. */
  public long tokensPerWindow(String keyId) {
    return keys.get(keyId).tokenLimit;
  }

  /** Whether a route's keys can take a job now, and if not, why: the fallback policy waits only while busy. */
  public enum Availability {
    /** A key the tenant may use has room now for one more stream, one more request and the tokens. */
    ROOM,
    /**
     * Merely busy: a key the tenant may use is up and could hold the reservation, but is at its max_concurrency,
     * its requests or tokens per window, or the provider's remaining budget; it frees up by itself.
     */
    BUSY,
    /** Every key the tenant may use that could hold the reservation is disabled or cooling down after a 429. */
    UNAVAILABLE,
    /** The tenant may use none of the keys, or none could ever hold the reservation in one window. */
    UNSERVABLE
  }

  /**
   * The least-utilised key among {@code candidates} that may serve {@code tenant} and has room now for one more
   * stream, one more request and {@code tokens} more tokens, or empty. Utilisation is the largest of the three
   * shares used.
   */
  public Optional<String> choose(List<String> candidates, String tenant, long tokens, long nowMs) {
    return choose(candidates, tenant, tokens, nowMs, null);
  }

  /**
   * As {@link #choose(List, String, long, long)}, but another key than {@code avoid} (a retry's previous key) when
   * one of the keys the tenant may use has room; {@code avoid} itself only when it alone has. The tenant's pool is
   * decided on all of {@code candidates}, so avoiding a tenant's only key never hands it a shared one.
   */
  public Optional<String> choose(List<String> candidates, String tenant, long tokens, long nowMs, String avoid) {
    return leastUtilised(candidates, tenant, nowMs, avoid, (k, s) -> s.admits(tokens, nowMs));
  }

  /**
   * The least-utilised of the {@code candidates} that may serve {@code tenant} and {@code fit}: another than
   * {@code avoid} when one fits, {@code avoid} itself only when it alone does.
   */
  private Optional<String> leastUtilised(List<String> candidates, String tenant, long nowMs, String avoid,
      java.util.function.BiPredicate<String, KeyState> fit) {
    String best = null;
    double bestUse = Double.MAX_VALUE;
    boolean avoidedHasRoom = false;
    boolean ownPool = tenant != null && hasOwnPool(candidates, tenant);
    for (String k : candidates) {
      KeyState s = keys.get(k);
      if (s == null || !servesTenant(s.settings, tenant, ownPool) || !fit.test(k, s)) {
        continue;
      }
      if (k.equals(avoid)) {
        avoidedHasRoom = true;
        continue;
      }
      double use = s.utilisation(nowMs);
      if (use < bestUse) {
        best = k;
        bestUse = use;
      }
    }
    return Optional.ofNullable(best != null ? best : avoidedHasRoom ? avoid : null);
  }

  /**
   * Whether the keys among {@code candidates} that {@code tenant} may use can take {@code tokens} more now: room,
   * merely busy, unavailable (disabled or cooling down), or unservable. See {@link Availability}.
   */
  public Availability availability(List<String> candidates, String tenant, long tokens, long nowMs) {
    boolean ownPool = tenant != null && hasOwnPool(candidates, tenant);
    boolean busy = false;
    boolean down = false;
    for (String k : candidates) {
      KeyState s = keys.get(k);
      if (s == null || !servesTenant(s.settings, tenant, ownPool) || tokens > s.tokenLimit) {
        continue;
      }
      if (s.admits(tokens, nowMs)) {
        return Availability.ROOM;
      }
      if (s.up(nowMs)) {
        busy = true;
      } else {
        down = true;
      }
    }
    return busy ? Availability.BUSY : down ? Availability.UNAVAILABLE : Availability.UNSERVABLE;
  }

  /** Whether some candidate key of the tenant's pool could ever admit {@code tokens} in one window. */
  public boolean canEverAdmit(List<String> candidates, String tenant, long tokens) {
    boolean ownPool = tenant != null && hasOwnPool(candidates, tenant);
    for (String k : candidates) {
      KeyState s = keys.get(k);
      if (s != null && servesTenant(s.settings, tenant, ownPool) && tokens <= s.tokenLimit) {
        return true;
      }
    }
    return false;
  }

  /** Whether the tenant may use any of the candidates at all. */
  public boolean hasKeyFor(List<String> candidates, String tenant) {
    boolean ownPool = tenant != null && hasOwnPool(candidates, tenant);
    for (String k : candidates) {
      KeyState s = keys.get(k);
      if (s != null && servesTenant(s.settings, tenant, ownPool)) {
        return true;
      }
    }
    return false;
  }

  private boolean hasOwnPool(List<String> candidates, String tenant) {
    for (String k : candidates) {
      KeyState s = keys.get(k);
      if (s != null && tenant.equals(s.settings.tenant())) {
        return true;
      }
    }
    return false;
  }

  /** A tenant with keys of its own uses only those; everybody else uses the keys that name no tenant. */
  private static boolean servesTenant(KeySettings s, String tenant, boolean ownPool) {
    return ownPool ? tenant.equals(s.tenant()) : s.tenant() == null;
  }

  /**
   * Takes one unit of the key's concurrency, one request and the lease's token reservation.
   *
   * @throws IllegalStateException if the key has no room for it (callers {@link #choose} first)
   */
  public void acquire(Lease lease, long nowMs) {
    KeyState s = keys.get(lease.keyId());
    if (s == null) {
      throw new IllegalArgumentException("unknown key " + lease.keyId());
    }
    boolean successor = lease.afterLease() != null;
    if (successor ? !s.admitsSuccessor(lease.reservedTokens(), nowMs) : !s.admits(lease.reservedTokens(), nowMs)) {
      throw new IllegalStateException("key " + lease.keyId() + " has no room for lease " + lease.leaseId());
    }
    if (successor && !lease.afterLease().equals(successors.firstOpen(lease.keyId()))) {
      throw new IllegalStateException("lease " + lease.afterLease() + " cannot take successor " + lease.leaseId());
    }
    if (leases.putIfAbsent(lease.leaseId(), lease) != null) {
      throw new IllegalStateException("lease " + lease.leaseId() + " is held already");
    }
    if (successor) {
      successors.link(lease, lease.afterLease());
    } else {
      s.inFlight++;
    }
    s.count(lease.reservedAtMs(), lease.reservedTokens(), nowMs);
  }

  /**
   * The least-utilised key among {@code candidates} that may serve {@code tenant} and could take a successor now: up,
   * every unit of its concurrency held, its requests and tokens admitting one more, and a started lease without a
   * successor ({@link #predecessorFor}). Empty when none.
   */
  public Optional<String> chooseSuccessor(List<String> candidates, String tenant, long tokens, long nowMs) {
    return leastUtilised(candidates, tenant, nowMs, null,
        (k, s) -> s.admitsSuccessor(tokens, nowMs) && successors.hasOpen(k));
  }

  /** The lease a successor on {@code keyId} would follow now (the one started first), or null. */
  public String predecessorFor(String keyId) {
    return successors.firstOpen(keyId);
  }

  /** A worker started the lease (its {@code lease_started} was read): an ordinary one may now take a successor. */
  public void started(String leaseId) {
    Lease l = leases.get(leaseId);
    if (l != null) {
      successors.started(l);
    }
  }

  /** Whether the lease is a successor still waiting for its predecessor. */
  public boolean isWaiting(String leaseId) {
    return successors.isWaiting(leaseId);
  }

  /** The successor waiting for {@code leaseId}, or null. */
  public String successorOf(String leaseId) {
    return successors.successorOf(leaseId);
  }

  /** Successors of {@code keyId} waiting for their predecessors. */
  public int waitingSuccessors(String keyId) {
    return successors.waiting(keyId);
  }

  /**
   * The waiting successors given a unit of concurrency without their predecessor's release since the last call
   * (their predecessor expired, or another lease of the key ended first): each still held ({@link #stillHeld}) needs
   * a {@code lease_granted} event; one may have ended since (its worker read its predecessor's release, ran it and
   * released it before the grant was written, or an expiry sweep ended it).
   */
  public List<Lease> drainGrants() {
    if (grants.isEmpty()) {
      return List.of();
    }
    List<Lease> out = List.copyOf(grants);
    grants.clear();
    return out;
  }

  /** Whether {@code lease} is held as it is (not ended, not replaced by a later state of it). */
  public boolean stillHeld(Lease lease) {
    return lease.equals(leases.get(lease.leaseId()));
  }

  /**
   * An ordinary lease's unit of concurrency is free ({@code lease} ended): its successor takes it (and is granted it
   * when the lease ended {@code unreleased}: expired); without one, the key's oldest waiting successor does, and is
   * granted it; without either, the key has one more unit free.
   */
  private void unitFreed(Lease lease, KeyState s, long nowMs, boolean unreleased) {
    String next = successors.ordinaryEnded(lease);
    boolean grant = unreleased && next != null; // no release of its predecessor will be read: its worker must be told
    if (next == null) {
      next = successors.oldestWaiting(lease.keyId());
      if (next != null) {
        successors.detach(leases.get(next));
        grant = true;
      }
    }
    if (next == null) {
      s.inFlight--;
      return;
    }
    Lease waiting = leases.get(next);
    Lease promoted = waiting.promoted(nowMs);
    leases.put(next, promoted);
    s.requests.add(waiting.reservedAtMs(), -1, nowMs);
    s.tokens.add(waiting.reservedAtMs(), -waiting.reservedTokens(), nowMs);
    s.requests.add(nowMs, 1, nowMs);
    s.tokens.add(nowMs, waiting.reservedTokens(), nowMs);
    successors.promoted(promoted);
    if (grant) {
      grants.add(promoted);
    }
  }

  /**
   * A takeover: a lease restored with a predecessor ({@link Lease#afterLease}) waits for it again when that
   * predecessor is held as an ordinary lease (each predecessor taking one successor) and the lease was not granted a
   * unit since ({@code granted}: the {@code lease_granted} events read back: such a successor's call may run
   * already). Whether a predecessor is ordinary is decided first, along each chain (a successor that took its own
   * predecessor's unit and then a successor of its own still names its predecessor), whatever the order the leases
   * were restored in. The others were given their unit already, or their predecessor ended while no dispatcher was
   * active: they hold their unit as ordinary leases and are granted it (a worker may be waiting for a release it will
   * never read; one that runs the call already ignores the grant).
   */
  public void relinkSuccessors(java.util.Set<String> granted) {
    Map<String, Boolean> waits = Successors.waitingAfterRebuild(leases, granted);
    for (Lease l : List.copyOf(leases.values())) {
      if (l.afterLease() == null) {
        continue;
      }
      if (waits.get(l.leaseId())) {
        Lease predecessor = leases.get(l.afterLease());
        successors.started(predecessor);
        successors.link(l, predecessor.leaseId());
        keys.get(l.keyId()).inFlight--; // restored as ordinary: it waits, holding no unit
      } else {
        Lease ordinary = l.promoted(l.reservedAtMs());
        leases.put(l.leaseId(), ordinary);
        if (!granted.contains(l.leaseId())) {
          grants.add(ordinary);
        }
      }
    }
  }

  /**
   * Restores a lease read back from Kafka after a restart or failover: it holds concurrency whatever the limits
   * say now (the stream runs), and counts in the rate windows if it was dispatched inside them.
   */
  public void restore(Lease lease, long nowMs) {
    KeyState s = keys.get(lease.keyId());
    if (s == null || leases.putIfAbsent(lease.leaseId(), lease) != null) {
      return;
    }
    s.inFlight++;
    s.count(lease.reservedAtMs(), lease.reservedTokens(), nowMs);
  }

  /** Counts a request that already ended (read back from Kafka) in the key's rate windows. */
  public void restoreUsage(String keyId, long atMs, long tokens, long nowMs) {
    KeyState s = keys.get(keyId);
    if (s != null) {
      s.count(atMs, tokens, nowMs);
    }
  }

  /**
   * Gives a lease back. With {@code actualTokens} the reservation is corrected to the reported usage; unknown
   * leases (released twice, or after expiry) are ignored.
   */
  public Optional<Lease> release(String leaseId, Long actualTokens, long nowMs) {
    Lease l = leases.get(leaseId);
    if (l == null) {
      return Optional.empty();
    }
    KeyState s = keys.get(l.keyId());
    end(l, s, nowMs, false);
    if (actualTokens != null) {
      s.tokens.add(l.reservedAtMs(), actualTokens - l.reservedTokens(), nowMs);
    }
    return Optional.of(l);
  }

  /** Undoes a lease whose assignment was never written (its transaction aborted): nothing reached the provider. */
  public void undo(String leaseId, long nowMs) {
    Lease l = leases.get(leaseId);
    if (l != null) {
      KeyState s = keys.get(l.keyId());
      end(l, s, nowMs, false);
      s.requests.add(l.reservedAtMs(), -1, nowMs);
      s.tokens.add(l.reservedAtMs(), -l.reservedTokens(), nowMs);
    }
  }

  /**
   * Reclaims leases whose workers never released them (a waiting successor's key unit goes to nobody: it held none;
   * an expired predecessor's goes to its successor, which is granted it).
   */
  public List<Lease> expire(Instant now) {
    List<Lease> expired = new ArrayList<>();
    for (Lease l : leases.values()) {
      if (!now.isBefore(l.expiresAt())) {
        expired.add(l);
      }
    }
    long nowMs = now.toEpochMilli();
    for (Lease l : expired) {
      Lease current = leases.get(l.leaseId());
      if (current != null) {
        end(current, keys.get(l.keyId()), nowMs, true);
      }
    }
    return expired;
  }

  /**
   * Ends a held lease ({@code unreleased}: it expired): a waiting successor is unlinked; an ordinary lease's unit is
   * freed ({@link #unitFreed}).
   */
  private void end(Lease l, KeyState s, long nowMs, boolean unreleased) {
    leases.remove(l.leaseId());
    if (successors.isWaiting(l.leaseId())) {
      successors.waitingEnded(l);
    } else {
      unitFreed(l, s, nowMs, unreleased);
    }
  }

  /** After a 429: no new dispatch to the key until {@code untilMs}. */
  public void coolDown(String keyId, long untilMs) {
    KeyState s = keys.get(keyId);
    if (s != null) {
      s.coolUntil = Math.max(s.coolUntil, untilMs);
    }
  }

  /** After an auth, quota or spend-limit error: no dispatch to the key until {@code untilMs}. */
  public void disable(String keyId, long untilMs) {
    KeyState s = keys.get(keyId);
    if (s != null) {
      s.disabledUntil = Math.max(s.disabledUntil, untilMs);
    }
  }

  /**
   * The provider said how many requests and tokens the key has left until its reset ({@code x-ratelimit-*}):
   * dispatch at most that many more until {@code untilMs}. Null values leave that budget alone.
   */
  public void remoteBudget(String keyId, Long requestsLeft, Long tokensLeft, long untilMs) {
    KeyState s = keys.get(keyId);
    if (s == null) {
      return;
    }
    if (requestsLeft != null) {
      s.remoteRequests = Math.max(0, requestsLeft);
      s.remoteRequestsUntil = untilMs;
    }
    if (tokensLeft != null) {
      s.remoteTokens = Math.max(0, tokensLeft);
      s.remoteTokensUntil = untilMs;
    }
  }

  /**
   * Until when (epoch ms) the provider's own budget of the key, as its last rate-limit headers reported, has no
   * request or no token left; 0 when it has some, or the report's reset has passed.
   */
  public long remoteExhaustedUntil(String keyId, long nowMs) {
    KeyState s = keys.get(keyId);
    if (s == null) {
      return 0;
    }
    long until = 0;
    if (s.remoteRequests == 0 && nowMs < s.remoteRequestsUntil) {
      until = s.remoteRequestsUntil;
    }
    if (s.remoteTokens == 0 && nowMs < s.remoteTokensUntil) {
      until = Math.max(until, s.remoteTokensUntil);
    }
    return until;
  }

  public boolean isDisabled(String keyId, long nowMs) {
    KeyState s = keys.get(keyId);
    return s != null && nowMs < s.disabledUntil;
  }

  /** Epoch millis until which the key cools down (0 when it never did). */
  public long cooldownUntil(String keyId) {
    KeyState s = keys.get(keyId);
    return s == null ? 0 : s.coolUntil;
  }

  public boolean isCoolingDown(String keyId, long nowMs) {
    KeyState s = keys.get(keyId);
    return s != null && nowMs < s.coolUntil;
  }

  public int inFlight(String keyId) {
    KeyState s = keys.get(keyId);
    return s == null ? 0 : s.inFlight;
  }

  public long requestsInWindow(String keyId, long nowMs) {
    return keys.get(keyId).requests.sum(nowMs);
  }

  public long tokensInWindow(String keyId, long nowMs) {
    return keys.get(keyId).tokens.sum(nowMs);
  }

  public int totalInFlight() {
    int n = 0;
    for (KeyState s : keys.values()) {
      n += s.inFlight;
    }
    return n;
  }

  public Optional<Lease> lease(String leaseId) {
    return Optional.ofNullable(leases.get(leaseId));
  }

  /** Every lease held, for tests and the rebuild log. */
  public Map<String, Lease> leases() {
    return java.util.Collections.unmodifiableMap(leases);
  }

  /** Forgets every lease and window (this dispatcher lost its partitions; the next owner rebuilds from Kafka). */
  public void clear() {
    leases.clear();
    successors.clear();
    grants.clear();
    Map<String, KeyState> fresh = new HashMap<>();
    keys.forEach((k, s) -> fresh.put(k, new KeyState(s.settings, windowMs)));
    keys.putAll(fresh);
  }

  /**
   * What a key's state is beyond its leases, for a takeover from a snapshot: its rate windows' slots
   * ({@code RateWindow} slot id and count pairs), cooldown, disabled time and the provider's remaining budgets.
   */
  public record KeySnapshot(String key, long[] requests, long[] tokens, long coolUntil, long disabledUntil,
      long remoteRequests, long remoteRequestsUntil, long remoteTokens, long remoteTokensUntil) {}

  /** Every configured key's {@link KeySnapshot} at {@code nowMs}. */
  public List<KeySnapshot> snapshot(long nowMs) {
    List<KeySnapshot> out = new ArrayList<>();
    keys.forEach((k, s) -> out.add(new KeySnapshot(k, s.requests.slots(nowMs), s.tokens.slots(nowMs), s.coolUntil,
        s.disabledUntil, s.remoteRequests, s.remoteRequestsUntil, s.remoteTokens, s.remoteTokensUntil)));
    return out;
  }

  /**
   * A takeover from a snapshot: the key's windows, cooldown and budgets as the predecessor had them (a key no
   * longer configured is skipped). Its leases come back through {@link #restore}, which counts them in the
   * windows again, so they are {@link #uncount}ed first.
   */
  public void restore(KeySnapshot k, long nowMs) {
    KeyState s = keys.get(k.key());
    if (s == null) {
      return;
    }
    s.requests.restore(k.requests(), nowMs);
    s.tokens.restore(k.tokens(), nowMs);
    s.coolUntil = k.coolUntil();
    s.disabledUntil = k.disabledUntil();
    s.remoteRequests = k.remoteRequests();
    s.remoteRequestsUntil = k.remoteRequestsUntil();
    s.remoteTokens = k.remoteTokens();
    s.remoteTokensUntil = k.remoteTokensUntil();
  }

  /**
   * A takeover from a snapshot: a lease of the snapshot holds its key again without being counted a second time
   * in the windows the snapshot restored.
   */
  public void restoreHeld(Lease lease) {
    KeyState s = keys.get(lease.keyId());
    if (s == null || leases.putIfAbsent(lease.leaseId(), lease) != null) {
      return;
    }
    s.inFlight++;
  }

  private static final class KeyState {
    final KeySettings settings;
    final long requestLimit;
    final long tokenLimit;
    final RateWindow requests;
    final RateWindow tokens;
    int inFlight;
    long coolUntil;
    long disabledUntil;
    long remoteRequests;
    long remoteRequestsUntil;
    long remoteTokens;
    long remoteTokensUntil;

    KeyState(KeySettings settings, long windowMs) {
      this.settings = settings;
      this.requestLimit = Math.max(1, settings.requestsPerMinute() * windowMs / 60_000L);
      this.tokenLimit = Math.max(1, settings.tokensPerMinute() * windowMs / 60_000L);
      this.requests = new RateWindow(windowMs, SLOTS);
      this.tokens = new RateWindow(windowMs, SLOTS);
    }

    /** Neither disabled nor cooling down. */
    boolean up(long nowMs) {
      return nowMs >= disabledUntil && nowMs >= coolUntil;
    }

    boolean admits(long reserve, long nowMs) {
      return inFlight < settings.maxConcurrency() && ratesAdmit(reserve, nowMs);
    }

    /** A successor may follow a lease: every unit held, everything else admitting it. */
    boolean admitsSuccessor(long reserve, long nowMs) {
      return inFlight >= settings.maxConcurrency() && ratesAdmit(reserve, nowMs);
    }

    /** Up, and the requests, tokens and the provider's remaining budgets admit one more request of {@code reserve}. */
    private boolean ratesAdmit(long reserve, long nowMs) {
      if (!up(nowMs)) {
        return false;
      }
      if (requests.sum(nowMs) + 1 > requestLimit || tokens.sum(nowMs) + reserve > tokenLimit) {
        return false;
      }
      if (nowMs < remoteRequestsUntil && remoteRequests < 1) {
        return false;
      }
      return !(nowMs < remoteTokensUntil && remoteTokens < reserve);
    }

    void count(long atMs, long reserve, long nowMs) {
      requests.add(atMs, 1, nowMs);
      tokens.add(atMs, reserve, nowMs);
      if (nowMs < remoteRequestsUntil) {
        remoteRequests--;
      }
      if (nowMs < remoteTokensUntil) {
        remoteTokens -= reserve;
      }
    }

    double utilisation(long nowMs) {
      double c = (double) inFlight / settings.maxConcurrency();
      double r = (double) requests.sum(nowMs) / requestLimit;
      double t = (double) tokens.sum(nowMs) / tokenLimit;
      return Math.max(c, Math.max(r, t));
    }
  }
}
