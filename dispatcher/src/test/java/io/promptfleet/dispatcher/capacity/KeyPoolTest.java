package io.promptfleet.dispatcher.capacity;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.config.KeySettings;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KeyPoolTest {
  private static final List<String> ALL = List.of("shared", "acme-1", "acme-2");

  private static KeyPool pool() {
    Map<String, KeySettings> keys = new LinkedHashMap<>();
    keys.put("shared", new KeySettings("p", "E", null, 2, 600, 100_000L, null));
    keys.put("acme-1", new KeySettings("p", "E", null, 1, 600, 100_000L, "acme"));
    keys.put("acme-2", new KeySettings("p", "E", null, 4, 600, 100_000L, "acme"));
    return new KeyPool(keys, 60_000);
  }

  private static Lease lease(String id, String key, long at) {
    return new Lease(id, key, "j", "r", Instant.ofEpochMilli(at + 60_000), 100, at);
  }

  @Test
  void shouldKeepATenantOnItsOwnKeysAndEveryoneElseOnTheSharedOnes() {
    KeyPool p = pool();
    assertThat(p.choose(ALL, "acme", 10, 0)).hasValueSatisfying(k -> assertThat(k).startsWith("acme-"));
    assertThat(p.choose(ALL, null, 10, 0)).contains("shared");
    assertThat(p.choose(ALL, "globex", 10, 0)).as("a tenant without keys of its own uses the shared pool")
        .contains("shared");
    assertThat(p.hasKeyFor(List.of("acme-1"), null)).isFalse();
  }

  @Test
  void shouldPreferTheLeastUtilisedKey() {
    KeyPool p = pool();
    p.acquire(lease("a", "acme-2", 0), 0);
    assertThat(p.choose(ALL, "acme", 10, 0)).as("acme-2 at 1/4, acme-1 at 0/1").contains("acme-1");
    p.acquire(lease("b", "acme-1", 0), 0);
    assertThat(p.choose(ALL, "acme", 10, 0)).as("acme-1 full").contains("acme-2");
  }

  @Test
  void shouldSkipACoolingOrDisabledKeyUntilItsTimeIsUp() {
    KeyPool p = pool();
    p.coolDown("shared", 1_000);
    assertThat(p.choose(ALL, null, 10, 999)).isEmpty();
    assertThat(p.choose(ALL, null, 10, 1_000)).contains("shared");
    p.disable("shared", 5_000);
    assertThat(p.isDisabled("shared", 4_999)).isTrue();
    assertThat(p.choose(ALL, null, 10, 4_999)).isEmpty();
    assertThat(p.choose(ALL, null, 10, 5_000)).contains("shared");
  }

  @Test
  void shouldObeyTheRemainingBudgetTheProviderReported() {
    KeyPool p = pool();
    p.remoteBudget("shared", 1L, null, 10_000);
    assertThat(p.choose(ALL, null, 10, 0)).contains("shared");
    p.acquire(lease("a", "shared", 0), 0);
    p.release("a", 5L, 1);
    assertThat(p.choose(ALL, null, 10, 2)).as("the one request left is used").isEmpty();
    assertThat(p.choose(ALL, null, 10, 10_000)).as("after the reset").contains("shared");
    p.remoteBudget("shared", null, 50L, 20_000);
    assertThat(p.choose(ALL, null, 60, 10_001)).as("60 tokens > 50 left").isEmpty();
    assertThat(p.choose(ALL, null, 40, 10_001)).contains("shared");
  }

  @Test
  void shouldRejectAReservationNoKeyCouldEverAdmit() {
    KeyPool p = pool();
    assertThat(p.canEverAdmit(ALL, null, 100_000)).isTrue();
    assertThat(p.canEverAdmit(ALL, null, 100_001)).isFalse();
  }

  @Test
  void shouldHoldRestoredLeasesEvenAboveTheLimitAndReleaseThemLater() {
    KeyPool p = pool();
    p.restore(lease("x", "acme-1", 0), 0);
    p.restore(lease("y", "acme-1", 0), 0);
    assertThat(p.inFlight("acme-1")).as("streams that run are counted, whatever the limit").isEqualTo(2);
    assertThat(p.choose(List.of("acme-1"), "acme", 10, 0)).isEmpty();
    p.release("x", null, 1);
    assertThat(p.choose(List.of("acme-1"), "acme", 10, 1)).as("still 1 of 1").isEmpty();
    p.release("y", null, 2);
    assertThat(p.choose(List.of("acme-1"), "acme", 10, 2)).contains("acme-1");
  }

  @Test
  void shouldTellABusyRouteFromOneWhoseKeysAreDownOrTooSmall() {
    KeyPool p = pool();
    List<String> acme = List.of("acme-1");
    assertThat(p.availability(acme, "acme", 10, 0)).isEqualTo(KeyPool.Availability.ROOM);
    p.acquire(lease("a", "acme-1", 0), 0);
    assertThat(p.availability(acme, "acme", 10, 0)).as("at max_concurrency").isEqualTo(KeyPool.Availability.BUSY);
    p.coolDown("acme-1", 1_000);
    assertThat(p.availability(acme, "acme", 10, 0)).as("busy and cooling: down")
        .isEqualTo(KeyPool.Availability.UNAVAILABLE);
    assertThat(p.availability(acme, "acme", 10, 1_000)).as("the cooldown is over: busy again")
        .isEqualTo(KeyPool.Availability.BUSY);
    p.disable("acme-1", 5_000);
    assertThat(p.availability(acme, "acme", 10, 1_000)).isEqualTo(KeyPool.Availability.UNAVAILABLE);
    assertThat(p.availability(acme, "acme", 200_000, 1_000)).as("more than any window holds")
        .isEqualTo(KeyPool.Availability.UNSERVABLE);
    assertThat(p.availability(acme, null, 10, 1_000)).as("no key for a job without tenant")
        .isEqualTo(KeyPool.Availability.UNSERVABLE);
  }

  @Test
  void shouldCallARouteBusyWhileOneKeyIsUpAndFullAndAnotherCoolsDown() {
    KeyPool p = pool();
    List<String> acme = List.of("acme-1", "acme-2");
    p.acquire(lease("a", "acme-1", 0), 0);
    p.coolDown("acme-2", 10_000);

    assertThat(p.availability(acme, "acme", 10, 0)).isEqualTo(KeyPool.Availability.BUSY);
  }

  @Test
  void shouldCallARouteBusyWhenItsRequestsPerWindowAreUsedUp() {
    Map<String, KeySettings> keys = new LinkedHashMap<>();
    keys.put("k", new KeySettings("p", "E", null, 10, 1, 100_000L, null));
    KeyPool p = new KeyPool(keys, 60_000);
    p.acquire(lease("a", "k", 0), 0);
    p.release("a", 10L, 1);

    assertThat(p.availability(List.of("k"), null, 10, 2)).isEqualTo(KeyPool.Availability.BUSY);
  }

  @Test
  void shouldAvoidARetrysPreviousKeyOnlyAmongTheTenantsKeys() {
    KeyPool p = pool();
    assertThat(p.choose(List.of("shared", "acme-1"), "acme", 10, 0, "acme-1")).as("acme's only key of the route")
        .contains("acme-1");
    assertThat(p.choose(ALL, "acme", 10, 0, "acme-1")).contains("acme-2");
    assertThat(p.choose(ALL, null, 10, 0, "shared")).as("the shared pool has one key").contains("shared");
    p.acquire(lease("a", "acme-1", 0), 0);
    assertThat(p.choose(List.of("shared", "acme-1"), "acme", 10, 0, "acme-1")).as("full: nothing, never shared")
        .isEmpty();
  }

  @Test
  void shouldLetRestoredSuccessorsWaitForTheirRestoredPredecessorsAndGrantTheOthers() {
    KeyPool p = pool();
    p.restoreHeld(lease("L", "acme-2", 0));
    p.restoreHeld(new Lease("S", "acme-2", "j", "r", Instant.ofEpochMilli(60_000), 100, 0, "L"));
    p.restoreHeld(new Lease("T", "acme-2", "j", "r", Instant.ofEpochMilli(60_000), 100, 0, "gone"));
    p.restoreHeld(new Lease("U", "acme-2", "j", "r", Instant.ofEpochMilli(60_000), 100, 0, "L"));

    p.relinkSuccessors(java.util.Set.of());

    assertThat(p.isWaiting("S")).as("its predecessor is held: it waits again").isTrue();
    assertThat(p.isWaiting("U")).as("one successor per predecessor").isFalse();
    assertThat(p.inFlight("acme-2")).as("L, T and U hold units").isEqualTo(3);
    assertThat(p.drainGrants()).filteredOn(p::stillHeld).extracting(Lease::leaseId).as("whose predecessor ended while no dispatcher was "
        + "active, or which cannot wait").containsExactly("T", "U");
    assertThat(p.release("L", 50L, 1_000)).isPresent();
    assertThat(p.isWaiting("S")).isFalse();
    assertThat(p.inFlight("acme-2")).isEqualTo(3);
  }
}
