package io.promptfleet.dispatcher.ha;

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
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.TokenEstimator;
import io.promptfleet.dispatcher.feedback.KeyFeedback;
import io.promptfleet.dispatcher.intake.CancelledJobs;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.intake.Inbound;
import io.promptfleet.dispatcher.intake.Outbox;
import io.promptfleet.dispatcher.lease.ArchivedAssignment;
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

class TakeoverTest {
  private static final FleetConfig CONFIG = Fixtures.config(Fixtures.TWO_KEYS + """
      dispatcher: {lease_grace_ms: 1000, rebuild_lookback_ms: 600000}
      """);
  private static final TopicSettings T = CONFIG.topics();
  private static final long NOW = T0 + 60_000;

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final KeyPool keys = new KeyPool(CONFIG.keys(), CONFIG.dispatcher().rateWindowMs());
  private final DispatcherMetrics metrics = new DispatcherMetrics(registry);
  private final LeaseLedger ledger = new LeaseLedger(CONFIG, keys,
      new RouteBreakers(CONFIG.dispatcher().breaker(), registry, new ManualClock()), new StatusBoard(CONFIG), metrics,
      "d2");
  private final CancelledJobs cancelled = new CancelledJobs(100);
  private final Outbox outbox = new Outbox();
  private final TokenEstimator tokens = new TokenEstimator();
  private final Takeover takeover = new Takeover(CONFIG, "d2", ledger,
      new KeyFeedback(CONFIG, keys, () -> 0, metrics), cancelled, outbox, tokens, metrics);

  /** An assignment its predecessor wrote at {@code atMs}, for a job with a limit of 50 tokens. */
  private static Assignment assignment(String leaseId, String key, long atMs, long deadlineMs) {
    Job job = Json.read(Fixtures.job("job-" + leaseId, "m", ",\"max_tokens\":50"), Job.class)
        .withReplyTo("llm.replies");
    return new Assignment(leaseId, job, 1, Priority.NORMAL, CONFIG.models().get("m").routes().get(0).toRoute("m"),
        key, Instant.ofEpochMilli(atMs), Instant.ofEpochMilli(atMs), Instant.ofEpochMilli(deadlineMs),
        "llm.replies");
  }

  private static Inbound written(Assignment a, long offset) {
    return Fixtures.record(T.assignments(), offset, a.dispatchedAt().toEpochMilli(), a.job().jobId(),
        Json.bytes(a));
  }

  private long reserveOf(Assignment a) {
    return tokens.estimate(a.job()).fixedTokens() + 50;
  }

  @Test
  void shouldReadBackFromTheLookback() {
    assertThat(takeover.readFromMs(NOW)).isEqualTo(NOW - 600_000);
  }

  @Test
  void shouldHoldAgainEveryLeaseNobodyReleasedAndCountReleasedOnesInTheWindows() {
    Assignment a1 = assignment("a1", "k1", T0, NOW + 60_000);
    Assignment a2 = assignment("a2", "k1", T0 + 1, NOW + 60_000);
    Assignment a3 = assignment("a3", "k2", T0 + 2, NOW + 60_000);
    Inbound release = Fixtures.event(T.fleetEvents(), 0, Fixtures.released("a2", "k1", "p/first", "succeeded", null,
        200, 7L), T0 + 500);

    Takeover.Rebuilt r = takeover.activate("t2-", List.of(written(a1, 0), written(a2, 1), written(a3, 2)),
        List.of(release), NOW);

    assertThat(r).isEqualTo(new Takeover.Rebuilt(2, 3, 1));
    assertThat(ledger.held()).containsOnlyKeys("a1", "a3");
    assertThat(keys.inFlight("k1")).isEqualTo(1);
    assertThat(keys.inFlight("k2")).isEqualTo(1);
    assertThat(keys.requestsInWindow("k1", NOW)).isEqualTo(2);
    assertThat(keys.tokensInWindow("k1", NOW)).as("a1's reservation plus a2's reported usage")
        .isEqualTo(reserveOf(a1) + 7);
    assertThat(registry.get("promptfleet.dispatcher.leases.rebuilt").counter().count()).isEqualTo(2);
    assertThat(ledger.acquire("k2", "j", "p/first", Instant.ofEpochMilli(NOW + 1), 1, NOW).leaseId())
        .as("the new term's lease ids").startsWith("t2-");
  }

