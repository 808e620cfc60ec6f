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
    HANDED_BACK;

    public String tag() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * One successor assignment.
   *
   * @param leaseId    its lease
   * @param afterLease its predecessor's lease
   * @param jobId      its job
   * @param deadlineMs its job's deadline in epoch ms, {@link Long#MAX_VALUE} for none
   * @param held       the worker's handle
   */
  public record Successor<T>(String leaseId, String afterLease, String jobId, long deadlineMs, T held) {}

  /** A successor that leaves the wait, and why. */
  public record Leaving<T>(Successor<T> successor, Exit why) {}

  /** A waiting successor; identity matters (one lease may wait twice: a share partition's new leader's copy). */
  private static final class Entry<T> {
    final Successor<T> successor;
    /** Since when its predecessor runs nowhere known, -1 while it runs. */
    long unrunSinceMs = -1;

    Entry(Successor<T> successor) {
      this.successor = successor;
    }
  }

  private final Predicate<String> released;
  private final Predicate<String> running;
  private final Predicate<String> cancelled;
  private final RecentIds grants;
  private final LongSupplier clockMs;
  private final LongSupplier unrunLimitMs;
  private final Set<Entry<T>> waiting = new LinkedHashSet<>();
  private final Map<String, List<Entry<T>>> byPredecessor = new HashMap<>();
  private final Map<String, List<Entry<T>>> bySuccessor = new HashMap<>();
  private boolean closed;

  /**
   * What the waits ask the worker (called under this class's lock: none may block):
   *
   * @param released     whether a lease's call ended with an outcome: released by this worker, or its
   *                     {@code lease_released} read
   * @param running      whether a lease's call runs on this worker now, or a live worker claims it
   * @param cancelled    whether a job was cancelled lately
   * @param grantMemory  how many grants are remembered (a grant may be read before its successor comes)
   * @param grantTtlMs   for how long
   * @param unrunLimitMs how long a predecessor may run nowhere known before its successors are handed back (read at
   *                     each look; the worker's liveness threshold for other workers' claims)
   */
  public SuccessorWaits(Predicate<String> released, Predicate<String> running, Predicate<String> cancelled,
      int grantMemory, long grantTtlMs, LongSupplier clockMs, LongSupplier unrunLimitMs) {
    this.released = released;
    this.running = running;
    this.cancelled = cancelled;
    this.grants = new RecentIds(grantMemory, grantTtlMs);
    this.clockMs = clockMs;
    this.unrunLimitMs = unrunLimitMs;
  }

  /**
   * A successor that came: null when it waits now, else why it may leave at once (or {@link Exit#HANDED_BACK} once
   * the worker drains).
   */
  public synchronized Exit admit(Successor<T> s) {
    if (closed) {
      return Exit.HANDED_BACK;
    }
    long now = clockMs.getAsLong();
    Exit start = startsNow(s, now);
    if (start != null) {
      return start;
    }
    Entry<T> e = new Entry<>(s);
    if (!running.test(s.afterLease())) {
      e.unrunSinceMs = now;
    }
    waiting.add(e);
    byPredecessor.computeIfAbsent(s.afterLease(), k -> new ArrayList<>(1)).add(e);
    bySuccessor.computeIfAbsent(s.leaseId(), k -> new ArrayList<>(1)).add(e);
    return null;
  }

  /** The predecessor {@code leaseId}, run by this worker, ended its call with an outcome: its successors start. */
  public synchronized List<Leaving<T>> ended(String leaseId) {
    return leave(byPredecessor.get(leaseId), Exit.LOCAL);
  }

  /**
   * One fleet event (the watcher's thread, after the worker's {@code ReleasedLeases} took it): a release with an
   * outcome starts its lease's successors, a grant its own successor (or is remembered for it).
   */
  public synchronized List<Leaving<T>> accept(FleetEventGist e) {
    if (e.leaseId() == null) {
      return List.of();
    }
    if (e.type() == FleetEvent.Type.LEASE_GRANTED) {
      grants.add(e.leaseId(), clockMs.getAsLong());
      return leave(bySuccessor.get(e.leaseId()), Exit.GRANTED);
    }
    if (e.type() == FleetEvent.Type.LEASE_RELEASED && e.outcome() != LeaseOutcome.HANDED_BACK) {
      return leave(byPredecessor.get(e.leaseId()), Exit.RELEASED);
    }
    return List.of();
  }

  /** The job {@code jobId} was cancelled: its waiting successors start (and answer {@code cancelled}). */
  public synchronized List<Leaving<T>> cancelled(String jobId) {
    List<Entry<T>> of = new ArrayList<>(0);
    for (Entry<T> e : waiting) {
      if (e.successor.jobId().equals(jobId)) {
        of.add(e);
      }
    }
    return leave(of, Exit.CANCELLED);
  }

  /**
   * Looks at every waiting successor (the worker calls it every few hundred ms): deadlines, predecessors that run
   * nowhere known for too long, and (a safety net) ends, grants and cancels known now.
   */
  public synchronized List<Leaving<T>> tick() {
    long now = clockMs.getAsLong();
    long limit = unrunLimitMs.getAsLong();
    List<Leaving<T>> out = new ArrayList<>(0);
    for (Iterator<Entry<T>> it = waiting.iterator(); it.hasNext(); ) {
      Entry<T> e = it.next();
      Exit why = startsNow(e.successor, now);
      if (why == null) {
        if (running.test(e.successor.afterLease())) {
          e.unrunSinceMs = -1;
        } else if (e.unrunSinceMs < 0) {
          e.unrunSinceMs = now;
        } else if (now - e.unrunSinceMs > limit) {
          why = Exit.HANDED_BACK;
        }
      }
      if (why != null) {
        it.remove();
        unindex(e);
        out.add(new Leaving<>(e.successor, why));
      }
    }
    return out;
  }

  /** The share lock of the successors matching {@code held} was lost: they leave without a call. True if any did. */
  public synchronized boolean drop(Predicate<T> held) {
    boolean any = false;
    for (Iterator<Entry<T>> it = waiting.iterator(); it.hasNext(); ) {
      Entry<T> e = it.next();
      if (held.test(e.successor.held())) {
        it.remove();
        unindex(e);
        any = true;
      }
    }
    return any;
  }

  /** The worker drains: every waiting successor is handed back, and any that comes later is too. */
  public synchronized List<Leaving<T>> close() {
    closed = true;
    return leave(new ArrayList<>(waiting), Exit.HANDED_BACK);
  }

  /** Successors waiting now. */
  public synchronized int size() {
    return waiting.size();
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

  private List<Leaving<T>> leave(List<Entry<T>> entries, Exit why) {
    if (entries == null || entries.isEmpty()) {
      return List.of();
    }
    List<Leaving<T>> out = new ArrayList<>(entries.size());
    for (Entry<T> e : List.copyOf(entries)) {
      waiting.remove(e);
      unindex(e);
      out.add(new Leaving<>(e.successor, why));
    }
    return out;
  }

  private void unindex(Entry<T> e) {
    remove(byPredecessor, e.successor.afterLease(), e);
    remove(bySuccessor, e.successor.leaseId(), e);
  }

  private static <T> void remove(Map<String, List<Entry<T>>> index, String key, Entry<T> e) {
    List<Entry<T>> l = index.get(key);
    if (l != null && l.remove(e) && l.isEmpty()) {
      index.remove(key);
    }
  }
}
