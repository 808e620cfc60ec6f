package io.promptfleet.dispatcher;

import io.micrometer.core.instrument.MeterRegistry;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.dispatcher.batch.Batcher;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.SuccessorGate;
import io.promptfleet.dispatcher.capacity.TokenEstimator;
import io.promptfleet.dispatcher.feedback.FeedbackRouter;
import io.promptfleet.dispatcher.feedback.KeyFeedback;
import io.promptfleet.dispatcher.ha.StateSnapshot;
import io.promptfleet.dispatcher.ha.StateWriter;
import io.promptfleet.dispatcher.ha.Takeover;
import io.promptfleet.dispatcher.intake.Admission;
import io.promptfleet.dispatcher.intake.CancelledJobs;
import io.promptfleet.dispatcher.intake.Inbound;
import io.promptfleet.dispatcher.intake.JobIdWindow;
import io.promptfleet.dispatcher.intake.JobIntake;
import io.promptfleet.dispatcher.intake.Outbox;
import io.promptfleet.dispatcher.intake.Pending;
import io.promptfleet.dispatcher.intake.ReplyTopics;
import io.promptfleet.dispatcher.lease.LeaseLedger;
import io.promptfleet.dispatcher.offsets.OffsetTracker;
import io.promptfleet.dispatcher.route.RouteBreakers;
import io.promptfleet.dispatcher.route.RoutePlanner;
import io.promptfleet.dispatcher.schedule.BackPressure;
import io.promptfleet.dispatcher.schedule.Backoff;
import io.promptfleet.dispatcher.schedule.LaneTopics;
import io.promptfleet.dispatcher.spill.Spill;
import io.promptfleet.dispatcher.spill.SpillTopics;
import io.promptfleet.dispatcher.schedule.ReadyQueues;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.status.StatusBoard;
import io.promptfleet.dispatcher.status.StatusPublisher;
import io.promptfleet.dispatcher.status.StatusSnapshot;
import io.promptfleet.dispatcher.tenant.BudgetWaits;
import io.promptfleet.dispatcher.tenant.TenantBudgets;
import io.promptfleet.dispatcher.transaction.RecordSink;
import io.promptfleet.dispatcher.transaction.TransactionWriter;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleSupplier;
import java.util.function.ToIntFunction;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * The dispatcher without Kafka: every collaborator, wired, and the order of one round. {@link Dispatcher} (the loop
 * owner) feeds it the records it polled and runs the transaction it writes; a test or a simulation drives it the
 * same way with a fake clock and hand-made records. Records in ({@link Inbound}), decisions out (a
 * {@link RecordSink}, offsets to commit, partitions to pause through {@link JobPartitions}).
 *
 * <p>One round, as the loop owner calls it: {@link #feedback} for each fleet event, cancel and archived
 * assignment; {@link #job} for each job record; {@link #settle} (parked records, lease expiry and the queue sweep,
 * back-pressure); {@link #write}, then {@link #committed} or {@link #aborted}. Between terms: {@link #activate}
 * (takeover) and {@link #standBy}; {@link #revoked} when partitions go.
 *
 * <p>Not thread-safe: owned by the dispatcher thread, except {@link #status()}, which any thread may call.
 */
final class DispatcherCore {
  private static final long SWEEP_EVERY_MS = 200;

  private final LaneTopics lanes;
  private final KeyPool keys;
  private final ReadyQueues<Pending> queues;
  private final OffsetTracker offsets;
  private final Outbox outbox = new Outbox();
  /** Job ids admitted lately: a job produced twice runs once. */
  private final JobIdWindow ids;
  private final CancelledJobs cancelled;
  private final LeaseLedger ledger;
  private final Admission admission;
  private final FeedbackRouter feedback;
  private final Takeover takeover;
  private final StateWriter state;
  private final BackPressure backPressure;
  private final Spill spill;
  /** The loop owner's consumer, as the last {@link #settle} gave it. */
  private JobPartitions consumer;
  /** Per model, the jobs in its spill topic as of the last {@link #settle}; read by the gauge on any thread. */
  private final Map<String, Long> spillBacklog = new java.util.concurrent.ConcurrentHashMap<>();
  private final TransactionWriter writer;
  private final StatusPublisher status;
  private final DispatcherMetrics metrics;
  private final ToIntFunction<Lane> buffered;
  private final BudgetWaits waits;
  private final Batcher batcher;
  private long lastSweepMs;

  /**
   * @param clock    times the breakers' open state
   * @param random   uniform in [0, 1): retry backoff and cooldown jitter
   * @param clientId names this dispatcher in the events it writes
   */
  DispatcherCore(FleetConfig config, MeterRegistry registry, Clock clock, DoubleSupplier random, String instanceId,
      String clientId) {
    var d = config.dispatcher();
    this.metrics = new DispatcherMetrics(registry);
    this.offsets = new OffsetTracker(OffsetTracker.DEFAULT_MAX_METADATA, metrics.offsetMapOverflows::increment);
    this.lanes = new LaneTopics(config);
    this.keys = new KeyPool(config.keys(), d.rateWindowMs());
    RouteBreakers breakers = new RouteBreakers(config, metrics, clock);
    io.promptfleet.dispatcher.route.Fallbacks fallbacks = new io.promptfleet.dispatcher.route.Fallbacks(metrics);
    SuccessorGate successorGate = SuccessorGate.of(d);
    RoutePlanner planner = new RoutePlanner(config, keys, breakers, fallbacks, successorGate);
    queues = new ReadyQueues<>(d.priority(), Pending::readyAtMs, p -> p.dispatch().job().tenant(), config::weightOf,
        planner::poolOf);
    this.cancelled = new CancelledJobs(d.maxCancelledIds());
    TenantBudgets budgets = new TenantBudgets(config, metrics);
    this.waits = new BudgetWaits(budgets, cancelled, TenantBudgets.tenantTopics(config)::contains);
    this.buffered = lane -> queues.size(lane) + waits.held(lane); // jobs waiting for budget count as buffered
    StatusBoard board = new StatusBoard(config, successorGate);
    TokenEstimator tokens = new TokenEstimator();
    KeyFeedback keyFeedback = new KeyFeedback(config, keys, random, metrics);
    this.ledger = new LeaseLedger(config, keys, breakers, board, metrics, clientId);
    this.ids = new JobIdWindow(d.dedupeWindowMs());
    this.admission = new Admission(config, new JobIntake(config), lanes, queues, outbox, cancelled,
        new Backoff(d.retry(), random), tokens, planner, ids);
    this.feedback = new FeedbackRouter(config.topics(), ledger, keyFeedback, cancelled, board, outbox, budgets);
    this.takeover = new Takeover(config, instanceId, ledger, keyFeedback, cancelled, outbox, tokens, metrics,
        budgets, ids);
    this.state = new StateWriter(config, ledger, keys, budgets, ids);
    this.backPressure = new BackPressure(d.maxBufferedJobs());
    this.spill = new Spill(new SpillTopics(config.topics(), config.models().keySet()),
        d.maxBufferedJobs() / 4, d.maxBufferedJobs());
    admission.spill(spill, tp -> consumer == null ? -1 : consumer.position(tp));
    this.batcher = new Batcher(config, metrics);
    admission.batching(batcher);
    for (String group : spill.topics().groups()) {
      metrics.gauge(DispatcherMetrics.Spec.SPILL_BACKLOG, () -> spillBacklog.getOrDefault(group, 0L), group);
    }
    this.writer = new TransactionWriter(config.topics(), outbox, queues, planner, ledger, offsets, metrics, budgets,
        waits);
    this.status = new StatusPublisher(config, instanceId, queues, keys, breakers, fallbacks, board, metrics);
    status.batches(batcher::status);
    status.successorsEnabled(successorGate::open);
    metrics.gauges(config.keys().keySet(), status::current);
  }

  LaneTopics lanes() {
    return lanes;
  }

  /** The job topics and the models' spill topics: what the loop owner's job consumer subscribes to. */
  List<String> subscription() {
    List<String> all = new ArrayList<>(lanes.topics());
    all.addAll(spill.topics().topics());
    return all;
  }

  /** The models' spill topics (the loop owner creates them, one partition per lane). */
  List<String> spillTopics() {
    return spill.topics().topics();
  }

  /** A spill partition's end offset when it was assigned: jobs of its model wait there up to it. */
  void spillEnd(TopicPartition tp, long endOffset) {
    spill.endFound(tp, endOffset);
  }

  /** The committed transaction wrote a job's copy at {@code offset} of spill partition {@code tp}. */
  void spillWritten(TopicPartition tp, long offset) {
    spill.written(tp, offset);
  }

  DispatcherMetrics metrics() {
    return metrics;
  }

  /** The latest status snapshot; any thread. */
  StatusSnapshot status() {
    return status.current();
  }

  void publishStatus(long nowMs, boolean active) {
    status.maybePublish(nowMs, active);
  }

  /** True when jobs wait or answers are due: the loop owner polls briefly. */
  boolean hasWork() {
    return queues.size() > 0 || !outbox.isEmpty() || batcher.hasWork();
  }

  /** The batcher's topic, read back to its end at a takeover ({@link #restoreBatch}, then {@link #batchesRestored}). */
  String batchTopic() {
    return batcher.topic();
  }

  void restoreBatch(Inbound r) {
    batcher.restore(r);
  }

  /** The batch topic was read to its end: returns the batches this dispatcher now owns. */
  int batchesRestored(long nowMs) {
    return batcher.restored(nowMs);
  }

  /** Stops the batcher's provider calls. */
  void close() {
    batcher.close();
  }

  // ------------------------------------------------------------------ terms

  /** From when the loop owner reads the assignments and feedback back for {@link #activate}. */
  long readFromMs(long nowMs) {
    return takeover.readFromMs(nowMs);
  }

  /** This dispatcher became the active one: a new lease term, the lease table rebuilt from what was read back. */
  Takeover.Rebuilt activate(String leasePrefix, ReplyTopics replyTopics, List<Inbound> assignments,
      List<Inbound> feedbackRecords, long nowMs) {
    admission.replyTopics(replyTopics);
    writer.replyTopics(replyTopics);
    return takeover.activate(leasePrefix, assignments, feedbackRecords, nowMs);
  }

  /**
   * This dispatcher became the active one: a new lease term and a rebuild that the loop owner streams records into
   * ({@link Takeover#begin}; it ends with {@link Takeover#finish}).
   */
  Takeover begin(String leasePrefix, ReplyTopics replyTopics, StateSnapshot snapshot, long nowMs) {
    admission.replyTopics(replyTopics);
    writer.replyTopics(replyTopics);
    takeover.begin(leasePrefix, snapshot, nowMs);
    return takeover;
  }

  /**
   * The snapshot turned out stale ({@link Takeover#snapshotStale}): everything it restored is forgotten and the
   * rebuild starts again without one (the loop owner then hands over the whole lookback).
   */
  Takeover restart(String leasePrefix, long nowMs) {
    keys.clear();
    ids.clear();
    takeover.begin(leasePrefix, null, nowMs);
    return takeover;
  }

  /**
   * A record of the active dispatcher's job-id journal, read while standing by ({@code StandbyState}): its ids join
   * the job-id window, so a takeover reads only the journal's last moments.
   */
  void journal(Inbound r, long nowMs) {
    ids.apply(r.value(), nowMs);
  }

  /** Whether the active dispatcher writes state snapshots for its successor. */
  boolean snapshots() {
    return state.enabled();
  }

  /** This dispatcher lost its partitions: it forgets every lease, window, queued job and pending answer. */
  void standBy() {
    keys.clear();
    queues.removeIf(p -> true);
    offsets.clear();
    outbox.clear();
    backPressure.clear();
    spill.clear();
    admission.clear();
    waits.clear();
    ids.clear();
    state.clear();
    batcher.standBy();
    admission.replyTopics(null);
    writer.replyTopics(null);
  }

  /** Partitions were revoked: nothing of theirs is in an open transaction; drop what waits, the next owner reads it. */
  void revoked(Collection<TopicPartition> partitions) {
    queues.removeIf(p -> partitions.contains(p.tp()));
    outbox.removeIf(o -> o.tp() != null && partitions.contains(o.tp()));
    partitions.forEach(offsets::forget);
    admission.revoked(partitions);
    batcher.revoked(partitions);
    waits.revoked(partitions);
    backPressure.lanesForgotten();
    spill.unpaused();
  }

  // ------------------------------------------------------------------ one round

  /** A fleet event, cancel or archived assignment. */
  void feedback(Inbound r, long nowMs) {
    feedback.apply(r, nowMs);
  }

  /**
   * The loop owner reads these job partitions from their committed offsets (assigned, or rewound after an abort):
   * the records the commits' metadata name as handled will be skipped. Call before the first record of each.
   */
  void readingFrom(Map<TopicPartition, OffsetAndMetadata> committed) {
    committed.forEach(offsets::restore);
  }

  /** A record of a job topic; one handled already (before a rewind or takeover) is skipped. */
  void job(Inbound r, long nowMs) {
    TopicPartition tp = r.topicPartition();
    if (!offsets.read(tp, r.offset())) {
      metrics.recordsSkipped.increment();
      return;
    }
    admission.offer(r, tp, nowMs);
  }

  /**
   * After the round's records: parked records whose listing came go on; every 200 ms (at once after a cancel)
   * expired leases are reclaimed and expired or cancelled jobs leave the queues; then lanes pause or resume.
   */
  void settle(long nowMs, JobPartitions partitions) {
    this.consumer = partitions;
    if (admission.parked() > 0 || backPressure.parkedPaused()) {
      admission.resolveParked(nowMs);
      if (backPressure.parked(admission.parked(), partitions)) {
        spill.unpaused(); // every partition resumed: the spill partitions at their cap pause again below
      }
    }
    batcher.settle(nowMs, cancelled::contains, cancelled.sweepDue());
    if (cancelled.sweepDue() || nowMs - lastSweepMs >= SWEEP_EVERY_MS) {
      lastSweepMs = nowMs;
      cancelled.swept();
      ledger.expire(nowMs);
      admission.sweep(nowMs);
    }
    backPressure.lanes(buffered, partitions);
    spill.pauseOrResume(queues::size, queues.size(), partitions);
    for (String group : spill.topics().groups()) {
      spillBacklog.put(group, spill.backlog(group, partitions));
    }
    waits.pauseOrResume(partitions::pause, partitions::resume); // a tenant's partitions while its jobs wait for budget
  }

  /** Writes the round's records: see {@link TransactionWriter#write}. */
  void write(RecordSink sink, long nowMs) {
    writer.write(sink, nowMs);
    batcher.write(sink, offsets::done);
  }

  /**
   * As {@link #write(RecordSink, long)}, then the state snapshot when one is due ({@link StateWriter}).
   *
   * @param feedbackPositions the feedback consumer's positions (read only when a snapshot is due)
   */
  void write(RecordSink sink, long nowMs, java.util.function.Supplier<Map<String, Long>> feedbackPositions) {
    write(sink, nowMs);
    if (state.enabled()) {
      state.write(sink, nowMs, feedbackPositions);
    }
  }

  Map<TopicPartition, OffsetAndMetadata> offsetsToCommit() {
    return writer.offsetsToCommit();
  }

  void committed(Map<TopicPartition, OffsetAndMetadata> commit) {
    writer.committed(commit);
    state.committed();
    batcher.committed();
  }

  /**
   * The round's transaction aborted: its leases are undone and everything read is forgotten (the loop owner reads
   * again from the committed offsets), except the answers no job record would bring back.
   */
  void aborted(long nowMs) {
    writer.aborted(nowMs);
    state.aborted();
    batcher.aborted();
    queues.removeIf(p -> true);
    outbox.clear();
    offsets.clear();
    admission.clear();
    backPressure.clear();
    spill.unpaused();
    outbox.addAll(writer.unreplayable());
  }
}