  @Test
  void shouldAnswerAnArchivedAssignmentOnlyWhenNoReleaseOfItsLeaseWasRead() {
    Assignment unanswered = assignment("a1", "k1", T0, NOW + 60_000);
    Assignment answered = assignment("a2", "k2", T0, NOW + 60_000);
    FleetEvent madeByPredecessor = new LeaseLedger(CONFIG, new KeyPool(CONFIG.keys(), 60_000), null, null, null,
        "d1").answer(new ArchivedAssignment(answered, 5, "limit", "x"), true, T0 + 900).released();

    takeover.activate("t2-", List.of(written(unanswered, 0), written(answered, 1)), List.of(
        Fixtures.archived(T.assignmentsDlq(), 0, answered, 5, T0 + 800),
        Fixtures.archived(T.assignmentsDlq(), 1, unanswered, 5, T0 + 800),
        Fixtures.event(T.fleetEvents(), 0, madeByPredecessor, T0 + 900)), NOW);

    assertThat(outbox.entries()).singleElement().satisfies(e -> {
      assertThat(e.tp()).isNull();
      assertThat(e.decision()).isInstanceOfSatisfying(Decision.Archived.class, x -> {
        assertThat(x.answer().result().jobId()).isEqualTo("job-a1");
        assertThat(x.answer().result().error().code()).isEqualTo(ErrorCodes.DELIVERY_LIMIT);
        assertThat(x.released().leaseId()).isEqualTo("a1");
        assertThat(x.released().workerId()).isEqualTo("d2");
      });
    });
    assertThat(ledger.held()).as("neither lease is held: one is answered now, one was before").isEmpty();
    assertThat(keys.requestsInWindow("k1", NOW)).isEqualTo(1);
  }

  @Test
  void shouldAnswerAnArchivedAssignmentOlderThanTheLookbackOnceWhenNoReleaseOfItWasRead() {
    // dispatched 15 minutes before NOW: older than the 10-minute lookback, so not read back at all
    Assignment old = assignment("a1", "k1", NOW - 900_000, NOW + 60_000);
    Assignment oldButReleased = assignment("a2", "k2", NOW - 900_000, NOW + 60_000);
    Inbound release = Fixtures.event(T.fleetEvents(), 0, Fixtures.released("a2", "k2", "p/first", "failed",
        "upstream_error", 500, 7L), NOW - 500_000);

    takeover.activate("t2-", List.of(), List.of(release,
        Fixtures.archived(T.assignmentsDlq(), 0, old, 5, NOW - 400_000),
        Fixtures.archived(T.assignmentsDlq(), 1, oldButReleased, 5, NOW - 400_000)), NOW);

    assertThat(outbox.entries()).as("the unknown one answered, not the one a release of the window names")
        .singleElement().satisfies(e -> assertThat(e.decision()).isInstanceOfSatisfying(Decision.Archived.class,
            x -> assertThat(x.answer().result().jobId()).isEqualTo("job-a1")));
    assertThat(ledger.archived(new ArchivedAssignment(old, 5, "limit", "x"), NOW + 1))
        .as("read live by this term: dispatched before what it read back, so answered too").isNotNull();
    assertThat(ledger.archived(new ArchivedAssignment(assignment("a3", "k1", NOW - 1_000, NOW + 60_000), 5, "limit",
        "x"), NOW + 1)).as("dispatched within the window and not held: released already").isNull();
  }

  @Test
  void shouldRememberALeaseThatExpiredDuringTheOutageSoItsArchivedAssignmentIsStillAnswered() {
    Assignment expired = assignment("a1", "k1", T0, NOW - 5_000);

    takeover.activate("t2-", List.of(written(expired, 0)), List.of(), NOW);

    assertThat(ledger.held()).isEmpty();
    assertThat(keys.tokensInWindow("k1", NOW)).isEqualTo(reserveOf(expired));
    assertThat(ledger.archived(new ArchivedAssignment(expired, 5, "limit", "x"), NOW + 1)).isNotNull();
  }

  @Test
  void shouldRestoreCancelsAndCooldownsThatStillRun() {
    FleetEvent cooldown = Fixtures.rateLimited("gone-lease", "k2", 30_000L, null);

    takeover.activate("t2-", List.of(), List.of(
        Fixtures.record(T.cancels(), 0, T0, "cancel-me", null),
        Fixtures.event(T.fleetEvents(), 0, cooldown, NOW - 10_000)), NOW);

    assertThat(cancelled.contains("cancel-me")).isTrue();
    assertThat(cancelled.sweepDue()).isTrue();
    assertThat(keys.isCoolingDown("k2", NOW)).isTrue();
    assertThat(keys.isCoolingDown("k2", NOW + 20_000)).isFalse();
  }

  @Test
  void shouldSkipWhatItCannotReadWithoutDeadLetteringItAgain() {
    byte[] garbage = "not json".getBytes(StandardCharsets.UTF_8);

    Takeover.Rebuilt r = takeover.activate("t2-", List.of(Fixtures.record(T.assignments(), 0, T0, "x", garbage)),
        List.of(Fixtures.record(T.fleetEvents(), 0, T0, "x", garbage),
            Fixtures.record(T.cancels(), 0, T0, null, "{}".getBytes(StandardCharsets.UTF_8)),
            new Inbound(T.assignmentsDlq(), 0, 0, T0, null, null)), NOW);

    assertThat(r).isEqualTo(new Takeover.Rebuilt(0, 0, 3));
    assertThat(outbox.isEmpty()).as("the dispatcher active when they arrived dead-lettered them").isTrue();
  }
}
