package io.promptfleet.dispatcher.transaction;

import static io.promptfleet.dispatcher.testing.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.TopicSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Result;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.TokenEstimator;
import io.promptfleet.dispatcher.intake.CancelledJobs;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.intake.JobIntake;
import io.promptfleet.dispatcher.intake.Outbox;
import io.promptfleet.dispatcher.intake.Pending;
import io.promptfleet.dispatcher.lease.LeaseLedger;
import io.promptfleet.dispatcher.offsets.OffsetTracker;
import io.promptfleet.dispatcher.route.RouteBreakers;
import io.promptfleet.dispatcher.route.RoutePlanner;
import io.promptfleet.dispatcher.schedule.ReadyQueues;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.status.StatusBoard;
import io.promptfleet.dispatcher.tenant.BudgetWaits;
import io.promptfleet.dispatcher.tenant.SpendSnapshot;
import io.promptfleet.dispatcher.tenant.TenantBudgets;
import io.promptfleet.dispatcher.intake.AllTopicsExist;
import io.promptfleet.dispatcher.testing.Fixtures;
import io.promptfleet.dispatcher.testing.ManualClock;
import io.promptfleet.dispatcher.testing.RecordingSink;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * The budget check before a job is planned: a tenant over budget is answered or waits without holding up another
 * tenant, a dispatched job reserves its worst case, and the round ends with the tenant's spend snapshot.
 */
class TenantBudgetWriterTest {
  /** Each job reserves 100 completion tokens plus its prompt estimate (a few); acme may use 150 tokens a day. */
  private static final String KEYS = """
      keys:
        k: {provider: p, secret_env: PF_TEST_K1, max_concurrency: 10}
      models:
        m:
          routes:
            - {provider: p, model: first, default_max_tokens: 100}
      """;
  private static final FleetConfig REJECTS = Fixtures.config(KEYS + """
      tenants:
        acme: {budget: {tokens_per_day: 150}}
        beta: {}
      """);
  private static final FleetConfig QUEUES = Fixtures.config(KEYS + """
      dispatcher: {default_job_ttl_ms: 172800000}
      tenants:
        acme: {budget: {tokens_per_day: 150, on_exceeded: queue}}
        beta: {}
      """);
  private static final long NOW = T0 + 1_000;

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final DispatcherMetrics metrics = new DispatcherMetrics(registry);
  private final Outbox outbox = new Outbox();
  private final OffsetTracker offsets = new OffsetTracker();
  private final RecordingSink sink = new RecordingSink();
  private final TokenEstimator tokens = new TokenEstimator();
  private FleetConfig config;
  private ReadyQueues<Pending> queues;
  private TenantBudgets budgets;
  private BudgetWaits waits;
  private TransactionWriter writer;

  private void start(FleetConfig c) {
    config = c;
    KeyPool keys = new KeyPool(c.keys(), 60_000);
    RouteBreakers breakers = new RouteBreakers(c.dispatcher().breaker(), registry, new ManualClock());
    LeaseLedger ledger = new LeaseLedger(c, keys, breakers, new StatusBoard(c), metrics, "d");
    ledger.startTerm("t-");
    queues = new ReadyQueues<>(c.dispatcher().priority(), Pending::readyAtMs);
    budgets = new TenantBudgets(c, metrics);
    waits = new BudgetWaits(budgets, new CancelledJobs(10), TenantBudgets.tenantTopics(c)::contains);
    writer = new TransactionWriter(c.topics(), outbox, queues, new RoutePlanner(c, keys, breakers), ledger, offsets,
        metrics, budgets, waits);
    writer.replyTopics(new AllTopicsExist());
  }

