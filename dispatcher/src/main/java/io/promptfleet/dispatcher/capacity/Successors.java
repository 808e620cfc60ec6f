package io.promptfleet.dispatcher.capacity;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The links of successor assignments ({@code dispatcher.successors}, issue 13): which ordinary leases have started
 * and have no successor yet (per key, in the order their {@code lease_started} was read: the predecessors a new
 * successor may follow), which successor waits for which predecessor, and which successors of a key wait (oldest
 * first). {@link KeyPool} keeps the counts and the rate windows; this keeps only the links.
 *
 * <p>A successor is linked only to an ordinary lease (one that holds a unit of its key's concurrency), and an
 * ordinary lease has at most one successor. Not thread-safe: owned by the dispatcher thread.
 */
final class Successors {
  /** Predecessor lease id to its waiting successor's. */
  private final Map<String, String> successorOf = new HashMap<>();
  /** Waiting successor lease id to its predecessor's. */
  private final Map<String, String> predecessorOf = new HashMap<>();
  /** Leases held whose {@code lease_started} was read. */
  private final Set<String> started = new HashSet<>();
  /** Per key: started ordinary leases without a successor, oldest start first. */
  private final Map<String, LinkedHashSet<String>> open = new HashMap<>();
  /** Per key: waiting successors, oldest first. */
  private final Map<String, LinkedHashSet<String>> waiting = new HashMap<>();

  /** {@code lease} (held) has started; an ordinary one without a successor may now be followed by one. */
  void started(Lease lease) {
    started.add(lease.leaseId());
    if (!isWaiting(lease.leaseId()) && !successorOf.containsKey(lease.leaseId())) {
      openOf(lease.keyId()).add(lease.leaseId());
    }
  }

  /** The predecessor a new successor on {@code keyId} would follow (the oldest started), or null. */
  String firstOpen(String keyId) {
    LinkedHashSet<String> o = open.get(keyId);
    return o == null || o.isEmpty() ? null : o.iterator().next();
  }

  /** Whether a successor on {@code keyId} could follow a lease now. */
  boolean hasOpen(String keyId) {
    return firstOpen(keyId) != null;
  }

  /** {@code successor} now waits for {@code predecessor}, which must be open on the same key. */
  void link(Lease successor, String predecessor) {
    if (!openOf(successor.keyId()).remove(predecessor)) {
      throw new IllegalStateException("lease " + predecessor + " cannot take a successor");
    }
    successorOf.put(predecessor, successor.leaseId());
    predecessorOf.put(successor.leaseId(), predecessor);
    waitingOf(successor.keyId()).add(successor.leaseId());
  }

  /** Whether {@code leaseId} is a successor waiting for its predecessor (it holds no unit of concurrency). */
  boolean isWaiting(String leaseId) {
    return predecessorOf.containsKey(leaseId);
  }

  /** The predecessor {@code leaseId} waits for, or null. */
  String predecessorOf(String leaseId) {
    return predecessorOf.get(leaseId);
  }

  /** The successor waiting for {@code leaseId}, or null. */
  String successorOf(String leaseId) {
    return successorOf.get(leaseId);
  }

  /** How many successors of {@code keyId} wait. */
  int waiting(String keyId) {
    LinkedHashSet<String> w = waiting.get(keyId);
    return w == null ? 0 : w.size();
  }

  /** The oldest waiting successor of {@code keyId}, or null. */
  String oldestWaiting(String keyId) {
    LinkedHashSet<String> w = waiting.get(keyId);
    return w == null || w.isEmpty() ? null : w.iterator().next();
  }

  /**
   * An ordinary lease ended (released, expired or undone): forgotten; returns its waiting successor, now unlinked
   * (the caller gives it the lease's unit of concurrency), or null.
   */
  String ordinaryEnded(Lease lease) {
    String id = lease.leaseId();
    started.remove(id);
    LinkedHashSet<String> o = open.get(lease.keyId());
    if (o != null) {
      o.remove(id);
    }
    String next = successorOf.remove(id);
    if (next != null) {
      predecessorOf.remove(next);
      waitingOf(lease.keyId()).remove(next);
    }
    return next;
  }

  /**
   * A waiting successor ends ({@link #waitingEnded}) or is given a unit of another lease ({@link KeyPool}'s grant):
   * unlinked, and its predecessor, still running, may take another successor.
   */
  void detach(Lease successor) {
    String id = successor.leaseId();
    String predecessor = predecessorOf.remove(id);
    waitingOf(successor.keyId()).remove(id);
    if (predecessor != null) {
      successorOf.remove(predecessor);
      if (started.contains(predecessor)) {
        openOf(successor.keyId()).add(predecessor);
      }
    }
  }

  /** A waiting successor was given a unit of concurrency: it is ordinary now, and may itself be followed. */
  void promoted(Lease successor) {
    if (started.contains(successor.leaseId())) {
      openOf(successor.keyId()).add(successor.leaseId());
    }
  }

  /**
   * A waiting successor ended without having held a unit (cancelled or past its deadline before it started, expired,
   * archived, or undone): unlinked and forgotten.
   */
  void waitingEnded(Lease successor) {
    detach(successor);
    started.remove(successor.leaseId());
  }

  /**
   * A takeover: which of the {@code leases} restored wait for their predecessor (lease id to whether it waits, for
   * every lease): one waits when it names a predecessor held on its key that does not wait itself, it was not
   * {@code granted} a unit since, and no other lease took that predecessor first. Each chain is walked from its start
   * (iteratively: chains may be long), so a predecessor is decided before its successor whatever the order of
   * {@code leases}.
   */
  static Map<String, Boolean> waitingAfterRebuild(Map<String, Lease> leases, Set<String> granted) {
    Map<String, Boolean> waits = new HashMap<>();
    Set<String> taken = new HashSet<>();
    for (Lease l : leases.values()) {
      ArrayDeque<Lease> chain = new ArrayDeque<>();
      for (Lease c = l; c != null && !waits.containsKey(c.leaseId()); ) {
        chain.push(c);
        Lease p = c.afterLease() == null ? null : leases.get(c.afterLease());
        c = p != null && chain.stream().noneMatch(x -> x.leaseId().equals(p.leaseId())) ? p : null;
      }
      while (!chain.isEmpty()) {
        Lease c = chain.pop();
        Lease p = c.afterLease() == null ? null : leases.get(c.afterLease());
        boolean wait = p != null && !granted.contains(c.leaseId()) && p.keyId().equals(c.keyId())
            && !waits.getOrDefault(p.leaseId(), true) && taken.add(p.leaseId());
        waits.put(c.leaseId(), wait);
      }
    }
    return waits;
  }

  /** Forgets everything (the dispatcher lost its partitions). */
  void clear() {
    successorOf.clear();
    predecessorOf.clear();
    started.clear();
    open.clear();
    waiting.clear();
  }

  private LinkedHashSet<String> openOf(String keyId) {
    return open.computeIfAbsent(keyId, k -> new LinkedHashSet<>());
  }

  private LinkedHashSet<String> waitingOf(String keyId) {
    return waiting.computeIfAbsent(keyId, k -> new LinkedHashSet<>());
  }
}
