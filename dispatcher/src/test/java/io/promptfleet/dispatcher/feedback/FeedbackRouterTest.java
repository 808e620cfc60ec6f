package io.promptfleet.dispatcher.feedback;

import io.promptfleet.common.kafka.FleetEventHeaders;
import io.promptfleet.common.job.LeaseOutcome;
import static io.promptfleet.dispatcher.testing.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.TopicSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.ProviderConnectionStats;
import io.promptfleet.common.job.Route;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.Lease;
import io.promptfleet.dispatcher.intake.CancelledJobs;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.intake.Inbound;
import io.promptfleet.dispatcher.intake.Outbox;
import io.promptfleet.dispatcher.lease.LeaseLedger;
import io.promptfleet.dispatcher.route.RouteBreakers;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.status.StatusBoard;
import io.promptfleet.dispatcher.testing.Fixtures;
import io.promptfleet.dispatcher.testing.ManualClock;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class FeedbackRouterTest {
  private static final FleetConfig CONFIG = Fixtures.config(Fixtures.TWO_KEYS);
  private static final TopicSettings T = CONFIG.topics();

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final KeyPool keys = new KeyPool(CONFIG.keys(), 60_000);
  private final RouteBreakers breakers = new RouteBreakers(CONFIG.dispatcher().breaker(), registry,
      new ManualClock());
  private final StatusBoard board = new StatusBoard(CONFIG);
  private final DispatcherMetrics metrics = new DispatcherMetrics(registry);
  private final LeaseLedger ledger = new LeaseLedger(CONFIG, keys, breakers, board, metrics, "d");
  private final CancelledJobs cancelled = new CancelledJobs(10);
  private final Outbox outbox = new Outbox();
  private final FeedbackRouter router = new FeedbackRouter(T, ledger,
      new KeyFeedback(CONFIG, keys, () -> 0, metrics), cancelled, board, outbox);

  private Lease dispatch() {
    breakers.tryAcquire("p/first");
    return ledger.acquire("k1", "j", "p/first", Instant.ofEpochMilli(T0 + 60_000), 10, T0);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void shouldRememberACancelInAnyOfItsFormsAndAskForASweep() {
    router.apply(Fixtures.record(T.cancels(), 0, T0, "by-key", null), T0);
    router.apply(Fixtures.record(T.cancels(), 1, T0, null, utf8("\"as-json-string\"")), T0);
    router.apply(Fixtures.record(T.cancels(), 2, T0, null, utf8("{\"job_id\":\"as-object\"}")), T0);
    router.apply(Fixtures.record(T.cancels(), 3, T0, null, utf8("plain-text")), T0);

    assertThat(List.of("by-key", "as-json-string", "as-object", "plain-text")).allMatch(cancelled::contains);
    assertThat(cancelled.sweepDue()).isTrue();
    assertThat(outbox.isEmpty()).isTrue();
  }

  @Test
  void shouldDeadLetterAnUnreadableCancelOrFleetEventWithTheReason() {
    Inbound cancel = Fixtures.record(T.cancels(), 5, T0, null, utf8("{\"nope\":1}"));
    Inbound event = Fixtures.record(T.fleetEvents(), 6, T0, null, utf8("{\"at\":\"2026-01-01T00:00:00Z\"}"));

    router.apply(cancel, T0);
    router.apply(event, T0);

    assertThat(outbox.entries()).hasSize(2).allSatisfy(e -> assertThat(e.tp()).as("not a job record").isNull());
    assertThat(outbox.entries().get(0).source()).isSameAs(cancel);
    assertThat(((Decision.DeadLetter) outbox.entries().get(0).decision()).reason()).startsWith("unreadable cancel");
    assertThat(((Decision.DeadLetter) outbox.entries().get(1).decision()).reason())
        .isEqualTo("unreadable fleet event: no type");
  }

  @Test
  void shouldSkipALeaseStartedEventByItsGistHeaderWithoutParsingIt() {
    Lease l = dispatch();
    FleetEvent started = new FleetEvent(FleetEvent.Type.LEASE_STARTED, Instant.ofEpochMilli(T0), "w1", l.leaseId(),
        "j", "k1", "p/first", null, null, null, null, null, null, null, null, null, null, null);
    FleetEvent released = FleetEvent.leaseReleased(l.leaseId(), "j", "k1", "p/first", LeaseOutcome.SUCCEEDED)
        .by("w1", Instant.ofEpochMilli(T0 + 5));

    // a value no reader could parse: dead-lettered if it were read
    router.apply(new Inbound(T.fleetEvents(), 0, 7, T0, "k1", utf8("not json"), FleetEventHeaders.of(started)), T0);
    assertThat(outbox.isEmpty()).isTrue();
    assertThat(keys.inFlight("k1")).isEqualTo(1);
    router.apply(new Inbound(T.fleetEvents(), 0, 8, T0 + 5, "k1", Json.bytes(released),
        FleetEventHeaders.of(released)), T0 + 10);

    assertThat(keys.inFlight("k1")).as("a release is read whole, header or not").isZero();
  }

  @Test
  void shouldReleaseTheLeaseAndApplyTheKeysFeedbackOnARelease() {
    Lease l = dispatch();

    router.apply(Fixtures.event(T.fleetEvents(), 0, Fixtures.rateLimited(l.leaseId(), "k1", 5_000L, null), T0 + 10),
        T0 + 20);

    assertThat(keys.inFlight("k1")).isZero();
    assertThat(keys.cooldownUntil("k1")).as("from the event's time").isEqualTo(T0 + 5_010);
  }

  @Test
  void shouldKeepTheLeaseWhenTheAssignmentWasHandedBackToTheShareGroup() {
    Lease l = dispatch();

    router.apply(Fixtures.event(T.fleetEvents(), 0, Fixtures.released(l.leaseId(), "k1", "p/first", "handed_back",
        ErrorCodes.UPSTREAM_RATE_LIMITED, 429, null), T0 + 10), T0 + 20);

    assertThat(keys.inFlight("k1")).as("another worker runs it under the same lease").isEqualTo(1);
    assertThat(keys.isCoolingDown("k1", T0 + 20)).isFalse();
  }

  @Test
  void shouldShowWorkersFromTheirHeartbeats() {
    router.apply(Fixtures.event(T.fleetEvents(), 0, Fixtures.heartbeat("w7", 64, 60), T0), T0);

    assertThat(board.workers(T0)).singleElement().satisfies(w -> {
      assertThat(w.id()).isEqualTo("w7");
      assertThat(w.slotsFree()).isEqualTo(60);
    });
  }

  @Test
  void shouldShowTheConnectionsAWorkerReportsInItsHeartbeat() {
    FleetEvent beat = FleetEvent.heartbeat(Instant.ofEpochMilli(T0), "w7", 64, 60,
        List.of(new ProviderConnectionStats("p", 3, 1, 12, 2, 40, 40, 80_000, 4, 6)));

    router.apply(Fixtures.event(T.fleetEvents(), 0, beat, T0), T0);

    assertThat(board.connections()).singleElement().satisfies(p -> {
      assertThat(p.provider()).isEqualTo("p");
      assertThat(p.open()).isEqualTo(3);
      assertThat(p.http2()).isEqualTo(1);
      assertThat(p.streams()).isEqualTo(12);
      assertThat(p.waiting()).isEqualTo(2);
      assertThat(p.opened()).isEqualTo(40);
      assertThat(p.connectFailures()).isEqualTo(4);
      assertThat(p.connectOverloaded()).isEqualTo(6);
    });
  }

  @Test
  void shouldReadHeartbeatsOfOlderAndNewerWorkers() {
    byte[] older = ("{\"type\":\"worker_heartbeat\",\"at\":\"2026-01-01T00:00:00Z\",\"worker_id\":\"old\","
        + "\"slots_total\":8,\"slots_free\":8}").getBytes(StandardCharsets.UTF_8);
    byte[] newer = ("{\"type\":\"worker_heartbeat\",\"at\":\"2026-01-01T00:00:00Z\",\"worker_id\":\"new\","
        + "\"slots_total\":8,\"slots_free\":8,\"drain\":true,\"connections\":[{\"provider\":\"p\",\"open\":2,"
        + "\"pool_age_ms\":9}]}").getBytes(StandardCharsets.UTF_8);

    router.apply(Fixtures.record(T.fleetEvents(), 0, T0, "old", older), T0);
    router.apply(Fixtures.record(T.fleetEvents(), 1, T0, "new", newer), T0);

    assertThat(board.workers(T0)).extracting(w -> w.id()).containsExactly("new", "old");
    assertThat(board.connections()).singleElement().satisfies(p -> assertThat(p.open()).isEqualTo(2));
  }

  @Test
  void shouldDeadLetterAHeartbeatWhoseConnectionsNameNoProvider() {
    byte[] bad = ("{\"type\":\"worker_heartbeat\",\"at\":\"2026-01-01T00:00:00Z\",\"worker_id\":\"w\","
        + "\"connections\":[{\"open\":2}]}").getBytes(StandardCharsets.UTF_8);

    router.apply(Fixtures.record(T.fleetEvents(), 0, T0, "w", bad), T0);

    assertThat(board.connections()).isEmpty();
    assertThat(outbox.entries()).singleElement().satisfies(e -> assertThat(((Decision.DeadLetter) e.decision())
        .reason()).isEqualTo("unreadable fleet event: connections[0] names no provider"));
  }

  @Test
  void shouldAnswerAnArchivedAssignmentOnceAndIgnoreOneItCannotRead() {
    Lease l = dispatch();
    Job job = Json.read(Fixtures.job("j", "m", ""), Job.class).withReplyTo("llm.replies");
    Assignment a = new Assignment(l.leaseId(), job, 1, Priority.NORMAL, new Route("p/first", "p", "first", null,
        null), "k1", Instant.ofEpochMilli(T0), Instant.ofEpochMilli(T0), Instant.ofEpochMilli(T0 + 60_000),
        "llm.replies");

    router.apply(Fixtures.archived(T.assignmentsDlq(), 0, a, 5, T0 + 1), T0 + 1);
    router.apply(Fixtures.archived(T.assignmentsDlq(), 1, a, 5, T0 + 2), T0 + 2);
    router.apply(new Inbound(T.assignmentsDlq(), 0, 2, T0, null, null), T0 + 3);

    assertThat(outbox.entries()).singleElement().satisfies(e -> {
      assertThat(e.tp()).isNull();
      assertThat(e.decision()).isInstanceOfSatisfying(Decision.Archived.class,
          x -> assertThat(x.answer().result().error().code()).isEqualTo(ErrorCodes.DELIVERY_LIMIT));
    });
    assertThat(keys.inFlight("k1")).isZero();
  }

  @Test
  void shouldReadTheBrokersDeadLetterHeaders() {
    Job job = Json.read(Fixtures.job("j", "m", ""), Job.class);
    Assignment a = new Assignment("l", job, 2, Priority.NORMAL, null, "k1", null, null, null, "r");

    var x = FeedbackRecords.archived(Fixtures.archived(T.assignmentsDlq(), 9, a, 4, T0));

    assertThat(x.readable()).isTrue();
    assertThat(x.deliveries()).isEqualTo(4);
    assertThat(x.where()).isEqualTo("llm.assignments-0@9");
    assertThat(x.why()).isEqualTo("delivery count limit reached");
    assertThat(FeedbackRecords.archived(new Inbound("dlq", 0, 0, T0, null, utf8("{}"))).readable()).isFalse();
  }
}
