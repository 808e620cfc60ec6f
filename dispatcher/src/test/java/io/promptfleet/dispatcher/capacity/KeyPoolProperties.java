package io.promptfleet.dispatcher.capacity;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.config.KeySettings;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/**
 * Random sequences of dispatch, release (with and without usage), 429 cooldown, disable, remote budgets, lease
 * expiry and time passing never take a key over its concurrency, its requests or its tokens in ANY window of the
 * rate-window length, and never lose a lease: every lease is held, released or expired, exactly once.
 */
class KeyPoolProperties {
  private static final long WINDOW = 1_000;

  @Property(tries = 300)
  void shouldNeverExceedAKeyLimitNorLoseALease(@ForAll @LongRange(min = 0, max = Long.MAX_VALUE) long seed,
      @ForAll @IntRange(min = 50, max = 600) int steps) {
    Random rnd = new Random(seed);
    Map<String, KeySettings> settings = new LinkedHashMap<>();
    int keyCount = 1 + rnd.nextInt(3);
    for (int i = 0; i < keyCount; i++) {
      settings.put("k" + i, new KeySettings("p", "E", null, 1 + rnd.nextInt(6), 60 * (1 + rnd.nextInt(12)),
          60L * (50 + rnd.nextInt(2_000)), null));
    }
    List<String> names = new ArrayList<>(settings.keySet());
    KeyPool pool = new KeyPool(settings, WINDOW);
    long now = 1_000_000;
    Map<String, Lease> held = new HashMap<>();               // the model: leases we believe are held
    Map<String, ArrayDeque<long[]>> dispatches = new HashMap<>(); // per key: {time, tokens} of every dispatch
    names.forEach(k -> dispatches.put(k, new ArrayDeque<>()));
    Map<String, Long> blockedUntil = new HashMap<>();
    int seq = 0;
    for (int step = 0; step < steps; step++) {
      int op = rnd.nextInt(10);
      String key = names.get(rnd.nextInt(names.size()));
      if (op <= 3) { // dispatch
        long reserve = 1 + rnd.nextInt(400);
        Optional<String> k = pool.choose(names, null, reserve, now);
        if (k.isPresent()) {
          assertThat(now).as("never dispatch to a key that is cooling down or disabled")
              .isGreaterThanOrEqualTo(blockedUntil.getOrDefault(k.get(), 0L));
          Lease l = new Lease("l" + seq++, k.get(), "j", "r", Instant.ofEpochMilli(now + rnd.nextInt(3_000)),
              reserve, now);
          pool.acquire(l, now);
          held.put(l.leaseId(), l);
          dispatches.get(k.get()).add(new long[] {now, reserve});
          long inFlight = held.values().stream().filter(x -> x.keyId().equals(k.get())).count();
          assertThat(inFlight).isLessThanOrEqualTo(settings.get(k.get()).maxConcurrency());
          assertThat(pool.inFlight(k.get())).isEqualTo((int) inFlight);
          assertWindowWithinLimits(pool, k.get(), dispatches.get(k.get()), now);
        }
      } else if (op <= 5 && !held.isEmpty()) { // release, maybe with usage lower than the reservation
        String id = new ArrayList<>(held.keySet()).get(rnd.nextInt(held.size()));
        Lease l = held.remove(id);
        Long used = rnd.nextBoolean() ? null : (long) rnd.nextInt((int) l.reservedTokens() + 1);
        assertThat(pool.release(id, used, now)).contains(l);
        assertThat(pool.release(id, used, now)).as("a second release is ignored").isEmpty();
        if (used != null) {
          for (long[] d : dispatches.get(l.keyId())) {
            if (d[0] == l.reservedAtMs() && d[1] == l.reservedTokens()) {
              d[1] = used; // the window now counts what was used
              break;
            }
          }
        }
      } else if (op == 6) { // 429
        long until = now + rnd.nextInt(500);
        pool.coolDown(key, until);
        blockedUntil.merge(key, until, Math::max);
      } else if (op == 7 && rnd.nextInt(8) == 0) { // auth or quota error
        long until = now + rnd.nextInt(2_000);
        pool.disable(key, until);
        blockedUntil.merge(key, until, Math::max);
      } else if (op == 8) { // time passes, leases of vanished workers expire
        now += rnd.nextInt(300);
        for (Lease l : pool.expire(Instant.ofEpochMilli(now))) {
          assertThat(held.remove(l.leaseId())).as("an expired lease was held").isEqualTo(l);
          assertThat(l.expiresAt()).isBeforeOrEqualTo(Instant.ofEpochMilli(now));
        }
      } else { // the provider says how much is left
        pool.remoteBudget(key, (long) rnd.nextInt(5), null, now + rnd.nextInt(400));
      }
      assertThat(pool.leases().keySet()).as("no lease lost, none invented").isEqualTo(held.keySet());
      assertThat(pool.totalInFlight()).isEqualTo(held.size());
    }
  }

  /** In every window of length WINDOW ending at a dispatch, requests and tokens stay within the key's limits. */
  private static void assertWindowWithinLimits(KeyPool pool, String key, ArrayDeque<long[]> ds, long now) {
    long reqs = 0;
    long toks = 0;
    for (long[] d : ds) {
      if (d[0] > now - WINDOW) {
        reqs++;
        toks += d[1];
      }
    }
    assertThat(reqs).as("requests of %s in the window", key).isLessThanOrEqualTo(pool.requestsPerWindow(key));
    assertThat(toks).as("tokens of %s in the window", key).isLessThanOrEqualTo(pool.tokensPerWindow(key));
  }
}
