package io.promptfleet.dispatcher;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.SuccessorMode;
import io.promptfleet.common.job.SuccessorProtocol;
import io.promptfleet.dispatcher.ha.SingleActiveAssignor;
import io.promptfleet.dispatcher.ha.StateSnapshot;
import io.promptfleet.dispatcher.ha.Takeover;
import io.promptfleet.dispatcher.intake.TopicCatalog;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import io.promptfleet.dispatcher.status.StatusSnapshot;
import io.promptfleet.dispatcher.transaction.Outbound;
import io.promptfleet.dispatcher.transaction.RecordSink;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dispatcher's loop owner: one named thread ({@code pf-dispatcher}) alone holds the Kafka clients — the job
 * consumer, the feedback consumer (fleet events, cancels and the assignments' dead-letter queue, read from every
 * partition without a group) and the transactional producer — and runs the rounds. Everything the dispatcher
 * decides is in {@link DispatcherCore} and its collaborators, which hold no Kafka client. Each client's own metrics
 * are bound where the client is made and closed with it ({@code DispatcherMetrics.kafkaClient}).
 *
 * <p>Each round it polls jobs, hands the core the feedback and the jobs it read, lets it settle (parked records,
 * lease expiry, the queue sweep; back-pressure pauses and resumes partitions here), and turns what the core writes
 * into one Kafka transaction with the input offsets; when the transaction fails it aborts and reads again from the
 * committed offsets. Each offset commit carries the records handled above it in its metadata; whenever a job
 * partition is read from its committed offset (assigned, or rewound) the core is told first
 * ({@code DispatcherCore.readingFrom}) and skips them.
 *
 * <p>High availability: every dispatcher of a group subscribes, and {@link SingleActiveAssignor} gives all job
 * partitions to one of them and keeps them there while standbys join and leave (cooperative rebalances: the active
 * one revokes nothing). Only that one creates its transactional producer (transactional id = group id, which
 * fences any predecessor) and reads back {@code llm.assignments} and the feedback topics for the core's takeover;
 * the others stand by, following the state topic ({@link StandbyState}), so a takeover reads only what came since
 * their last standby round. Every instance lists topics
 * ({@link TopicCatalog}) and sets up the workers' share group from its start.
 *
 * <p>Thread-safe for {@link #start()}, {@link #close()} and the read-only accessors; everything else runs on the
 * dispatcher thread.
 */
public final class Dispatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);

  private final FleetConfig config;
  private final DispatcherCore core;
  private final Clock clock;
  private final String instanceId;
  private final String clientId;
  private final AtomicBoolean assignorFlag;
  private final Thread thread;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final Lanes lanes = new Lanes();
  private final Txn txn = new Txn();
  private volatile boolean running = true;
  private volatile boolean active;
  private volatile Throwable failure;
  private volatile KafkaConsumer<String, byte[]> jobs;
  private KafkaConsumer<String, byte[]> feedback;
  private KafkaProducer<String, byte[]> producer;
  /** Each client's Kafka metrics, bound where the client is made and closed with it. */
  private KafkaClientMetrics jobsMetrics;
  private KafkaClientMetrics feedbackMetrics;
  private KafkaClientMetrics producerMetrics;
  /**
   * Which topics exist (reply topics): listed off this thread, from start (a first listing is awaited there, not at a
   * takeover).
   */
  private TopicCatalog topicCatalog;
  /** Whether the workers' share group was set up (at start; again at a takeover if that failed). */
  private boolean shareGroupPrepared;
  private long revocations;
  /** Job partitions assigned whose committed offsets the round has not read yet ({@link #startAssigned}). */
  private final Set<TopicPartition> newlyAssigned = new HashSet<>();
  /** Whether the dispatcher state topic exists (snapshots on): a takeover reads it, the active writes it. */
  private boolean stateTopic;
  /** While standing by with the state topic: what it has read of it (null while active). */
  private StandbyState standby;
  /** Whether the batcher's topic exists (some route batches): a takeover reads it whole. */
  private boolean batchTopic;
  private volatile TakeoverTimes lastTakeover;

  public Dispatcher(FleetConfig config, MeterRegistry registry, Clock clock, String instanceId) {
    this.config = config;
    this.clock = clock;
    this.instanceId = instanceId;
    this.clientId = "pf-dispatcher-" + instanceId;
    this.core = new DispatcherCore(config, registry, clock, () -> ThreadLocalRandom.current().nextDouble(),
        instanceId, clientId);
    this.assignorFlag = SingleActiveAssignor.activeFlag(clientId);
    this.thread = new Thread(this::run, "pf-dispatcher");
  }

  /** The latest status snapshot (at most about half a second old); any thread. */
  public StatusSnapshot status() {
    return core.status();
  }

  public void start() {
    thread.start();
  }

  /** True while this instance holds the job partitions and its transactional producer is ready. */
  public boolean isActive() {
    return active && failure == null;
  }

  /**
   * How the last takeover went (null before the first): its phases in ms and what it read.
   *
   * @param clientsMs   the transactional producer (fencing the predecessor); the share group's settings and the
   *                    topic listing are done at start
   * @param stateMs     the newest snapshot and the job-id journal read from the state topic
   * @param tailMs      the assignments and feedback read after the snapshot (or over the lookback) and the rebuild
   * @param inFlight    leases held after it
   * @param fromSnapshot whether it started from a snapshot
   * @param followed    whether that snapshot and the job-id journal were read while standing by ({@link StandbyState})
   * @param records     records read (snapshot parts, journal, assignments, feedback)
   */
  public record TakeoverTimes(long clientsMs, long stateMs, long tailMs, int inFlight, boolean fromSnapshot,
      boolean followed, long records) {}

  /** The last takeover's phases (null before the first); any thread. */
  public TakeoverTimes lastTakeover() {
    return lastTakeover;
  }

  /** Null while healthy, else why this dispatcher stopped. */
  public Throwable failure() {
    return failure;
  }

  private void run() {
    try {
      jobs = DispatcherKafka.jobConsumer(config, clientId);
      jobsMetrics = core.metrics().kafkaClient(new KafkaClientMetrics(jobs));
      feedback = DispatcherKafka.feedbackConsumer(config, clientId);
      feedbackMetrics = core.metrics().kafkaClient(new KafkaClientMetrics(feedback));
      DispatcherKafka.ensureSpillTopics(config, clientId, core.spillTopics());
      stateTopic = DispatcherKafka.ensureStateTopic(config, clientId);
      shareGroupPrepared = DispatcherKafka.prepareWorkersShareGroup(config, clientId);
      topicCatalog = DispatcherKafka.topicCatalog(config, clientId);
      standBy();
      batchTopic = DispatcherKafka.ensureBatchTopic(config, clientId);
      jobs.subscribe(core.subscription(), new Rebalance());
      LOG.info("dispatcher {} started: group {}, reading {}", instanceId, config.dispatcher().groupId(),
          core.subscription());
      if (config.dispatcher().successors() == SuccessorMode.AUTO) {
        LOG.info("dispatcher.successors is auto: successor assignments follow the workers' heartbeats, written only "
            + "while every live worker reports successor protocol {} or later (logged when that changes)",
            SuccessorProtocol.CURRENT);
      } else if (config.dispatcher().successors() == SuccessorMode.ON) {
        LOG.warn("dispatcher.successors is true: successor assignments are written whatever the workers' heartbeats "
            + "say; a worker that does not report successor protocol {} would start one at once, over its key's "
            + "limit, or run one twice after a broker failover (upgrade workers first, or use auto)",
            SuccessorProtocol.CURRENT);
      }
      while (running) {
        round();
      }
    } catch (WakeupException e) {
      if (running) {
        failure = e;
      }
    } catch (ProducerFencedException | InvalidProducerEpochException e) {
      failure = e;
      LOG.error("dispatcher {} was fenced by another dispatcher instance; stopping", instanceId);
    } catch (Throwable e) {
      failure = e;
      LOG.error("dispatcher {} failed; stopping", instanceId, e);
    } finally {
      active = false;
      assignorFlag.set(false);
      DispatcherKafka.closeQuietly(jobsMetrics);
      DispatcherKafka.closeQuietly(jobs);
      DispatcherKafka.closeQuietly(feedbackMetrics);
      DispatcherKafka.closeQuietly(feedback);
      DispatcherKafka.closeQuietly(producerMetrics);
      DispatcherKafka.closeQuietly(producer);
      DispatcherKafka.closeQuietly(topicCatalog);
      DispatcherKafka.closeQuietly(standby);
      core.close();
      SingleActiveAssignor.forget(clientId);
      stopped.countDown();
    }
  }

  /**
   * How long a round's job poll waits when nothing is queued: a job that arrives ends the wait at once (the fetch
   * returns with it), and a lease released meanwhile frees capacity that no queued job is waiting for, so a longer
   * wait costs no latency; it is the idle fleet's CPU (each round also polls the feedback, settles and publishes the
   * status). The settle's timers (lease expiry, sweeps, snapshots) run at this granularity when idle. 500 ms (100 ms
   * before issue 13's third part): an idle dev fleet's dispatcher thread 0.6 → 0.3 % of a core.
   */
  static final Duration IDLE_POLL = Duration.ofMillis(500);

  /**
   * The classic consumer fetches only inside poll(), and a round spends most of its time in its transaction (under
   * load 50-100 ms: two coordinator round trips, measured by {@code promptfleet_dispatcher_transaction_seconds}).
   * A single feedback poll after the job poll collected only what the fetch sent in the previous round had brought,
   * so a worker's {@code lease_released} that reached the broker after that fetch was answered waited a whole further
   * round: one to two rounds in all before its key's capacity was used again. So each active round polls the feedback
   * consumer twice: once before the job poll (its records, and a fetch sent that the broker answers during the job
   * poll's wait), once after it (what that fetch brought). The first poll's records are always this term's: a
   * dispatcher that loses its job partitions in the job poll stands by and returns before using them (an activation
   * reads the feedback again from its lookback), and one that activates in the round polled nothing before it.
   */
  private ConsumerRecords<String, byte[]> earlyFeedback() {
    return producer == null ? ConsumerRecords.empty() : feedback.poll(Duration.ZERO);
  }

  private void round() {
    Duration wait = producer == null ? Duration.ofMillis(100)
        : core.hasWork() ? Duration.ofMillis(2) : IDLE_POLL;
    ConsumerRecords<String, byte[]> early = earlyFeedback();
    var polled = topUp(jobs.poll(wait));
    core.publishStatus(clock.millis(), producer != null);
    if (jobs.assignment().isEmpty()) {
      if (producer != null) {
        deactivate("lost every job partition");
      }
      if (standby != null) {
        standby.follow(clock.millis());
      }
      return;
    }
    if (producer == null) {
      activate();
    }
    polled = startAssigned(polled);
    long nowMs = clock.millis();
    for (ConsumerRecords<String, byte[]> polledFeedback : List.of(early, feedback.poll(Duration.ZERO))) {
      for (ConsumerRecord<String, byte[]> r : polledFeedback) {
        core.feedback(DispatcherKafka.inbound(r), nowMs);
      }
    }
    for (ConsumerRecord<String, byte[]> r : polled) {
      core.job(DispatcherKafka.inbound(r), nowMs);
    }
    core.settle(nowMs, lanes);
    dispatch();
  }

  /**
   * The classic consumer fetches only inside poll(): the fetch it sends before returning completes at the broker
   * with the first job that arrives during this round's transaction, and the jobs behind that one waited in the
   * broker for a whole further round. When a poll brings jobs (but not a full batch), a second poll of at most
   * 1 ms collects those into the same round; an idle dispatcher never takes this path. Measured at 500 jobs/s:
   * p90 from record to dispatch about halved. If partitions were revoked in between, the first batch's records of
   * those are dropped as the revocation drops what waits (a partition given back at once is read again from its
   * committed offset, {@link #startAssigned}).
   */
  private ConsumerRecords<String, byte[]> topUp(ConsumerRecords<String, byte[]> polled) {
    if (producer == null || polled.isEmpty() || polled.count() >= DispatcherKafka.MAX_POLL_RECORDS) {
      return polled;
    }
    long before = revocations;
    ConsumerRecords<String, byte[]> more = jobs.poll(Duration.ofMillis(1));
    if (revocations != before) {
      Set<TopicPartition> gone = new HashSet<>(polled.partitions());
      gone.removeAll(jobs.assignment());
      polled = DispatcherKafka.without(polled, gone);
    }
    return more.isEmpty() ? polled : DispatcherKafka.merge(polled, more);
  }

  /**
   * Partitions assigned since the last round start at their committed offsets, read here, after {@link #activate}:
   * the core is told ({@code DispatcherCore.readingFrom}) and each is read again from there, and the records this
   * round polled of them are dropped (they come again). Not in the rebalance listener: a predecessor killed between
   * its transaction's offsets and its commit leaves them pending at the group coordinator, and a read_committed
   * consumer's committed() waits for that transaction to end. Only this dispatcher's producer ends it (its
   * transactional id is the group's: initTransactions aborts it); else it waits out its timeout, 30 s plus the
   * broker's 10-s abort sweep. Read in the listener, before the producer existed, a takeover took 38-43 s instead of
   * 6-12 s whenever the kill fell in that window (bench/fleet dispatcher-kill; PendingOffsetsTakeoverIT).
   */
  private ConsumerRecords<String, byte[]> startAssigned(ConsumerRecords<String, byte[]> polled) {
    if (newlyAssigned.isEmpty()) {
      return polled;
    }
    Set<TopicPartition> parts = new HashSet<>(newlyAssigned);
    newlyAssigned.clear();
    parts.retainAll(jobs.assignment());
    if (parts.isEmpty()) {
      return polled;
    }
    readFromCommitted(parts);
    Set<String> spill = new HashSet<>(core.spillTopics());
    List<TopicPartition> spillParts = parts.stream().filter(tp -> spill.contains(tp.topic())).toList();
    if (!spillParts.isEmpty()) {
      jobs.endOffsets(spillParts).forEach(core::spillEnd);
    }
    return DispatcherKafka.without(polled, parts);
  }

  // ------------------------------------------------------------------ activation (HA)

  private void activate() {
    LOG.info("dispatcher {} is now the active dispatcher of group {}: fencing predecessors, rebuilding leases",
        instanceId, config.dispatcher().groupId());
    long t0 = System.nanoTime();
    producer = DispatcherKafka.transactionalProducer(config, clientId);
    producerMetrics = core.metrics().kafkaClient(new KafkaClientMetrics(producer));
    if (!shareGroupPrepared) {
      shareGroupPrepared = DispatcherKafka.prepareWorkersShareGroup(config, clientId);
    }
    String leasePrefix = Long.toHexString(ThreadLocalRandom.current().nextLong()) + "-";
    long t1 = System.nanoTime();
    long nowMs = clock.millis();
    long from = core.readFromMs(nowMs);
    DispatcherKafka.StateRead state;
    StateSnapshot snapshot;
    Takeover rebuild;
    long ids;
    long t2;
    long assignments;
    DispatcherKafka.StateRead followed = standby == null ? null : standby.catchUp();
    DispatcherKafka.closeQuietly(standby);
    standby = null;
    long batches;
    try (KafkaConsumer<String, byte[]> c = DispatcherKafka.rebuildConsumer(config, clientId)) {
      state = followed != null ? followed : stateTopic ? DispatcherKafka.readSnapshot(c, config, nowMs)
          : new DispatcherKafka.StateRead(null, 0);
      snapshot = state.snapshot();
      rebuild = core.begin(leasePrefix, topicCatalog, snapshot, nowMs);
      ids = snapshot == null || followed != null ? 0 // a standby applied the journal as it came
          : DispatcherKafka.streamJournal(c, config, nowMs, rebuild::ids);
      t2 = System.nanoTime();
      assignments = DispatcherKafka.streamAssignments(c, config, rebuild.assignmentsFromMs(snapshot, nowMs),
          rebuild::assignment);
      batches = batchTopic ? DispatcherKafka.streamBatches(c, core.batchTopic(), core::restoreBatch) : 0;
      if (rebuild.snapshotStale()) {
        LOG.warn("dispatcher {}: assignments of a dispatcher that wrote no state snapshot follow the newest "
            + "snapshot (an older version was active since); rebuilding from the whole lookback instead", instanceId);
        snapshot = null;
        rebuild = core.restart(leasePrefix, nowMs);
        assignments += DispatcherKafka.streamAssignments(c, config, from, rebuild::assignment);
      }
    }
    long feedbackRead = DispatcherKafka.streamFeedback(feedback, config.topics(), from,
        snapshot == null ? Map.of() : snapshot.head().feedback(), rebuild::feedback);
    Takeover.Rebuilt rebuilt = rebuild.finish();
    int openBatches = core.batchesRestored(clock.millis());
    if (openBatches > 0) {
      LOG.info("dispatcher {} owns {} open provider batches ({} records of {} read)", instanceId, openBatches,
          batches, core.batchTopic());
    }
    long t3 = System.nanoTime();
    LOG.info("dispatcher {} took over: {} leases in flight; clients and share group {} ms, state topic {} ms "
            + "({} records{}, {} job-id records, {}), tail {} ms ({} assignments, {} feedback records)", instanceId,
        rebuilt.inFlight(), (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, state.records(),
        followed != null ? " read while standing by and now" : "", ids, snapshot == null ? "no snapshot"
            : "snapshot of " + snapshot.leases().size() + " leases", (t3 - t2) / 1_000_000, assignments,
        feedbackRead);
    lastTakeover = new TakeoverTimes((t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (t3 - t2) / 1_000_000,
        rebuilt.inFlight(), snapshot != null, followed != null && snapshot != null,
        state.records() + ids + assignments + feedbackRead + batches);
    active = true;
  }

  private void deactivate(String why) {
    LOG.warn("dispatcher {} stands by: {}", instanceId, why);
    active = false;
    DispatcherKafka.closeQuietly(producerMetrics);
    producerMetrics = null;
    DispatcherKafka.closeQuietly(producer);
    producer = null;
    core.standBy();
    feedback.assign(List.of());
    standBy();
  }

  /** Follows the state topic while standing by ({@link StandbyState}); the core's job-id window starts empty. */
  private void standBy() {
    DispatcherKafka.closeQuietly(standby);
    standby = stateTopic && core.snapshots()
        ? new StandbyState(config, clientId, r -> core.journal(r, clock.millis())) : null;
  }

  // ------------------------------------------------------------------ the round's transaction

  private void dispatch() {
    long nowMs = clock.millis();
    txn.open = false;
    try {
      long t0 = System.nanoTime();
      if (stateTopic) {
        core.write(txn, nowMs, () -> DispatcherKafka.feedbackPositions(feedback, config.topics()));
      } else {
        core.write(txn, nowMs);
      }
      if (txn.open) {
        Map<TopicPartition, OffsetAndMetadata> commit = core.offsetsToCommit();
        long t1 = System.nanoTime();
        if (!commit.isEmpty()) {
          producer.sendOffsetsToTransaction(commit, jobs.groupMetadata());
        }
        long t2 = System.nanoTime();
        producer.commitTransaction();
        core.metrics().transaction(t1 - t0, t2 - t1, System.nanoTime() - t2);
        core.committed(commit);
        txn.placedWritten();
      }
    } catch (ProducerFencedException | InvalidProducerEpochException e) {
      throw e;
    } catch (KafkaException e) {
      LOG.warn("dispatch transaction failed, rewinding: {}", e.toString());
      core.metrics().transactionsAborted.increment();
      if (txn.open) {
        producer.abortTransaction();
      }
      core.aborted(nowMs);
      rewind();
    }
  }

  /** After an aborted transaction: read again from the committed offsets, nothing paused. */
  private void rewind() {
    var assigned = jobs.assignment();
    jobs.resume(assigned);
    readFromCommitted(assigned);
  }

  /** The core is told where {@code parts} are committed, and each is read again from there (none: its start). */
  private void readFromCommitted(Set<TopicPartition> parts) {
    Map<TopicPartition, OffsetAndMetadata> committed = jobs.committed(parts);
    core.readingFrom(committed);
    for (TopicPartition tp : parts) {
      OffsetAndMetadata om = committed.get(tp);
      if (om != null) {
        jobs.seek(tp, om);
      } else {
        jobs.seekToBeginning(List.of(tp));
      }
    }
  }

  /** The round's transaction, opened at its first record. */
  private final class Txn implements RecordSink {
    boolean open;
    /** Sends to a given partition (the jobs' spill copies): their offsets go to the core once committed. */
    final List<Future<RecordMetadata>> placed = new ArrayList<>();

    @Override
    public void begin() {
      if (!open) {
        producer.beginTransaction();
        open = true;
        placed.clear();
      }
    }

    @Override
    public void send(Outbound o) {
      Future<RecordMetadata> f = producer.send(new ProducerRecord<>(o.topic(), o.partition(), o.timestamp(), o.key(),
          o.value(), o.headers()));
      if (o.partition() != null && !o.topic().equals(config.topics().dispatcherState())) {
        placed.add(f);
      }
    }

    /** After the commit: every send completed; the core learns where the spill copies are. */
    void placedWritten() {
      try {
        for (Future<RecordMetadata> f : placed) {
          RecordMetadata m = f.get(); // done: commitTransaction flushed every send
          core.spillWritten(new TopicPartition(m.topic(), m.partition()), m.offset());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted after a commit", e);
      } catch (ExecutionException e) {
        throw new IllegalStateException("a send of a committed transaction failed", e);
      } finally {
        placed.clear();
      }
    }
  }

  /** Back-pressure acts on the job consumer's partitions of a lane's topic. */
  private final class Lanes implements JobPartitions {
    @Override
    public void pause(Lane lane) {
      jobs.pause(partitionsOf(lane));
    }

    @Override
    public void pauseAll() {
      jobs.pause(jobs.assignment());
    }

    @Override
    public void resume(Lane lane) {
      jobs.resume(partitionsOf(lane));
    }

    @Override
    public void resumeAll() {
      jobs.resume(jobs.assignment());
    }

    @Override
    public void pause(TopicPartition tp) {
      if (jobs.assignment().contains(tp)) {
        jobs.pause(List.of(tp));
      }
    }

    @Override
    public void resume(TopicPartition tp) {
      if (jobs.assignment().contains(tp)) {
        jobs.resume(List.of(tp));
      }
    }

    @Override
    public long position(TopicPartition tp) {
      if (!jobs.assignment().contains(tp)) {
        return -1;
      }
      try {
        return jobs.position(tp, Duration.ZERO);
      } catch (org.apache.kafka.common.errors.TimeoutException e) {
        return -1; // not known yet without a request
      }
    }

    /** The lane's shared topic and its tenants' topics. */
    private List<TopicPartition> partitionsOf(Lane lane) {
      Set<String> topics = Set.copyOf(core.lanes().topicsOf(lane));
      return jobs.assignment().stream().filter(tp -> topics.contains(tp.topic())).toList();
    }
  }

  /**
   * The job consumer's rebalances, COOPERATIVE ({@link SingleActiveAssignor}): each call names only what changed.
   * The active dispatcher keeps its partitions while a standby joins or leaves (it is told of no partition, assigned
   * nothing new, and goes on with the same term); it stands by only when the round finds it holds none.
   */
  private final class Rebalance implements ConsumerRebalanceListener {
    /** Partitions given to another member, or lost (the default onPartitionsLost): what waits of them is dropped. */
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      revocations++;
      newlyAssigned.removeAll(partitions);
      core.revoked(partitions);
    }

    /**
     * No request here: the round reads where they start once it is active ({@link #startAssigned}). {@code
     * partitions} are only the added ones (none for the active dispatcher when a standby joins): the assignor's flag
     * follows what the consumer holds in all.
     */
    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      assignorFlag.set(!jobs.assignment().isEmpty());
      if (!partitions.isEmpty()) {
        LOG.info("dispatcher {} now reads {} partitions", instanceId, partitions.size());
        newlyAssigned.addAll(partitions);
      }
    }
  }

  @Override
  public void close() {
    running = false;
    KafkaConsumer<String, byte[]> c = jobs;
    if (c != null) {
      c.wakeup();
    }
    try {
      if (thread.isAlive() && !stopped.await(30, TimeUnit.SECONDS)) {
        LOG.warn("dispatcher {} did not stop within 30 s", instanceId);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
