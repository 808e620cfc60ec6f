package io.promptfleet.dispatcher.sim;

import io.promptfleet.dispatcher.intake.ReplyTopics;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * The topic listing on the simulation's clock, with the semantics of {@code intake.TopicCatalog}: one listing when
 * the term starts, then one every {@value #REFRESH_MS} ms, and one on demand (a {@link #ticket()}) at least
 * {@value #MIN_GAP_MS} ms after the previous one, done {@value #LATENCY_MS} ms after it starts. A listing holds the
 * topics that exist when it starts; a topic created later is seen by the next listing only.
 *
 * <p>Not thread-safe: the real catalog lists on a thread of its own; here listings happen when the clock passes
 * their time, checked whenever the core asks.
 */
final class FakeTopicCatalog implements ReplyTopics {
  static final long REFRESH_MS = 30_000;
  static final long MIN_GAP_MS = 200;
  static final long LATENCY_MS = 50;

  private final LongSupplier clock;
  private final Predicate<String> exists;
  private final Set<String> universe;
  private Set<String> names;
  private long seq;
  private long lastStartMs;
  private long nextPeriodicMs;
  private long wanted;
  private long onDemandDueMs = Long.MAX_VALUE;

  /**
   * @param exists    which topics exist at a time (asked when a listing starts)
   * @param universe  every topic name the simulation may ask about
   */
  FakeTopicCatalog(LongSupplier clock, Predicate<String> exists, Set<String> universe) {
    this.clock = clock;
    this.exists = exists;
    this.universe = universe;
    long now = clock.getAsLong();
    list(now);
    nextPeriodicMs = now + REFRESH_MS;
  }

  private void list(long startMs) {
    seq++;
    lastStartMs = startMs;
    names = Set.copyOf(universe.stream().filter(exists).toList());
  }

  /** Runs the listings whose time has come. */
  private void catchUp() {
    long now = clock.getAsLong();
    while (true) {
      long next = Math.min(nextPeriodicMs, onDemandDueMs);
      if (next + LATENCY_MS > now) {
        return;
      }
      if (next == onDemandDueMs) {
        onDemandDueMs = Long.MAX_VALUE;
      } else {
        nextPeriodicMs = next + REFRESH_MS;
      }
      list(next);
      if (wanted > seq) {
        onDemandDueMs = Math.max(next + MIN_GAP_MS, next);
      }
    }
  }

  @Override
  public boolean listed(String topic) {
    catchUp();
    return names.contains(topic);
  }

  @Override
  public boolean ready() {
    return true;
  }

  @Override
  public long ticket() {
    catchUp();
    long t = seq + 1;
    wanted = Math.max(wanted, t);
    if (onDemandDueMs == Long.MAX_VALUE) {
      onDemandDueMs = Math.max(clock.getAsLong(), lastStartMs + MIN_GAP_MS);
    }
    return t;
  }

  @Override
  public Boolean answer(String topic, long ticket) {
    catchUp();
    if (names.contains(topic)) {
      return Boolean.TRUE;
    }
    return seq >= ticket ? Boolean.FALSE : null;
  }
}