  /** A job of {@code tenant} read from its normal topic at {@code offset}, queued. */
  private TopicPartition queue(String tenant, String jobId, long offset) {
    String topic = config.tenants().get(tenant).topics().normal();
    TopicPartition tp = new TopicPartition(topic, 0);
    offsets.read(tp, offset);
    Decision.Dispatch d = (Decision.Dispatch) new JobIntake(config).ofJob(topic, Fixtures.job(jobId, "m", ""),
        Instant.ofEpochMilli(T0), Instant.ofEpochMilli(T0));
    queues.add("m", Lane.NORMAL, new Pending(tp, offset, Lane.NORMAL, "m", d, Priority.NORMAL, T0 + offset,
        tokens.estimate(d.job()), null, null));
    return tp;
  }

  private java.util.Map<TopicPartition, org.apache.kafka.clients.consumer.OffsetAndMetadata> lastCommit;

  private List<String> write(long now) {
    sink.reset();
    writer.write(sink, now);
    lastCommit = writer.offsetsToCommit();
    writer.committed(lastCommit);
    return sink.sent.stream().map(o -> o.topic() + ":" + o.key()).toList();
  }

  private static FleetEvent released(String leaseId, long tokens) {
    return Fixtures.released(leaseId, "k", "p/first", "succeeded", null, 200, tokens);
  }

  @Test
  void shouldRejectWhatNoLongerFitsAndLetAnotherTenantGoOn() {
    start(REJECTS);
    TopicPartition acme = queue("acme", "a1", 0);
    queue("acme", "a2", 1);
    queue("beta", "b1", 0);
    List<String> first = write(NOW);
    assertThat(first).as("a2 waits for a1's reservation to settle; beta goes on").containsExactly(
        "llm.assignments:a1", "llm.assignments:b1", "llm.fleet.events:tenant_spend:acme");
    assertThat(waits.size()).isEqualTo(1);
    assertThat(lastCommit.get(acme).offset()).as("a1 is done; a2, waiting, is not").isEqualTo(1);
    Assignment a1 = Json.read(sink.sent.get(0).value(), Assignment.class);
    budgets.released(released(a1.leaseId(), 100), NOW + 10);

    List<String> second = write(NOW + 20);
    assertThat(second).containsExactly(config.tenants().get("acme").defaultReplyTo() + ":a2");
    Result r = Json.read(sink.sent.get(0).value(), Result.class);
    assertThat(r.status()).isEqualTo(JobStatus.REJECTED);
    assertThat(r.error().code()).isEqualTo(ErrorCodes.BUDGET_EXCEEDED);
    assertThat(r.error().message()).startsWith("tenant acme has used 100 of its tokens_per_day 150 on 2026-01-01");
    assertThat(waits.size()).isZero();
    assertThat(lastCommit.get(acme).offset()).isEqualTo(2);
    assertThat(registry.get("promptfleet.tenant.budget.exceeded").tags("tenant", "acme", "outcome", "rejected")
        .counter().count()).isEqualTo(1);
  }

  @Test
  void shouldKeepAQueuedJobWaitingUntilTheNextUtcDayAndWriteTheSpendSnapshot() {
    start(QUEUES);
    queue("acme", "a1", 0);
    List<String> first = write(NOW);
    Assignment a1 = Json.read(sink.sent.get(0).value(), Assignment.class);
    assertThat(first).containsExactly("llm.assignments:a1", "llm.fleet.events:tenant_spend:acme");
    SpendSnapshot snapshot = Json.read(sink.sent.get(1).value(), SpendSnapshot.class);
    assertThat(snapshot.inFlight()).containsOnlyKeys(a1.leaseId());
    assertThat(new String(sink.sent.get(1).headers().lastHeader(SpendSnapshot.HEADER).value()))
        .isEqualTo(SpendSnapshot.KIND);
    budgets.released(released(a1.leaseId(), 100), NOW + 10);
    queue("acme", "a2", 1);
    assertThat(write(NOW + 1_020)).as("over budget: it waits; the settled spend is snapshotted")
        .containsExactly("llm.fleet.events:tenant_spend:acme");
    assertThat(waits.held(Lane.NORMAL)).isEqualTo(1);
    long nextDay = T0 + 86_400_000L;
    assertThat(write(nextDay)).containsExactly("llm.assignments:a2", "llm.fleet.events:tenant_spend:acme");
  }
}
