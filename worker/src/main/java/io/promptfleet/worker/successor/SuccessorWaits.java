package io.promptfleet.worker.successor;

import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.FleetEventGist;
import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.worker.cancel.RecentIds;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * Successor assignments ({@code Assignment.afterLease}, issue 13) held until the lease whose key slot they take over
 * (their predecessor) has ended its call: a successor's call never starts while its predecessor's may still run.
 * A successor leaves the wait to start when
 * <ul>
 *   <li>its predecessor's call, run by this worker, ended with an outcome ({@link #ended}: the local hand-over);</li>
 *   <li>its predecessor's {@code lease_released} with an outcome (not {@code handed_back}) was read, or was known
 *   when it came;</li>
 *   <li>its own {@code lease_granted} was read ({@link #accept}; grants read before it came are remembered);</li>
 *   <li>its job's deadline passed, or its job was cancelled: its call then answers without a request;</li>
 * </ul>
 * and leaves to be handed back to the share group ({@link Exit#HANDED_BACK}) when its predecessor runs nowhere known
 * (not here, and no live worker claims it) for longer than {@code unrunLimitMs} without its end being seen (its
 * worker died, or it was handed back and waits to be acquired: successors waiting for it could otherwise hold every
 * lane of the fleet so that it is never acquired again), and when the worker drains ({@link #close}). A successor
 * whose share lock is lost is dropped ({@link #drop}).
 *
 * <p><b>Claimed when it comes, started once the claim was read back.</b> The worker writes a successor's claim (its
 * {@code lease_started}) as soon as {@link #admit} holds it, and a successor leaves to {@link Step#START start} only
 * once that claim was read back ({@link #accept}) and something above lets it leave, whichever comes last; the
 * worker then runs it only if no live worker's claim of the lease came before its own ({@code LeaseClaims}). After a
 * share partition's leader changes, the new leader delivers again, with a delivery count of 1, records the old one
 * had handed out, so two workers may hold copies of one successor that both wait for the same predecessor and would
 * both start when it ends (the fault suite saw a key at 14 calls for 12); a key's fleet events share a partition, so
 * every worker reads the two claims in the same order and exactly one runs. Claiming on arrival rather than on
 * wake-up keeps the claim's produce and read-back out of the key's idle time between two calls (a successor waits
 * about a call's length; its claim is back within a hop). A claim not read back within {@code unrunLimitMs} (the
 * watcher is that far behind, or the write failed) hands its successor back; every successor handed back or dropped
 * after it was admitted is {@link Step#WITHDRAW withdrawn} (the worker writes a {@code handed_back} release of its
 * lease, which ends only its own claim), so a copy elsewhere does not hold for a claim nobody will run.
 *
 * <p><b>Late copies.</b> The same wait holds an ordinary assignment (no predecessor: {@code afterLease} null) whose
 * first delivery came long after it was dispatched: it may be a share partition's new leader's copy of one another
 * worker ran or runs, and this worker's fleet-event watcher may be behind that run's claim and release (the events
 * partition's leader may have failed over too; {@code dispatcher.it.BrokerFailoverIT} saw such copies answered twice).
 * Such a copy is woken when it comes ({@link Exit#LATE_COPY}) and starts once its claim was read back: by then the
 * watcher has read every earlier event of its key's partition, the other run's claim and release included.
 *
 * <p>No lost wake-up: the worker records what it learns ({@code ReleasedLeases}, its running streams) before it
 * tells this class, and {@link #admit} checks and registers under the same lock as the wake-ups, so a release read
 * between the check and the registration is found by one or the other. Pure logic (no Kafka client, no event loop):
 * the worker acts on what the methods return. Thread-safe (synchronized; touched once per successor, per fleet event,
 * per cancel and per tick).
 *
 * @param <T> the worker's handle of a held assignment (its record and lane)
 */
public final class SuccessorWaits<T> {

  /** Why a successor leaves the wait: the metric's {@code start} tag. */
  public enum Exit {
    /** Its predecessor ran on this worker and its call ended with an outcome. */
    LOCAL,
    /** Its predecessor's {@code lease_released} with an outcome was read. */
    RELEASED,
    /** Its own {@code lease_granted} was read. */
    GRANTED,
    /** Its job's deadline passed: the call answers {@code deadline_exceeded} without a request. */
    DEADLINE,
    /** Its job was cancelled: the call answers {@code cancelled} without a request. */
    CANCELLED,
    /** Not started: given back to the share group (predecessor unknown for too long, or the worker drains). */
    HANDED_BACK,
    /**
     * Not a successor: a late copy (an assignment with no predecessor whose first delivery came long after it was
     * dispatched, see {@link SuccessorWaits}) that waited only for its claim to be read back.
     */
    LATE_COPY;

    public String tag() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * One successor assignment.
   *
   * @param leaseId    its lease
   * @param afterLease its predecessor's lease, null for a late copy (it waits only for its claim)
   * @param jobId      its job
   * @param deadlineMs its job's deadline in epoch ms, {@link Long#MAX_VALUE} for none
   * @param held       the worker's handle
   */
  public record Successor<T>(String leaseId, String afterLease, String jobId, long deadlineMs, T held) {}

  /** What the worker does next with a successor that leaves. */
  public enum Step {
    /** Run it ({@code why} says what let it leave; its claim was read back) unless a live claim came first. */
    START,
    /** Give it back to the share group ({@code why} is {@link Exit#HANDED_BACK}); it was never admitted. */
    HAND_BACK,
    /** Give it back and withdraw its claim (a {@code handed_back} release): it was admitted, so claimed. */
    WITHDRAW
  }

  /** A successor that leaves, its next step, and why. */
  public record Leaving<T>(Successor<T> successor, Exit why, Step step) {}

  /** A held successor; identity matters (one lease may be held twice: a share partition's new leader's copy). */
  private static final class Entry<T> {
    final Successor<T> successor;
    /** Since when its predecessor runs nowhere known, -1 while it runs. */
    long unrunSinceMs = -1;
    /** When it was admitted: its claim was written then. */
    final long claimedAtMs;
    boolean claimReadBack;
    /** What let it leave while its claim was not read back yet, null until something did. */
    Exit woken;

    Entry(Successor<T> successor, long claimedAtMs) {
      this.successor = successor;
      this.claimedAtMs = claimedAtMs;
    }

  }

  private final String self;
  private final Predicate<String> released;
  private final Predicate<String> running;
  private final Predicate<String> cancelled;
  private final RecentIds grants;
  private final LongSupplier clockMs;
  private final LongSupplier unrunLimitMs;
  /** Every held successor, waiting or claimed, in the order they came. */
  private final Set<Entry<T>> all = new LinkedHashSet<>();
  private final Map<String, List<Entry<T>>> byPredecessor = new HashMap<>();
  private final Map<String, List<Entry<T>>> bySuccessor = new HashMap<>();
  private boolean closed;

  /**
   * What the waits ask the worker (called under this class's lock: none may block):
   *
   * @param self         this worker's id (its own claims are read back by it)
   * @param released     whether a lease's call ended with an outcome: released by this worker, or its
   *                     {@code lease_released} read
   * @param running      whether a lease's call runs on this worker now, or a live worker claims it
   * @param cancelled    whether a job was cancelled lately
   * @param grantMemory  how many grants are remembered (a grant may be read before its successor comes)
   * @param grantTtlMs   for how long
   * @param unrunLimitMs how long a predecessor may run nowhere known before its successors are handed back (read at
   *                     each look; the worker's liveness threshold for other workers' claims)
   */
  public SuccessorWaits(String self, Predicate<String> released, Predicate<String> running,
      Predicate<String> cancelled, int grantMemory, long grantTtlMs, LongSupplier clockMs, LongSupplier unrunLimitMs) {
    this.self = self;
    this.released = released;
    this.running = running;
    this.cancelled = cancelled;
    this.grants = new RecentIds(grantMemory, grantTtlMs);
    this.clockMs = clockMs;
    this.unrunLimitMs = unrunLimitMs;
  }

  /**
   * A successor (or a late copy) that came: null when it is held now (the worker then writes its claim),
   * {@link Step#HAND_BACK} once the worker drains. One that may leave at once (its predecessor's end already known,
   * or a late copy) still waits for its claim to be read back.
   */
  public synchronized Leaving<T> admit(Successor<T> s) {
    if (closed) {
      return new Leaving<>(s, Exit.HANDED_BACK, Step.HAND_BACK);
    }
    long now = clockMs.getAsLong();
    Entry<T> e = new Entry<>(s, now);
    all.add(e);
    bySuccessor.computeIfAbsent(s.leaseId(), k -> new ArrayList<>(1)).add(e);
    if (s.afterLease() == null) {
      e.woken = Exit.LATE_COPY;
      return null;
    }
    if (!running.test(s.afterLease())) {
      e.unrunSinceMs = now;
    }
    byPredecessor.computeIfAbsent(s.afterLease(), k -> new ArrayList<>(1)).add(e);
    e.woken = startsNow(s, now);
    return null;
  }

  /** The predecessor {@code leaseId}, run by this worker, ended its call with an outcome: its successors leave. */
  public synchronized List<Leaving<T>> ended(String leaseId) {
    return wake(byPredecessor.get(leaseId), Exit.LOCAL);
  }

  /**
   * One fleet event (the watcher's thread, after the worker's {@code ReleasedLeases} and {@code LeaseClaims} took it):
   * a release with an outcome lets its lease's successors leave, a grant its own successor (or is remembered for
   * it), and this worker's own claim read back lets a successor that was woken before start.
   */
  public synchronized List<Leaving<T>> accept(FleetEventGist e) {
    if (e.leaseId() == null) {
      return List.of();
    }
    if (e.type() == FleetEvent.Type.LEASE_STARTED && self.equals(e.workerId())) {
      return readBack(bySuccessor.get(e.leaseId()));
    }
    if (e.type() == FleetEvent.Type.LEASE_GRANTED) {
      grants.add(e.leaseId(), clockMs.getAsLong());
      return wake(bySuccessor.get(e.leaseId()), Exit.GRANTED);
    }
    if (e.type() == FleetEvent.Type.LEASE_RELEASED && e.outcome() != LeaseOutcome.HANDED_BACK) {
      return wake(byPredecessor.get(e.leaseId()), Exit.RELEASED);
    }
    return List.of();
  }

  /** The job {@code jobId} was cancelled: its waiting successors leave (and answer {@code cancelled}). */
  public synchronized List<Leaving<T>> cancelled(String jobId) {
    List<Entry<T>> of = new ArrayList<>(0);
    for (Entry<T> e : all) {
      if (e.successor.jobId().equals(jobId)) {
        of.add(e);
      }
    }
    return wake(of, Exit.CANCELLED);
  }

  /**
   * Looks at every held successor (the worker calls it every few hundred ms): deadlines, predecessors that run
   * nowhere known for too long, claims not read back in time, and (a safety net) ends, grants and cancels known now.
   */
  public synchronized List<Leaving<T>> tick() {
    long now = clockMs.getAsLong();
    long limit = unrunLimitMs.getAsLong();
    List<Leaving<T>> out = new ArrayList<>(0);
    for (Iterator<Entry<T>> it = all.iterator(); it.hasNext(); ) {
      Entry<T> e = it.next();
      if (!e.claimReadBack && now - e.claimedAtMs > limit) {
        it.remove();
        unindex(e);
        out.add(new Leaving<>(e.successor, Exit.HANDED_BACK, Step.WITHDRAW));
        continue;
      }
      if (e.woken != null) {
        continue; // its claim is on its way back
      }
      Exit why = startsNow(e.successor, now);
      if (why != null) {
        e.woken = why;
        if (e.claimReadBack) {
          it.remove();
          unindex(e);
          out.add(new Leaving<>(e.successor, why, Step.START));
        }
        continue;
      }
      if (running.test(e.successor.afterLease())) {
        e.unrunSinceMs = -1;
      } else if (e.unrunSinceMs < 0) {
        e.unrunSinceMs = now;
      } else if (now - e.unrunSinceMs > limit) {
        it.remove();
        unindex(e);
        out.add(new Leaving<>(e.successor, Exit.HANDED_BACK, Step.WITHDRAW));
      }
    }
    return out;
  }

  /** The share lock of the successors matching {@code held} was lost: they leave without a call (withdrawn). */
  public synchronized List<Leaving<T>> drop(Predicate<T> held) {
    List<Entry<T>> of = new ArrayList<>(0);
    for (Entry<T> e : all) {
      if (held.test(e.successor.held())) {
        of.add(e);
      }
    }
    return handBack(of);
  }

  /** The worker drains: every held successor is handed back, and any that comes later is too. */
  public synchronized List<Leaving<T>> close() {
    closed = true;
    return handBack(new ArrayList<>(all));
  }

  /** Successors held now (waiting, or woken while their claim is not yet read back). */
  public synchronized int size() {
    return all.size();
  }

  /** True if {@code leaseId}'s {@code lease_granted} was read lately. */
  public synchronized boolean granted(String leaseId) {
    return grants.contains(leaseId, clockMs.getAsLong());
  }

  /** Why {@code s} may start now, or null. */
  private Exit startsNow(Successor<T> s, long now) {
    if (released.test(s.afterLease())) {
      return Exit.RELEASED;
    }
    if (grants.contains(s.leaseId(), now)) {
      return Exit.GRANTED;
    }
    if (cancelled.test(s.jobId())) {
      return Exit.CANCELLED;
    }
    if (now >= s.deadlineMs()) {
      return Exit.DEADLINE;
    }
    return null;
  }

  /**
   * The ones of {@code entries} not woken yet are woken for {@code why}: those whose claim was read back start, the
   * others start when it is.
   */
  private List<Leaving<T>> wake(List<Entry<T>> entries, Exit why) {
    if (entries == null || entries.isEmpty()) {
      return List.of();
    }
    List<Leaving<T>> out = new ArrayList<>(entries.size());
    for (Entry<T> e : List.copyOf(entries)) {
      if (e.woken == null) {
        e.woken = why;
        if (e.claimReadBack) {
          out.add(start(e));
        }
      }
    }
    return out;
  }

  /** This worker's claim of {@code entries}' lease was read back: the woken ones start. */
  private List<Leaving<T>> readBack(List<Entry<T>> entries) {
    if (entries == null || entries.isEmpty()) {
      return List.of();
    }
    List<Leaving<T>> out = new ArrayList<>(1);
    for (Entry<T> e : List.copyOf(entries)) {
      e.claimReadBack = true;
      if (e.woken != null) {
        out.add(start(e));
      }
    }
    return out;
  }

  private Leaving<T> start(Entry<T> e) {
    all.remove(e);
    unindex(e);
    return new Leaving<>(e.successor, e.woken, Step.START);
  }

  private List<Leaving<T>> handBack(List<Entry<T>> entries) {
    List<Leaving<T>> out = new ArrayList<>(entries.size());
    for (Entry<T> e : entries) {
      all.remove(e);
      unindex(e);
      out.add(new Leaving<>(e.successor, Exit.HANDED_BACK, Step.WITHDRAW));
    }
    return out;
  }

  private void unindex(Entry<T> e) {
    if (e.successor.afterLease() != null) {
      remove(byPredecessor, e.successor.afterLease(), e);
    }
    remove(bySuccessor, e.successor.leaseId(), e);
  }

  private static <T> void remove(Map<String, List<Entry<T>>> index, String key, Entry<T> e) {
    List<Entry<T>> l = index.get(key);
    if (l != null && l.remove(e) && l.isEmpty()) {
      index.remove(key);
    }
  }
}
