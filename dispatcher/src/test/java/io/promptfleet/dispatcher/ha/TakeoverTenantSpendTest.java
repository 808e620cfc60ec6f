package io.promptfleet.dispatcher.ha;

import static io.promptfleet.dispatcher.testing.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.TopicSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Priority;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.TokenEstimator;
import io.promptfleet.dispatcher.feedback.KeyFeedback;
import io.promptfleet.dispatcher.intake.CancelledJobs;
import io.promptfleet.dispatcher.intake.JobIdWindow;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.intake.Inbound;
import io.promptfleet.dispatcher.intake.Outbox;
import io.promptfleet.dispatcher.intake.Pending;
import io.promptfleet.dispatcher.lease.LeaseLedger;
import io.promptfleet.dispatcher.route.RouteBreakers;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.status.StatusBoard;
import io.promptfleet.dispatcher.tenant.SpendSnapshot;
import io.promptfleet.dispatcher.tenant.TenantBudgets;
import io.promptfleet.dispatcher.testing.Fixtures;
import io.promptfleet.dispatcher.testing.ManualClock;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

/**
 * A tenant's spend survives a failover: the dispatcher taking over reads its predecessor's spend snapshot and the
 * assignments and releases around it back, and counts every lease of the day exactly once.
 */
class TakeoverTenantSpendTest {
  private static final FleetConfig CONFIG = Fixtures.config(Fixtures.TWO_KEYS + """
      dispatcher: {lease_grace_ms: 1000, rebuild_lookback_ms: 600000}
      tenants:
        acme: {budget: {tokens_per_day: 10000}}
      """);
  private static final TopicSettings T = CONFIG.topics();
  private static final long NOW = T0 + 60_000;

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final DispatcherMetrics metrics = new DispatcherMetrics(registry);
  private final TokenEstimator tokens = new TokenEstimator();

  /** An acme job with a limit of 50 tokens, assigned at {@code atMs} on the model's first route. */
  private static Assignment assignment(String leaseId, long atMs) {
    Job job = Json.read(Fixtures.job("job-" + leaseId, "m", ",\"max_tokens\":50"), Job.class)
        .withReplyTo("llm.acme.replies").withTenant("acme");
    return new Assignment(leaseId, job, 1, Priority.NORMAL, CONFIG.models().get("m").routes().get(0).toRoute("m"),
        "k1", Instant.ofEpochMilli(atMs), Instant.ofEpochMilli(atMs), Instant.ofEpochMilli(NOW + 60_000),
        "llm.acme.replies");
  }

  private long reserveOf(Assignment a) {
    return tokens.estimate(a.job()).fixedTokens() + 50;
  }

  private Pending pending(Assignment a) {
    return new Pending(new TopicPartition("llm.acme.jobs.normal", 0), 0, Lane.NORMAL, "m",
        new Decision.Dispatch(a.job(), 1, CONFIG.models().get("m").routes(), a.enqueuedAt(), a.deadline()),
        Priority.NORMAL, T0, tokens.estimate(a.job()), null, null);
  }

  private static Inbound written(Assignment a, long offset) {
    return Fixtures.record(T.assignments(), offset, a.dispatchedAt().toEpochMilli(), a.job().jobId(),
        Json.bytes(a));
  }

  private static Inbound released(String leaseId, long tokens, long atMs) {
    return Fixtures.event(T.fleetEvents(), atMs, Fixtures.released(leaseId, "k1", "p/first", "succeeded", null, 200,
        tokens), atMs);
  }

  @Test
  void shouldCountEveryLeaseOfTheDayOnceAfterATakeover() {
    Assignment a1 = assignment("a1", T0 + 1_000);
    Assignment a2 = assignment("a2", T0 + 2_000);
    Assignment a3 = assignment("a3", T0 + 9_000);
    // The predecessor: a1 and a2 dispatched, a1 released (70 tokens), a snapshot; then a3, a2 released (30); dies.
    TenantBudgets before = new TenantBudgets(CONFIG, metrics);
    before.reserve("a1", pending(a1), a1.route(), reserveOf(a1), T0 + 1_000);
    before.reserve("a2", pending(a2), a2.route(), reserveOf(a2), T0 + 2_000);
    before.released(Json.read(released("a1", 70, T0 + 3_000).value(),
        FleetEvent.class), T0 + 3_000);
    SpendSnapshot snapshot = before.snapshotsDue(T0 + 5_000).get(0);
    RecordHeaders h = new RecordHeaders();
    h.add(SpendSnapshot.HEADER, SpendSnapshot.kindBytes());
    Inbound snapshotRecord = new Inbound(T.fleetEvents(), 1, 0, T0 + 5_000, snapshot.key(), snapshot.bytes(), h);

    KeyPool keys = new KeyPool(CONFIG.keys(), CONFIG.dispatcher().rateWindowMs());
    LeaseLedger ledger = new LeaseLedger(CONFIG, keys, new RouteBreakers(CONFIG.dispatcher().breaker(), registry,
        new ManualClock()), new StatusBoard(CONFIG), metrics, "d2");
    TenantBudgets after = new TenantBudgets(CONFIG, new DispatcherMetrics(new SimpleMeterRegistry()));
    Takeover takeover = new Takeover(CONFIG, "d2", ledger, new KeyFeedback(CONFIG, keys, () -> 0, metrics),
        new CancelledJobs(100), new Outbox(), tokens, metrics, after, new JobIdWindow(0));

    takeover.activate("t2-", List.of(written(a1, 0), written(a2, 1), written(a3, 2)),
        List.of(released("a1", 70, T0 + 3_000), snapshotRecord, released("a2", 30, T0 + 10_000)), NOW);

    assertThat(ledger.held()).containsOnlyKeys("a3");
    assertThat(after.left("acme", NOW)[0]).as("70 in the snapshot, 30 after it, a3 still reserved")
        .isEqualTo(10_000 - 70 - 30 - reserveOf(a3));
    after.released(Json.read(released("a3", 5, NOW).value(), FleetEvent.class), NOW);
    assertThat(after.left("acme", NOW)[0]).isEqualTo(10_000 - 105);
  }
}
