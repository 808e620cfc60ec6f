package io.promptfleet.dispatcher.lease;

import static io.promptfleet.dispatcher.testing.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Route;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.Lease;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.route.RouteBreakers;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.status.StatusBoard;
import io.promptfleet.dispatcher.testing.Fixtures;
import io.promptfleet.dispatcher.testing.ManualClock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LeaseLedgerTest {
  private static final FleetConfig CONFIG = Fixtures.config(Fixtures.TWO_KEYS + """
      dispatcher:
        lease_grace_ms: 1000
        breaker: {window_size: 10, minimum_calls: 10}
      """);
  private static final String ROUTE = "p/first";

  private final ManualClock clock = new ManualClock();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final KeyPool keys = new KeyPool(CONFIG.keys(), CONFIG.dispatcher().rateWindowMs());
  private final RouteBreakers breakers = new RouteBreakers(CONFIG.dispatcher().breaker(), registry, clock);
  private final StatusBoard board = new StatusBoard(CONFIG);
  private final LeaseLedger ledger = new LeaseLedger(CONFIG, keys, breakers, board, new DispatcherMetrics(registry),
      "pf-dispatcher-test");

  /** A lease as the transaction writer takes it: the route planner took the breaker permit first. */
  private Lease dispatch(String key, long reserve) {
    assertThat(breakers.tryAcquire(ROUTE)).isTrue();
    return ledger.acquire(key, "j", ROUTE, Instant.ofEpochMilli(T0 + 10_000), reserve, T0);
  }

  private static ArchivedAssignment archivedOf(Lease l, int deliveries) {
    Job job = new Job("j", "m", List.of(), null, "llm.replies", null, null, null, null, Map.of());
    Assignment a = new Assignment(l.leaseId(), job, 1, Priority.NORMAL, new Route(ROUTE, "p", "first", null, null,
        null, null, null, Job.MAX_TOKENS, 100), l.keyId(), Instant.ofEpochMilli(T0), Instant.ofEpochMilli(T0),
        Instant.ofEpochMilli(T0 + 10_000), "llm.replies", null);
    return new ArchivedAssignment(a, deliveries, "delivery count limit reached", "llm.assignments-0@7");
  }

  @Test
  void shouldGiveTheKeyBackAndCorrectTheReservationToTheReportedUsageWhenTheWorkerReleases() {
    ledger.startTerm("t1-");
    Lease l = dispatch("k1", 1_000);
    assertThat(l.leaseId()).startsWith("t1-");
    assertThat(l.expiresAt()).as("deadline plus lease_grace_ms").isEqualTo(Instant.ofEpochMilli(T0 + 11_000));
    assertThat(keys.inFlight("k1")).isEqualTo(1);
    assertThat(keys.tokensInWindow("k1", T0)).isEqualTo(1_000);

    ledger.released(Fixtures.released(l.leaseId(), "k1", ROUTE, "succeeded", null, 200, 40L), T0 + 5, T0 + 5);
    ledger.released(Fixtures.released(l.leaseId(), "k1", ROUTE, "succeeded", null, 200, 40L), T0 + 9, T0 + 9);

    var held = registry.get("promptfleet.key.lease.held").tag("key", "k1").timer();
    assertThat(held.count()).as("one lease released once (the second release is ignored)").isEqualTo(1);
    assertThat(held.totalTime(java.util.concurrent.TimeUnit.MILLISECONDS)).as("dispatched at T0, read at T0 + 5")
        .isEqualTo(5.0);
    assertThat(keys.inFlight("k1")).isZero();
    assertThat(keys.tokensInWindow("k1", T0 + 5)).isEqualTo(40);
    assertThat(keys.requestsInWindow("k1", T0 + 5)).as("the request stays counted in its window").isEqualTo(1);
    assertThat(board.tokens()).isEqualTo(40);
  }

  @Test
  void shouldAnswerAnArchivedAssignmentOnceWithFailedDeliveryLimitAndItsOwnLeaseReleased() {
    Lease l = dispatch("k1", 100);

    Decision.Archived first = ledger.archived(archivedOf(l, 3), T0 + 100);
    Decision.Archived again = ledger.archived(archivedOf(l, 3), T0 + 200);

    assertThat(first).isNotNull();
    assertThat(first.answer().replyTo()).isEqualTo("llm.replies");
    assertThat(first.answer().result().status()).isEqualTo(JobStatus.FAILED);
    assertThat(first.answer().result().error().code()).isEqualTo(ErrorCodes.DELIVERY_LIMIT);
    assertThat(first.answer().result().error().message()).contains("delivered 3 time(s) without an answer");
    assertThat(first.answer().result().attempts()).as("attempt 1 plus two redeliveries").isEqualTo(3);
    FleetEvent released = first.released();
    assertThat(released.type()).isEqualTo(FleetEvent.Type.LEASE_RELEASED);
    assertThat(released.leaseId()).isEqualTo(l.leaseId());
    assertThat(released.workerId()).isEqualTo("pf-dispatcher-test");
    assertThat(released.errorCode()).isEqualTo(ErrorCodes.DELIVERY_LIMIT);
    assertThat(keys.inFlight("k1")).isZero();
    assertThat(again).as("a duplicate dead letter finds the lease released").isNull();
  }

  @Test
  void shouldNotAnswerAnArchivedAssignmentWhoseWorkerReleasedItsLease() {
    Lease l = dispatch("k1", 100);
    ledger.released(Fixtures.released(l.leaseId(), "k1", ROUTE, "succeeded", null, 200, 10L), T0 + 5, T0 + 5);

    assertThat(ledger.archived(archivedOf(l, 5), T0 + 10)).isNull();
  }

  @Test
  void shouldStillAnswerAnArchivedAssignmentWhoseLeaseExpiredWithoutARelease() {
    Lease l = dispatch("k1", 100);

    assertThat(ledger.expire(T0 + 10_999)).isEmpty();
    assertThat(ledger.expire(T0 + 11_000)).extracting(Lease::leaseId).containsExactly(l.leaseId());
    assertThat(keys.inFlight("k1")).isZero();
    assertThat(ledger.expiredUnreleased(l.leaseId())).isTrue();

    assertThat(ledger.archived(archivedOf(l, 5), T0 + 12_000)).isNotNull();
    assertThat(ledger.archived(archivedOf(l, 5), T0 + 12_001)).isNull();
    assertThat(ledger.expiredUnreleased(l.leaseId())).isFalse();
  }

  @Test
  void shouldUndoTheLeasesOfAnAbortedTransactionCompletely() {
    Lease a = dispatch("k1", 300);
    Lease b = dispatch("k2", 300);

    ledger.undo(List.of(a, b), T0 + 1);

    for (String k : List.of("k1", "k2")) {
      assertThat(keys.inFlight(k)).isZero();
      assertThat(keys.requestsInWindow(k, T0 + 1)).isZero();
      assertThat(keys.tokensInWindow(k, T0 + 1)).isZero();
    }
    assertThat(ledger.held()).isEmpty();
  }

  @Test
  void shouldNotBlameTheRouteForThe429sOfAKeyThatIsCoolingDownAlready() {
    for (int i = 0; i < 10; i++) {
      long at = T0 + i * 1_000L;
      assertThat(breakers.tryAcquire(ROUTE)).isTrue();
      Lease l = ledger.acquire("k1", "j" + i, ROUTE, Instant.ofEpochMilli(at + 10_000), 1, at);
      keys.coolDown("k1", at + 500); // the first 429 of the storm cooled the key down
      ledger.released(Fixtures.released(l.leaseId(), "k1", ROUTE, "retry", ErrorCodes.UPSTREAM_RATE_LIMITED, 429,
          null), at + 1, at + 1);
    }
    assertThat(breakers.state(ROUTE)).as("one storm on one key is the key's problem").isEqualTo(
        CircuitBreaker.State.CLOSED);
  }

  @Test
  void shouldOpenTheRouteOnAStormOf429sFromKeysThatWereNotCoolingDown() {
    for (int i = 0; i < 10; i++) {
      Lease l = dispatch("k1", 1);
      ledger.released(Fixtures.released(l.leaseId(), "k1", ROUTE, "retry", ErrorCodes.UPSTREAM_RATE_LIMITED, 429,
          null), T0 + 1, T0 + 1);
    }
    assertThat(breakers.state(ROUTE)).isEqualTo(CircuitBreaker.State.OPEN);
  }

  @Test
  void shouldRestoreALeaseStillRunningAndCountOneThatExpiredDuringTheOutage() {
    Lease running = new Lease("a", "k1", "j1", ROUTE, Instant.ofEpochMilli(T0 + 60_000), 500, T0);
    Lease gone = new Lease("b", "k2", "j2", ROUTE, Instant.ofEpochMilli(T0 + 10), 700, T0);
    Lease unknownKey = new Lease("c", "nope", "j3", ROUTE, Instant.ofEpochMilli(T0 + 10), 700, T0);

    assertThat(ledger.restore(running, T0 + 1_000)).isTrue();
    assertThat(ledger.restore(gone, T0 + 1_000)).isFalse();
    assertThat(ledger.restore(unknownKey, T0 + 1_000)).isFalse();

    assertThat(keys.inFlight("k1")).isEqualTo(1);
    assertThat(keys.inFlight("k2")).isZero();
    assertThat(keys.tokensInWindow("k2", T0 + 1_000)).isEqualTo(700);
    assertThat(ledger.expiredUnreleased("b")).isTrue();
    assertThat(ledger.expiredUnreleased("c")).isFalse();
  }
}
