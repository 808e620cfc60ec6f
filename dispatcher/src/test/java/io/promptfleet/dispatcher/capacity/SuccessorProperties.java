package io.promptfleet.dispatcher.capacity;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.config.KeySettings;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/**
 * Successor assignments against a model of the upstream: random dispatches (a successor whenever a key is full and
 * one may follow), workers starting and ending calls, successors ended before they ran, expiries and aborted
 * dispatches. A call runs at the provider from its dispatch (an ordinary lease, at the worst) or from the moment its
 * worker may start it (a successor: its predecessor's release was read, or it was granted a unit). Whatever the
 * order, no key ever has more calls at the provider than its max_concurrency, the pool's count of held units never
 * exceeds it either, no unit idles while a successor of its key waits, and no lease is lost.
 */
class SuccessorProperties {
  private static final long WINDOW = 60_000;

  @Property(tries = 300)
  void shouldNeverLetTheProviderSeeMoreCallsThanAKeyAllows(
      @ForAll @LongRange(min = 0, max = Long.MAX_VALUE) long seed, @ForAll @IntRange(min = 50, max = 500) int steps) {
    Random rnd = new Random(seed);
    Map<String, KeySettings> settings = new LinkedHashMap<>();
    int keyCount = 1 + rnd.nextInt(2);
    for (int i = 0; i < keyCount; i++) {
      settings.put("k" + i, new KeySettings("p", "E", null, 1 + rnd.nextInt(4), 1_000_000, 1_000_000_000L, null));
    }
    List<String> names = new ArrayList<>(settings.keySet());
    KeyPool pool = new KeyPool(settings, WINDOW);
    long now = 1_000_000;
    Map<String, Lease> held = new HashMap<>();
    Set<String> running = new HashSet<>();   // calls at the provider now
    Set<String> started = new HashSet<>();   // lease_started read by the dispatcher
    Set<String> everRan = new HashSet<>();
    String lastAcquired = null;
    int seq = 0;
    for (int step = 0; step < steps; step++) {
      int op = rnd.nextInt(10);
      if (op <= 3) { // dispatch
        Optional<String> k = pool.choose(names, null, 10, now);
        Lease l;
        if (k.isPresent()) {
          l = new Lease("l" + seq++, k.get(), "j", "r", Instant.ofEpochMilli(now + 500 + rnd.nextInt(5_000)), 10,
              now);
          pool.acquire(l, now);
          running.add(l.leaseId()); // at the worst its worker starts it at once
          everRan.add(l.leaseId());
        } else {
          Optional<String> s = pool.chooseSuccessor(names, null, 10, now);
          if (s.isEmpty()) {
            continue;
          }
          String predecessor = pool.predecessorFor(s.get());
          assertThat(predecessor).isNotNull();
          assertThat(started).as("a successor follows a started lease").contains(predecessor);
          assertThat(running).as("...that still runs").contains(predecessor);
          l = new Lease("l" + seq++, s.get(), "j", "r", Instant.ofEpochMilli(now + 500 + rnd.nextInt(5_000)), 10,
              now, predecessor);
          pool.acquire(l, now);
          assertThat(pool.isWaiting(l.leaseId())).isTrue();
        }
        held.put(l.leaseId(), l);
        lastAcquired = l.leaseId();
      } else if (op <= 4) { // a worker's lease_started is read
        List<String> notYet = running.stream().filter(id -> !started.contains(id)).sorted().toList();
        if (!notYet.isEmpty()) {
          String id = notYet.get(rnd.nextInt(notYet.size()));
          started.add(id);
          pool.started(id);
        }
      } else if (op <= 6 && !running.isEmpty()) { // a call ends; its worker's release is read
        List<String> r = running.stream().sorted().toList();
        String id = r.get(rnd.nextInt(r.size()));
        String successor = pool.successorOf(id);
        running.remove(id);
        held.remove(id);
        assertThat(pool.release(id, rnd.nextBoolean() ? null : 5L, now)).isPresent();
        if (successor != null) {
          assertThat(pool.isWaiting(successor)).as("took its predecessor's unit").isFalse();
          start(successor, running, everRan); // its worker read the release (or ran the predecessor itself)
        }
      } else if (op == 7) { // a waiting successor ends before it ran (cancelled, or its deadline passed)
        List<String> waiting = held.keySet().stream().filter(pool::isWaiting).sorted().toList();
        if (!waiting.isEmpty()) {
          String id = waiting.get(rnd.nextInt(waiting.size()));
          held.remove(id);
          assertThat(pool.release(id, null, now)).isPresent();
        }
      } else if (op == 8) { // time passes: leases of vanished workers expire (their calls are gone with them)
        now += rnd.nextInt(1_500);
        for (Lease l : pool.expire(Instant.ofEpochMilli(now))) {
          assertThat(held.remove(l.leaseId())).isNotNull();
          running.remove(l.leaseId());
        }
      } else if (lastAcquired != null && held.containsKey(lastAcquired) && !started.contains(lastAcquired)
          && pool.successorOf(lastAcquired) == null && (pool.isWaiting(lastAcquired)
          || running.contains(lastAcquired))) { // the dispatch's transaction aborted: nothing reached a worker
        running.remove(lastAcquired);
        held.remove(lastAcquired);
        pool.undo(lastAcquired, now);
        lastAcquired = null;
      }
      for (Lease g : pool.drainGrants()) {
        if (!pool.stillHeld(g)) {
          continue; // ended since (an expiry sweep): no word for it
        }
        assertThat(held).containsKey(g.leaseId());
        assertThat(pool.isWaiting(g.leaseId())).isFalse();
        start(g.leaseId(), running, everRan); // its worker read the lease_granted
      }
      for (String key : names) {
        long atProvider = running.stream().filter(id -> held.get(id).keyId().equals(key)).count();
        int max = settings.get(key).maxConcurrency();
        assertThat(atProvider).as("calls of %s at the provider", key).isLessThanOrEqualTo(max);
        assertThat(pool.inFlight(key)).as("units of %s held", key).isLessThanOrEqualTo(max);
        if (pool.waitingSuccessors(key) > 0) {
          assertThat(pool.inFlight(key)).as("no unit of %s idles while a successor waits", key).isEqualTo(max);
        }
      }
      for (String id : running) {
        assertThat(pool.isWaiting(id)).as("a running call holds a unit").isFalse();
      }
      assertThat(pool.leases().keySet()).as("no lease lost, none invented").isEqualTo(held.keySet());
    }
  }

  private static void start(String id, Set<String> running, Set<String> everRan) {
    assertThat(everRan.add(id)).as("lease %s runs once", id).isTrue();
    running.add(id);
  }
}
