package io.promptfleet.dispatcher.status;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.promptfleet.common.metrics.MeterCatalogue;
import io.promptfleet.common.metrics.MeterSpec;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * Every meter of the dispatcher, in one place: {@link Spec} lists each one's name, type, base unit, description and
 * tag keys, and every registration of the dispatcher goes through this class (the architecture module's
 * {@code MeterCatalogueTest} fails on a meter registered anywhere else; the route breakers register theirs here
 * too). Names are
 * lowercase with dots (Prometheus: underscores, counters end in {@code _total}); outcomes, reasons, keys and routes
 * are tags, never a job id. The Grafana dashboard queries these names: renaming one, or changing a base unit (which
 * renames the Prometheus series), breaks it.
 *
 * <p>Kafka's own client metrics come through {@link #kafkaClient}: Micrometer's {@code KafkaClientMetrics} for the
 * job consumer, the feedback consumer and (while active) the transactional producer, tagged {@code client.id} and
 * {@code kafka.version}, bound by the loop owner where it creates each client and closed with it. Measured on Kafka
 * 4.4 with one broker and 6 partitions per topic, after the default {@code Registries.kafkaClientSeries()} filter:
 * producer 98 series (74 plus 12 per broker connection), job consumer 192 (about 80 plus 12 per broker connection, 7
 * per job topic, 2 per job partition), feedback consumer 130 (about 50 plus 12 per broker connection, 7 per topic, 2
 * per partition of the fleet events, cancels and assignments' dead-letter queue): about 420 for an active
 * dispatcher, growing with brokers and partitions.
 *
 * <p>Thread-safe (Micrometer is): the counters are bumped on the dispatcher thread, the gauges read from any thread.
 */
public final class DispatcherMetrics extends MeterCatalogue<DispatcherMetrics.Spec> {

  /** A meter of the dispatcher: what Prometheus shows, and the tag keys its registrations must give values for. */
  public enum Spec implements MeterSpec {
    ASSIGNMENTS("promptfleet.dispatcher.assignments", Meter.Type.COUNTER, null, "assignments written"),
    DEAD_LETTERS("promptfleet.dispatcher.dead.letters", Meter.Type.COUNTER, null,
        "records that were not valid jobs, fleet events or cancels, sent to the dead-letter topic"),
    LEASES_RELEASED("promptfleet.dispatcher.leases.released", Meter.Type.COUNTER, null,
        "leases released by a worker's fleet event"),
    LEASES_EXPIRED("promptfleet.dispatcher.leases.expired", Meter.Type.COUNTER, null,
        "leases reclaimed because no worker released them"),
    LEASES_REBUILT("promptfleet.dispatcher.leases.rebuilt", Meter.Type.COUNTER, null,
        "in-flight leases restored from Kafka when this dispatcher became active"),
    TRANSACTIONS_ABORTED("promptfleet.dispatcher.transactions.aborted", Meter.Type.COUNTER, null,
        "dispatch transactions aborted and rewound"),
    TRANSACTION("promptfleet.dispatcher.transaction", Meter.Type.TIMER, "seconds",
        "a round's dispatch transaction (rounds that wrote something), by phase: write (the round's records built and "
            + "sent), offsets (sendOffsetsToTransaction), commit (commitTransaction: the sends flushed, EndTxn); the "
            + "three together are how long a round's assignments wait between their dispatched_at and their commit",
        "phase"),
    LEASE_HELD("promptfleet.key.lease.held", Meter.Type.TIMER, "seconds",
        "from an assignment's dispatch to the dispatcher reading its worker's release (leases released by a worker "
            + "only): against promptfleet_worker_stream_duration_seconds, the difference is the key's capacity held "
            + "in transit (the dispatch's commit, the share acquisition, the result's and the release's way back)",
        "key"),
    SUCCESSORS("promptfleet.dispatcher.successors", Meter.Type.COUNTER, null,
        "successor assignments (dispatcher.successors), by event: dispatched (written after a started lease of a full "
            + "key), followed (took its predecessor's unit when the predecessor's release was read), granted (took the "
            + "unit of another lease of its key, or of its expired predecessor, told with lease_granted unless it had "
            + "ended by then), "
            + "ended_waiting (its worker released it before it held a unit: cancelled, or past its deadline)",
        "event"),
    DUPLICATES("promptfleet.dispatcher.duplicates", Meter.Type.COUNTER, null,
        "job records whose job_id was admitted within dispatcher.dedupe_window_ms: not run again"),
    RECORDS_SKIPPED("promptfleet.dispatcher.records.skipped", Meter.Type.COUNTER, null,
        "job records read again after a rewind or takeover and skipped: the committed offset's metadata says they "
            + "were handled"),
    SPILLED("promptfleet.dispatcher.spilled", Meter.Type.COUNTER, null,
        "jobs copied to their model's spill topic because its ready queue was full (or earlier jobs of it wait "
            + "there); read back as the queue drains", "topic", "partition"),
    SPILL_BACKLOG("promptfleet.dispatcher.spill.backlog", Meter.Type.GAUGE, null,
        "jobs of the model waiting in its spill topic (about: transaction markers count until read past)", "model"),
    OFFSET_MAP_OVERFLOWS("promptfleet.dispatcher.offset.map.overflows", Meter.Type.COUNTER, null,
        "commits whose handled-records map did not fit the offset metadata: some records above the committed offset "
            + "would be handled again after a rewind or takeover"),
    ANSWERED("promptfleet.dispatcher.answered", Meter.Type.COUNTER, null,
        "jobs answered by the dispatcher without (another) attempt", "status"),
    KEY_EVENTS("promptfleet.key.events", Meter.Type.COUNTER, null, "rate-limit feedback applied to a key",
        "key", "event"),
    BUFFERED("promptfleet.dispatcher.buffered", Meter.Type.GAUGE, null, "jobs read from Kafka and waiting for a key"),
    SUCCESSORS_ENABLED("promptfleet.dispatcher.successors.enabled", Meter.Type.GAUGE, null,
        "1 while the dispatcher writes successor assignments (dispatcher.successors: true, or auto while every live "
            + "worker's heartbeat reports the current successor protocol), else 0"),
    KEY_SUCCESSORS_WAITING("promptfleet.key.successors.waiting", Meter.Type.GAUGE, null,
        "successor assignments (dispatcher.successors) waiting for a lease of the key to end; they hold none of its "
            + "concurrency", "key"),
    KEY_IN_FLIGHT("promptfleet.key.in.flight", Meter.Type.GAUGE, null, "assignments holding the key's concurrency",
        "key"),
    KEY_MAX_CONCURRENCY("promptfleet.key.max.concurrency", Meter.Type.GAUGE, null,
        "the key's configured concurrency", "key"),
    KEY_DISABLED("promptfleet.key.disabled", Meter.Type.GAUGE, null,
        "1 while the key is disabled after an auth, quota or spend-limit error", "key"),
    KEY_COOLING_DOWN("promptfleet.key.cooling.down", Meter.Type.GAUGE, null, "1 while the key cools down after a 429",
        "key"),
    ROUTE_BREAKER_TRANSITIONS("promptfleet.route.breaker.transitions", Meter.Type.COUNTER, null,
        "circuit breaker state changes per route", "route", "trigger", "from", "to"),
    ROUTE_BREAKER_STATE("promptfleet.route.breaker.state", Meter.Type.GAUGE, null,
        "0 closed, 1 half-open, 2 open (traffic goes down the fallback chain)", "route"),
    ROUTE_SLOW("promptfleet.route.slow", Meter.Type.GAUGE, null,
        "1 while more than slow_call_rate_percent of the route's first tokens take longer than slow_call_ms (jobs"
            + " with a fallback go down the chain; a route with none keeps serving)", "route"),
    ROUTE_FALLBACKS("promptfleet.route.fallbacks", Meter.Type.COUNTER, null,
        "jobs dispatched to a later route of their model's chain than the first, by the reason the first did not"
            + " take them (open, slow, unavailable, cannot_serve, overflow)", "model", "from", "to", "reason"),
    TENANT_TOKENS("promptfleet.tenant.tokens", Meter.Type.COUNTER, null,
        "tokens used, as workers reported them, by tenant (none: jobs without a tenant), model (its configured name,"
            + " * for pass-through) and kind (prompt, completion)", "tenant", "model", "kind"),
    TENANT_COST("promptfleet.tenant.cost", Meter.Type.COUNTER, "usd",
        "spend at the routes' prices, by tenant (none: jobs without a tenant) and model", "tenant", "model"),
    TENANT_BUDGET_REMAINING("promptfleet.tenant.budget.remaining", Meter.Type.GAUGE, null,
        "what is left of a tenant's daily budget today (UTC), in-flight reservations taken off, by kind (tokens,"
            + " cost_usd)", "tenant", "kind"),
    TENANT_BUDGET_EXCEEDED("promptfleet.tenant.budget.exceeded", Meter.Type.COUNTER, null,
        "jobs that did not fit what was left of their tenant's daily budget, by outcome (rejected; queued: held back"
            + " until the next UTC day, counted each time a waiting job is looked at again)", "tenant", "outcome"),
    BATCH_JOBS("promptfleet.dispatcher.batch.jobs", Meter.Type.COUNTER, null,
        "jobs allowing provider batching, by what became of them at intake: batched; live_deadline (their deadline "
            + "left less than the route's min_slack_ms), live_enqueued_tokens (the route's max_enqueued_tokens was "
            + "full), live_too_large (one request larger than max_file_bytes), live_unsupported (the batch's provider "
            + "cannot express the job; its live attempt says why)", "outcome"),
    BATCH_JOBS_WAITING("promptfleet.dispatcher.batch.jobs.waiting", Meter.Type.GAUGE, null,
        "jobs in provider batches not answered yet"),
    BATCHES("promptfleet.dispatcher.batches", Meter.Type.GAUGE, null,
        "provider batches open, by state (collecting: not created at the provider yet; submitted)", "state"),
    BATCH_TOKENS_ENQUEUED("promptfleet.dispatcher.batch.tokens.enqueued", Meter.Type.GAUGE, null,
        "estimated prompt and completion tokens of the jobs in open batches (what max_enqueued_tokens bounds)"),
    BATCHES_SUBMITTED("promptfleet.dispatcher.batches.submitted", Meter.Type.COUNTER, null,
        "provider batches created (or found again after a takeover)", "model"),
    BATCHES_CUT_OFF("promptfleet.dispatcher.batches.cut.off", Meter.Type.COUNTER, null,
        "provider batches cancelled because they had not ended deadline_margin_ms before a job's deadline (their "
            + "jobs ran live)", "model"),
    BATCH_ANSWERS("promptfleet.dispatcher.batch.answers", Meter.Type.COUNTER, null,
        "jobs leaving provider batches, by outcome: succeeded and failed (answered from the batch), cancelled, live "
            + "(not answered by the batch: run live)", "outcome"),
    BATCH_SAVINGS("promptfleet.dispatcher.batch.savings", Meter.Type.COUNTER, "usd",
        "live price minus batch price of the tokens batches served"),
    /**
     * A family, not one meter: {@code kafka.<group>.<name>} from the Kafka clients' own metrics, described by Kafka;
     * besides these tags, per-node meters add {@code node.id}, per-topic and per-partition ones {@code topic} and
     * {@code partition}.
     */
    KAFKA_CLIENT("kafka", Meter.Type.OTHER, null,
        "Kafka client metrics of the loop owner's consumers and producer (Micrometer KafkaClientMetrics)",
        "client.id", "kafka.version");

    private final Def def;

    /** See {@link MeterSpec.Def} for what each argument means; no dispatcher meter publishes a histogram. */
    Spec(String meterName, Meter.Type type, String baseUnit, String description, String... tagKeys) {
      this.def = new Def(meterName, type, baseUnit, false, description, List.of(tagKeys));
    }

    @Override
    public Def def() {
      return def;
    }
  }

  public final Counter dispatched;
  public final Counter deadLettered;
  public final Counter leasesReleased;
  public final Counter leasesExpired;
  public final Counter leasesRebuilt;
  public final Counter transactionsAborted;
  public final Counter recordsSkipped;
  public final Counter duplicates;
  public final Counter offsetMapOverflows;
  private final Timer transactionWrite;
  private final Timer transactionOffsets;
  private final Timer transactionCommit;

  public DispatcherMetrics(MeterRegistry registry) {
    super(registry);
    dispatched = counter(Spec.ASSIGNMENTS);
    deadLettered = counter(Spec.DEAD_LETTERS);
    leasesReleased = counter(Spec.LEASES_RELEASED);
    leasesExpired = counter(Spec.LEASES_EXPIRED);
    leasesRebuilt = counter(Spec.LEASES_REBUILT);
    transactionsAborted = counter(Spec.TRANSACTIONS_ABORTED);
    recordsSkipped = counter(Spec.RECORDS_SKIPPED);
    duplicates = counter(Spec.DUPLICATES);
    offsetMapOverflows = counter(Spec.OFFSET_MAP_OVERFLOWS);
    transactionWrite = timer(Spec.TRANSACTION, "write");
    transactionOffsets = timer(Spec.TRANSACTION, "offsets");
    transactionCommit = timer(Spec.TRANSACTION, "commit");
  }

  /** A committed round's transaction: nanoseconds to write its records, to send its offsets, to commit. */
  public void transaction(long writeNs, long offsetsNs, long commitNs) {
    transactionWrite.record(writeNs, TimeUnit.NANOSECONDS);
    transactionOffsets.record(offsetsNs, TimeUnit.NANOSECONDS);
    transactionCommit.record(commitNs, TimeUnit.NANOSECONDS);
  }

  /** A lease of {@code key} released by its worker after {@code ms} (dispatch to the release read). */
  /** A successor assignment's event ({@link Spec#SUCCESSORS}). */
  public void successor(String event) {
    counter(Spec.SUCCESSORS, event).increment();
  }

  public void leaseHeld(String key, long ms) {
    timer(Spec.LEASE_HELD, key).record(Math.max(0, ms), TimeUnit.MILLISECONDS);
  }

  /** A job copied to a spill partition (see {@code spill.Spill}). */
  public void spilled(String topic, int partition) {
    counter(Spec.SPILLED, topic, Integer.toString(partition)).increment();
  }

  /** A job answered without running, by status (rejected, expired, cancelled, failed). */
  public void answered(String status) {
    counter(Spec.ANSWERED, status).increment();
  }

  /** Feedback that changed a key's state: event is cooldown, disabled or remote_budget. */
  public void keyEvent(String key, String event) {
    counter(Spec.KEY_EVENTS, key, event).increment();
  }

  /** A route breaker changed state; {@code from} and {@code to} are lowercase state names. */
  public void breakerTransition(String route, String trigger, String from, String to) {
    counter(Spec.ROUTE_BREAKER_TRANSITIONS, route, trigger, from, to).increment();
  }

  /** A job allowing batching, at intake: {@code outcome} is batched or why it runs live. */
  public void batchJobs(String outcome) {
    counter(Spec.BATCH_JOBS, outcome).increment();
  }

  /** A provider batch of {@code model} was created (or found again). */
  public void batchSubmitted(String model) {
    counter(Spec.BATCHES_SUBMITTED, model).increment();
  }

  /** A provider batch of {@code model} was cancelled by the deadline guard. */
  public void batchCutOff(String model) {
    counter(Spec.BATCHES_CUT_OFF, model).increment();
  }

  /** A job left its batch with {@code outcome}; {@code savingsUsd} is what its answer cost less than live. */
  public void batchAnswered(String outcome, double savingsUsd) {
    counter(Spec.BATCH_ANSWERS, outcome).increment();
    if (savingsUsd > 0) {
      counter(Spec.BATCH_SAVINGS).increment(savingsUsd);
    }
  }

  /** The state gauge of a route's breakers: {@code state} returns 0 closed, 1 half-open, 2 open. */
  public void breakerState(String route, Supplier<Number> state) {
    gauge(Spec.ROUTE_BREAKER_STATE, state, route);
  }

  /** The slowness gauge of a route: {@code slow} returns 1 while it is slow, else 0. */
  public void routeSlow(String route, Supplier<Number> slow) {
    gauge(Spec.ROUTE_SLOW, slow, route);
  }

  /**
   * A job of {@code model} (its configured name, {@code *} for pass-through) went to route {@code to} because its
   * first route {@code from} did not take it, for {@code reason}.
   */
  public void fallback(String model, String from, String to, String reason) {
    counter(Spec.ROUTE_FALLBACKS, model, from, to, reason).increment();
  }

  /** Tokens a worker reported for a job of {@code tenant} on {@code model}; {@code kind} is prompt or completion. */
  public void tenantTokens(String tenant, String model, String kind, long tokens) {
    counter(Spec.TENANT_TOKENS, tenant, model, kind).increment(tokens);
  }

  /** Spend in USD of a job of {@code tenant} on {@code model}, at its route's prices. */
  public void tenantCost(String tenant, String model, double usd) {
    counter(Spec.TENANT_COST, tenant, model).increment(usd);
  }

  /** The gauge of what is left of a tenant's budget of {@code kind} (tokens, cost_usd) today. */
  public void tenantBudgetRemaining(String tenant, String kind, Supplier<Number> remaining) {
    gauge(Spec.TENANT_BUDGET_REMAINING, remaining, tenant, kind);
  }

  /** A job of {@code tenant} did not fit its budget: {@code outcome} is rejected or queued. */
  public void tenantBudgetExceeded(String tenant, String outcome) {
    counter(Spec.TENANT_BUDGET_EXCEEDED, tenant, outcome).increment();
  }

  /**
   * Gauges over the dispatcher's state read from its latest status snapshot (at most ~500 ms old), never from the
   * dispatcher thread's own structures.
   */
  public void gauges(Collection<String> keyNames, Supplier<StatusSnapshot> status) {
    gauge(Spec.BUFFERED, () -> status.get().queues().values().stream().mapToInt(Integer::intValue).sum());
    gauge(Spec.SUCCESSORS_ENABLED, () -> status.get().dispatcher().successorsEnabled() ? 1 : 0);
    for (String k : keyNames) {
      gauge(Spec.KEY_IN_FLIGHT, () -> key(status, k, StatusSnapshot.KeyStatus::inFlight), k);
      gauge(Spec.KEY_MAX_CONCURRENCY, () -> key(status, k, StatusSnapshot.KeyStatus::maxConcurrency), k);
      gauge(Spec.KEY_SUCCESSORS_WAITING, () -> key(status, k, StatusSnapshot.KeyStatus::successorsWaiting), k);
      gauge(Spec.KEY_DISABLED, () -> key(status, k, ks -> ks.disabled() != null ? 1 : 0), k);
      gauge(Spec.KEY_COOLING_DOWN, () -> key(status, k, ks -> ks.cooldownMs() > 0 ? 1 : 0), k);
    }
  }

  private static double key(Supplier<StatusSnapshot> status, String name,
      ToDoubleFunction<StatusSnapshot.KeyStatus> value) {
    for (StatusSnapshot.KeyStatus ks : status.get().keys()) {
      if (ks.name().equals(name)) {
        return value.applyAsDouble(ks);
      }
    }
    return Double.NaN;
  }
}
