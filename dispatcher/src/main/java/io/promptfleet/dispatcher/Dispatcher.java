package io.promptfleet.dispatcher;

import io.micrometer.core.instrument.MeterRegistry;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.JobError;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.RetryRequest;
import io.promptfleet.common.kafka.KafkaClients;
import io.promptfleet.common.kafka.TopicAdmin;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.Lease;
import io.promptfleet.dispatcher.capacity.TokenEstimator;
import io.promptfleet.dispatcher.capacity.TokenLimits;
import io.promptfleet.dispatcher.ha.SingleActiveAssignor;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.intake.JobIntake;
import io.promptfleet.dispatcher.intake.TopicCatalog;
import io.promptfleet.dispatcher.offsets.OffsetTracker;
import io.promptfleet.dispatcher.route.RouteBreakers;
import io.promptfleet.dispatcher.schedule.Backoff;
import io.promptfleet.dispatcher.schedule.ReadyQueues;
import io.promptfleet.dispatcher.status.StatusBoard;
import io.promptfleet.dispatcher.status.StatusSnapshot;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.DoubleSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dispatcher: one named thread ({@code pf-dispatcher}) owns the job consumer, the feedback consumer (fleet
 * events and cancels) and the transactional producer.
 *
 * <p>Each round it reads jobs into bounded ready queues (per model, per priority lane; a lane whose buffer is full
 * pauses its topic's partitions, so the backlog waits in Kafka), applies the workers' feedback (lease releases,
 * usage, 429 cooldowns, disabled keys, breaker outcomes), then writes assignments for keys with room, plus
 * dead letters and dispatcher-made results, together with the input offsets, in one Kafka transaction. Offsets are
 * tracked per partition so a committed offset never passes a job still waiting.
 *
 * <p>High availability: every dispatcher of a group subscribes, and {@link SingleActiveAssignor} gives all job
 * partitions to one of them. Only that one creates its transactional producer (transactional id = group id, which
 * fences any predecessor) and rebuilds its lease table from {@code llm.assignments} and {@code llm.fleet.events};
 * the others stand by with nothing.
 *
 * <p>Thread-safe for {@link #start()}, {@link #close()} and the read-only accessors; everything else runs on the
 * dispatcher thread.
 */
public final class Dispatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);
  private static final int MAX_RECORDS_PER_TRANSACTION = 5_000;
  private static final long SWEEP_EVERY_MS = 200;
  private static final int MAX_POLL_RECORDS = 2_000;
  /** A route with every default, for the image and attachment estimates of a model no longer configured. */
  private static final RouteSettings DEFAULT_ROUTE = new RouteSettings("-", null, null, null, null, null, null);

  private final FleetConfig config;
  private final JobIntake intake;
  private final KeyPool keys;
  private final TokenEstimator tokens = new TokenEstimator();
  private final RouteBreakers breakers;
  private final Backoff backoff;
  private final DoubleSupplier random;
  private final ReadyQueues<Pending> queues;
  private final OffsetTracker offsets = new OffsetTracker();
  private final Map<String, Lane> laneOfTopic = new HashMap<>();
  private final Map<Lane, String> topicOfLane = new EnumMap<>(Lane.class);
  private final Map<RouteSettings, List<String>> keysOfRoute = new IdentityHashMap<>();
  private final LinkedHashMap<String, Boolean> cancelled;
  private final List<Out> outbox = new ArrayList<>();
  private final Set<Lane> pausedLanes = new HashSet<>();
  private final Clock clock;
  private final String instanceId;
  private final String clientId;
  private final AtomicBoolean assignorFlag;
  private final Thread thread;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final DispatcherMetrics metrics;
  private volatile boolean running = true;
  private volatile boolean active;
  private volatile Throwable failure;
  private volatile KafkaConsumer<String, byte[]> jobs;
  private KafkaConsumer<String, byte[]> feedback;
  private KafkaProducer<String, byte[]> producer;
  private String leasePrefix;
  private long leaseSeq;
  private long lastSweepMs;
  private boolean sweepCancels;
  private final StatusBoard board;
  private volatile StatusSnapshot status;
  private long lastStatusMs;
  /** Which topics exist (reply topics): listed off this thread; null while standing by. */
  private TopicCatalog topicCatalog;
  /** Job records whose reply topic was not listed yet, waiting for a fresh listing. */
  private final List<Parked> parked = new ArrayList<>();
  private boolean parkedPause;
  /** Leases that expired without a release: an archived assignment of one of them is still answered. */
  private final LinkedHashMap<String, Boolean> expiredUnreleased = new LinkedHashMap<>(16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
      return size() > 10_000;
    }
  };
  private long revocations;

  public Dispatcher(FleetConfig config, MeterRegistry registry, Clock clock, String instanceId) {
    this.config = config;
    this.intake = new JobIntake(config);
    var d = config.dispatcher();
    this.keys = new KeyPool(config.keys(), d.rateWindowMs());
    this.breakers = new RouteBreakers(d.breaker(), registry, clock);
    this.random = () -> ThreadLocalRandom.current().nextDouble();
    this.backoff = new Backoff(d.retry(), random);
    this.queues = new ReadyQueues<>(d.priority(), Pending::readyAtMs);
    this.clock = clock;
    this.instanceId = instanceId;
    this.clientId = "pf-dispatcher-" + instanceId;
    this.assignorFlag = SingleActiveAssignor.activeFlag(clientId);
    int maxCancelled = d.maxCancelledIds();
    this.cancelled = new LinkedHashMap<>(16, 0.75f, false) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
        return size() > maxCancelled;
      }
    };
    var t = config.topics();
    laneOfTopic.put(t.jobsRetry(), Lane.RETRY);
    laneOfTopic.put(t.jobsHigh(), Lane.HIGH);
    laneOfTopic.put(t.jobsNormal(), Lane.NORMAL);
    laneOfTopic.put(t.jobsLow(), Lane.LOW);
    laneOfTopic.forEach((topic, lane) -> topicOfLane.put(lane, topic));
    this.metrics = new DispatcherMetrics(registry);
    this.board = new StatusBoard(config);
    this.status = StatusSnapshot.starting(instanceId);
    metrics.gauges(config.keys().keySet(), this::status);
    this.thread = new Thread(this::run, "pf-dispatcher");
  }

  /** The latest status snapshot (at most about half a second old); any thread. */
  public StatusSnapshot status() {
    return status;
  }

  public void start() {
    thread.start();
  }

  /** True while this instance holds the job partitions and its transactional producer is ready. */
  public boolean isActive() {
    return active && failure == null;
  }

  /** Null while healthy, else why this dispatcher stopped. */
  public Throwable failure() {
    return failure;
  }

  private void run() {
    try {
      var props = KafkaClients.consumer(config.kafka(), clientId, config.dispatcher().groupId());
      props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, MAX_POLL_RECORDS);
      props.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, SingleActiveAssignor.class.getName());
      props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
      int session = config.dispatcher().sessionTimeoutMs();
      props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, session);
      props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, Math.max(100, session / 4));
      jobs = new KafkaConsumer<>(props);
      var fb = KafkaClients.consumer(config.kafka(), clientId + "-feedback", "unused");
      fb.remove(ConsumerConfig.GROUP_ID_CONFIG);
      fb.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2_000);
      feedback = new KafkaConsumer<>(fb);
      jobs.subscribe(laneOfTopic.keySet(), new Rebalance());
      LOG.info("dispatcher {} started: group {}, reading {}", instanceId, config.dispatcher().groupId(),
          laneOfTopic.keySet());
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
      closeQuietly(jobs);
      closeQuietly(feedback);
      closeQuietly(producer);
      closeQuietly(topicCatalog);
      SingleActiveAssignor.forget(clientId);
      stopped.countDown();
    }
  }

  private void round() {
    Duration wait = producer == null ? Duration.ofMillis(100)
        : queues.size() > 0 || !outbox.isEmpty() ? Duration.ofMillis(2) : Duration.ofMillis(20);
    var polled = topUp(jobs.poll(wait));
    publishStatus(clock.millis());
    if (jobs.assignment().isEmpty()) {
      if (producer != null) {
        deactivate("lost every job partition");
      }
      return;
    }
    if (producer == null) {
      activate();
    }
    long nowMs = clock.millis();
    for (ConsumerRecord<String, byte[]> r : feedback.poll(Duration.ZERO)) {
      onFeedback(r, null, nowMs);
    }
    for (ConsumerRecord<String, byte[]> r : polled) {
      intake(r, nowMs);
    }
    if (!parked.isEmpty() || parkedPause) {
      resolveParked(nowMs);
    }
    if (sweepCancels || nowMs - lastSweepMs >= SWEEP_EVERY_MS) {
      sweep(nowMs);
    }
    flowControl();
    dispatch();
  }

  /**
   * The classic consumer fetches only inside poll(): the fetch it sends before returning completes at the broker
   * with the first job that arrives during this round's transaction, and the jobs behind that one waited in the
   * broker for a whole further round. When a poll brings jobs (but not a full batch), a second poll of at most
   * 1 ms collects those into the same round; an idle dispatcher never takes this path. Measured at 500 jobs/s:
   * p90 from record to dispatch about halved. If partitions were revoked in between, the first batch is dropped
   * as the revocation drops what waits: every partition is read again from its committed offset (eager protocol).
   */
  private ConsumerRecords<String, byte[]> topUp(ConsumerRecords<String, byte[]> polled) {
    if (producer == null || polled.isEmpty() || polled.count() >= MAX_POLL_RECORDS) {
      return polled;
    }
    long before = revocations;
    ConsumerRecords<String, byte[]> more = jobs.poll(Duration.ofMillis(1));
    if (revocations != before) {
      return more;
    }
    if (more.isEmpty()) {
      return polled;
    }
    Map<TopicPartition, List<ConsumerRecord<String, byte[]>>> all = new HashMap<>();
    for (ConsumerRecords<String, byte[]> batch : List.of(polled, more)) {
      for (TopicPartition tp : batch.partitions()) {
        all.computeIfAbsent(tp, k -> new ArrayList<>()).addAll(batch.records(tp));
      }
    }
    return new ConsumerRecords<>(all, Map.of());
  }

  /** Every 500 ms: a fresh immutable snapshot for the dashboard and `promptfleet status`. */
  private void publishStatus(long nowMs) {
    if (nowMs - lastStatusMs < 500) {
      return;
    }
    lastStatusMs = nowMs;
    boolean isActive = producer != null;
    Map<String, Integer> q = new LinkedHashMap<>();
    for (Lane l : Lane.values()) {
      q.put(l.name().toLowerCase(java.util.Locale.ROOT), queues.size(l));
    }
    List<StatusSnapshot.KeyStatus> ks = new ArrayList<>();
    config.keys().forEach((name, k) -> ks.add(new StatusSnapshot.KeyStatus(name, k.provider(), keys.inFlight(name),
        k.maxConcurrency(), keys.requestsInWindow(name, nowMs), keys.requestsPerWindow(name),
        keys.tokensInWindow(name, nowMs), keys.tokensPerWindow(name),
        keys.isCoolingDown(name, nowMs) ? Math.max(0, keys.cooldownUntil(name) - nowMs) : 0,
        keys.isDisabled(name, nowMs) ? "auth or quota error from the provider" : null)));
    List<StatusSnapshot.RouteStatus> rs = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (var m : config.models().values()) {
      for (RouteSettings r : m.routes()) {
        if (seen.add(r.name())) {
          rs.add(new StatusSnapshot.RouteStatus(r.name(), breakers.state(r.name()).name()));
        }
      }
    }
    status = new StatusSnapshot(java.time.Instant.ofEpochMilli(nowMs),
        new StatusSnapshot.DispatcherInfo(instanceId, isActive), q, ks, rs, board.workers(nowMs),
        new StatusSnapshot.Totals((long) metrics.dispatched.count(), board.tokens(), board.tokensPerSecond(nowMs),
            board.cost()));
  }

  // ------------------------------------------------------------------ activation (HA)

  private void activate() {
    LOG.info("dispatcher {} is now the active dispatcher of group {}: fencing predecessors, rebuilding leases",
        instanceId, config.dispatcher().groupId());
    var props = KafkaClients.transactionalProducer(config.kafka(), clientId, config.dispatcher().groupId());
    // A transaction that starts while the previous one's markers are still being written gets
    // CONCURRENT_TRANSACTIONS and is retried after retry.backoff.ms: 100 ms by default, a stall of every
    // dispatch behind it. Retry quickly instead.
    props.putIfAbsent(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, 2);
    props.putIfAbsent(ProducerConfig.RETRY_BACKOFF_MAX_MS_CONFIG, 100);
    producer = new KafkaProducer<>(props);
    producer.initTransactions();
    workersReadCommitted();
    leasePrefix = Long.toHexString(ThreadLocalRandom.current().nextLong()) + "-";
    topicCatalog = new TopicCatalog(KafkaClients.admin(config.kafka(), clientId + "-topics"), 30_000, 200)
        .start(10_000);
    rebuild();
    active = true;
  }

  /**
   * Share groups read uncommitted records by default: a worker would run an assignment whose transaction was
   * aborted (a rewind, or a fenced predecessor) and the job would run twice. Set the workers' share group to
   * read_committed (idempotent).
   */
  private void workersReadCommitted() {
    try (Admin admin = Admin.create(KafkaClients.admin(config.kafka(), clientId + "-admin"))) {
      TopicAdmin.prepareShareGroup(admin, config.worker().shareGroup(), config.topics().assignmentsDlq());
      String problem = TopicAdmin.deadLetterQueueProblem(admin, config.topics().assignmentsDlq());
      if (problem != null) {
        LOG.error("SHARE-GROUP DEAD-LETTER QUEUE NOT WORKING: {}. An assignment delivered share.delivery.count.limit "
            + "times is archived by the broker and its job gets no result.", problem);
      }
    } catch (RuntimeException e) {
      LOG.warn("cannot set share.isolation.level=read_committed on share group {}: {}; workers may run assignments "
          + "of aborted transactions", config.worker().shareGroup(), e.toString());
    }
  }

  private void deactivate(String why) {
    LOG.warn("dispatcher {} stands by: {}", instanceId, why);
    active = false;
    closeQuietly(producer);
    producer = null;
    keys.clear();
    queues.removeIf(p -> true);
    offsets.clear();
    outbox.clear();
    pausedLanes.clear();
    feedback.assign(List.of());
    parked.clear();
    parkedPause = false;
    closeQuietly(topicCatalog);
    topicCatalog = null;
  }

  /** A lease read back from llm.assignments while rebuilding. */
  private record Rebuilt(Lease lease) {}

  /**
   * Rebuilds the in-flight lease table and the rate windows from Kafka: every assignment written in the lookback
   * window holds a lease unless a fleet event released it (or it expired); released ones still count in the rate
   * windows. Cancels in the window are remembered too. Then the feedback consumer goes on from where it stopped.
   */
  private void rebuild() {
    long nowMs = clock.millis();
    long from = nowMs - config.dispatcher().rebuildLookbackMs();
    Map<String, Rebuilt> open = new HashMap<>();
    int assignments = 0;
    var props = KafkaClients.consumer(config.kafka(), clientId + "-rebuild", "unused");
    props.remove(ConsumerConfig.GROUP_ID_CONFIG);
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2_000);
    try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(props)) {
      List<TopicPartition> parts = partitions(c, config.topics().assignments());
      for (ConsumerRecord<String, byte[]> r : readToEnd(c, parts, from)) {
        try {
          Assignment a = Json.read(r.value(), Assignment.class);
          Instant deadline = a.deadline() == null ? Instant.ofEpochMilli(r.timestamp())
              .plusMillis(config.dispatcher().defaultJobTtlMs()) : a.deadline();
          long at = a.dispatchedAt() == null ? r.timestamp() : a.dispatchedAt().toEpochMilli();
          long reserve = promptOf(a) + (a.job().maxTokens() != null ? a.job().maxTokens()
              : a.route() != null && a.route().defaultMaxTokens() != null ? a.route().defaultMaxTokens() : 0);
          open.put(a.leaseId(), new Rebuilt(new Lease(a.leaseId(), a.keyId(), a.job().jobId(),
              a.route() == null ? null : a.route().name(), deadline.plusMillis(config.dispatcher().leaseGraceMs()),
              reserve, at)));
          assignments++;
        } catch (RuntimeException e) {
          LOG.debug("skipping unreadable assignment at {}-{}@{}", r.topic(), r.partition(), r.offset());
        }
      }
    }
    List<TopicPartition> fb = new ArrayList<>(partitions(feedback, config.topics().fleetEvents()));
    fb.addAll(partitions(feedback, config.topics().cancels()));
    fb.addAll(partitions(feedback, config.topics().assignmentsDlq()));
    int events = 0;
    List<ConsumerRecord<String, byte[]>> archived = new ArrayList<>();
    for (ConsumerRecord<String, byte[]> r : readToEnd(feedback, fb, from)) {
      if (r.topic().equals(config.topics().assignmentsDlq())) {
        archived.add(r); // after every release in the window: a lease released by anyone is not answered again
      } else {
        onFeedback(r, open, nowMs);
      }
      events++;
    }
    for (ConsumerRecord<String, byte[]> r : archived) {
      onArchived(r, open, nowMs);
    }
    int restored = 0;
    for (Rebuilt rb : open.values()) {
      Lease l = rb.lease();
      if (!config.keys().containsKey(l.keyId())) {
        continue;
      }
      if (Instant.ofEpochMilli(nowMs).isBefore(l.expiresAt())) {
        keys.restore(l, nowMs);
        restored++;
      } else {
        keys.restoreUsage(l.keyId(), l.reservedAtMs(), l.reservedTokens(), nowMs);
        expiredUnreleased.put(l.leaseId(), Boolean.TRUE);
      }
    }
    metrics.leasesRebuilt.increment(restored);
    LOG.info("dispatcher {} rebuilt {} in-flight leases from {} assignments and {} feedback records (lookback {} ms)",
        instanceId, restored, assignments, events, config.dispatcher().rebuildLookbackMs());
  }

  private static List<TopicPartition> partitions(KafkaConsumer<?, ?> c, String topic) {
    List<TopicPartition> out = new ArrayList<>();
    List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofSeconds(30));
    if (infos != null) {
      infos.forEach(p -> out.add(new TopicPartition(topic, p.partition())));
    }
    return out;
  }

  /** Assigns {@code parts}, seeks to {@code fromMs} and reads up to the end offsets as of now. */
  private static List<ConsumerRecord<String, byte[]>> readToEnd(KafkaConsumer<String, byte[]> c,
      List<TopicPartition> parts, long fromMs) {
    c.assign(parts);
    Map<TopicPartition, Long> query = new HashMap<>();
    parts.forEach(tp -> query.put(tp, Math.max(0, fromMs)));
    Map<TopicPartition, OffsetAndTimestamp> start = c.offsetsForTimes(query, Duration.ofSeconds(30));
    Map<TopicPartition, Long> end = c.endOffsets(parts, Duration.ofSeconds(30));
    for (TopicPartition tp : parts) {
      OffsetAndTimestamp o = start.get(tp);
      c.seek(tp, o == null ? end.get(tp) : o.offset());
    }
    List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < until) {
      boolean done = true;
      for (TopicPartition tp : parts) {
        if (c.position(tp) < end.get(tp)) {
          done = false;
          break;
        }
      }
      if (done) {
        return out;
      }
      for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(100))) {
        out.add(r);
      }
    }
    throw new IllegalStateException("could not read " + parts + " to their end within 60 s");
  }

  // ------------------------------------------------------------------ feedback: fleet events and cancels

  private void onFeedback(ConsumerRecord<String, byte[]> r, Map<String, Rebuilt> rebuilding, long nowMs) {
    if (r.topic().equals(config.topics().assignmentsDlq())) {
      onArchived(r, rebuilding, nowMs);
      return;
    }
    if (r.topic().equals(config.topics().cancels())) {
      String jobId = cancelledJobId(r);
      if (jobId == null) {
        if (rebuilding == null) {
          deadLetter(r, "unreadable cancel: expected a job_id (record key, JSON string or {\"job_id\":...})");
        }
        return;
      }
      cancelled.put(jobId, Boolean.TRUE);
      sweepCancels = true;
      return;
    }
    FleetEvent e;
    try {
      e = Json.read(r.value(), FleetEvent.class);
      if (e.type() == null) {
        throw new IllegalArgumentException("no type");
      }
    } catch (RuntimeException ex) {
      if (rebuilding == null) {
        deadLetter(r, "unreadable fleet event: " + ex.getMessage());
      } else {
        // Read again while rebuilding: the dispatcher active when it arrived dead-lettered it.
        LOG.debug("skipping unreadable fleet event {}-{}@{}", r.topic(), r.partition(), r.offset());
      }
      return;
    }
    long at = r.timestamp();
    switch (e.type()) {
      case LEASE_RELEASED -> {
        if ("handed_back".equals(e.outcome())) {
          // The assignment went back to the share group: another worker runs it under the same lease and
          // releases it then. Releasing now would let a new dispatch take the stream's concurrency twice.
          return;
        }
        Long used = e.usage() == null ? null : e.usage().totalTokens();
        if (e.leaseId() != null) {
          if (rebuilding != null) {
            Rebuilt rb = rebuilding.remove(e.leaseId());
            if (rb != null) {
              keys.restoreUsage(rb.lease().keyId(), rb.lease().reservedAtMs(),
                  used == null ? rb.lease().reservedTokens() : used, nowMs);
            }
          } else {
            Optional<Lease> l = keys.release(e.leaseId(), used, nowMs);
            if (l.isPresent()) {
              metrics.leasesReleased.increment();
              board.usage(e.route(), e.usage(), nowMs);
              if (l.get().route() != null) {
                RouteBreakers.Verdict v = RouteBreakers.verdictOf(e.outcome(), e.errorCode());
                if (v == RouteBreakers.Verdict.RATE_LIMITED && keys.isCoolingDown(l.get().keyId(), at)) {
                  // The key is cooling down already: this 429 is the same event as the one that started it (a
                  // stream dispatched before the cooldown). One storm on one key is the key's problem, not the
                  // route's; a provider-wide limit still shows up as 429s from every key.
                  v = RouteBreakers.Verdict.NEUTRAL;
                }
                breakers.record(l.get().route(), v, e.timeToFirstTokenMs() == null ? 0 : e.timeToFirstTokenMs());
              }
            }
          }
        }
        keyFeedback(e, at, nowMs);
      }
      case KEY_COOLDOWN -> {
        if (e.keyId() != null) {
          coolDown(e.keyId(), e.retryAfterMs() != null ? e.retryAfterMs() : retryAfterOf(e.rateLimit()), at, nowMs);
        }
      }
      case WORKER_HEARTBEAT -> {
        if (rebuilding == null) {
          board.heartbeat(e, nowMs);
        }
      }
    }
  }

  /**
   * An assignment the workers' share group archived after its delivery limit (the broker's dead letter, with the
   * assignment copied): the job gets one {@code failed}/{@code delivery_limit} result and the lease is released,
   * both with a dispatcher-made {@code lease_released} event in the next dispatch transaction.
   *
   * <p>Exactly once, by the lease table: only an archived assignment whose lease is still held is answered (live:
   * held in the key pool, or expired without a release; rebuilding: written within the lookback and released by no
   * fleet event). The answer's own {@code lease_released} is committed with the result, so a dispatcher that takes
   * over and reads the same dead letter again finds the lease released and writes nothing; a duplicate dead letter
   * finds it released too; and a lease a worker released (it wrote the job's terminal record, then lost the
   * assignment) is never answered twice.
   */
  private void onArchived(ConsumerRecord<String, byte[]> r, Map<String, Rebuilt> rebuilding, long nowMs) {
    String why = header(r, TopicAdmin.DLQ_HEADER_MESSAGE);
    String where = header(r, TopicAdmin.DLQ_HEADER_TOPIC) + "-" + header(r, TopicAdmin.DLQ_HEADER_PARTITION) + "@"
        + header(r, TopicAdmin.DLQ_HEADER_OFFSET);
    Assignment a;
    try {
      a = r.value() == null ? null : Json.read(r.value(), Assignment.class);
    } catch (RuntimeException e) {
      a = null;
    }
    if (a == null || a.leaseId() == null || a.job() == null || a.job().jobId() == null || a.replyTo() == null) {
      if (rebuilding == null) {
        LOG.error("archived assignment {} ({}) cannot be read{}; its job, if any, gets no result", where, why,
            r.value() == null ? " (no value: is " + TopicAdmin.GROUP_DLQ_COPY_RECORD + " off?)" : "");
      }
      return;
    }
    boolean held;
    Lease lease = null;
    if (rebuilding != null) {
      Rebuilt rb = rebuilding.remove(a.leaseId());
      held = rb != null;
      if (rb != null && config.keys().containsKey(rb.lease().keyId())) {
        lease = rb.lease();
        keys.restoreUsage(lease.keyId(), lease.reservedAtMs(), lease.reservedTokens(), nowMs);
      }
    } else {
      Optional<Lease> l = keys.release(a.leaseId(), null, nowMs);
      held = l.isPresent() || expiredUnreleased.remove(a.leaseId()) != null;
      if (l.isPresent()) {
        lease = l.get();
        metrics.leasesReleased.increment();
        if (lease.route() != null) {
          breakers.release(lease.route());
        }
      }
    }
    if (!held) {
      LOG.info("archived assignment {} of job {} (lease {}): the lease was released already, nothing to answer",
          where, a.job().jobId(), a.leaseId());
      return;
    }
    int deliveries = parseInt(header(r, TopicAdmin.DLQ_HEADER_DELIVERY_COUNT), 1);
    int attempts = a.attempt() + Math.max(0, deliveries - 1);
    String msg = "the assignment was delivered " + deliveries + " time(s) without an answer (workers crashed or could "
        + "not publish); the share group archived it (" + why + ")";
    LOG.warn("job {}: {}; answering failed/{} (lease {} on key {})", a.job().jobId(), msg, ErrorCodes.DELIVERY_LIMIT,
        a.leaseId(), a.keyId());
    Result result = Result.terminal(a.job().jobId(), JobStatus.FAILED, new JobError(ErrorCodes.DELIVERY_LIMIT, msg,
        false), a.job().metadata(), attempts);
    FleetEvent released = new FleetEvent(FleetEvent.Type.LEASE_RELEASED, Instant.ofEpochMilli(nowMs), clientId,
        a.leaseId(), a.job().jobId(), a.keyId(), a.route() == null ? null : a.route().name(), "failed", null,
        ErrorCodes.DELIVERY_LIMIT, null, null, null, null, null, null);
    outbox.add(new Out(null, -1, new Decision.Archived(new Decision.Answer(a.replyTo(), result), released), r));
  }

  private static String header(ConsumerRecord<String, byte[]> r, String name) {
    var h = r.headers().lastHeader(name);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  private static int parseInt(String s, int fallback) {
    try {
      return s == null ? fallback : Integer.parseInt(s.trim());
    } catch (NumberFormatException e) {
      return fallback;
    }
  }

  private static String cancelledJobId(ConsumerRecord<String, byte[]> r) {
    if (r.value() != null && r.value().length > 0 && r.value().length < 4_096) {
      try {
        var node = Json.mapper().readTree(r.value());
        if (node != null && node.isTextual() && !node.textValue().isBlank()) {
          return node.textValue();
        }
        if (node != null && node.path("job_id").isTextual() && !node.path("job_id").textValue().isBlank()) {
          return node.path("job_id").textValue();
        }
        return null;
      } catch (Exception e) {
        String s = new String(r.value(), StandardCharsets.UTF_8).trim();
        return s.isEmpty() || s.length() > 256 || s.contains("{") ? null : s;
      }
    }
    return r.key() != null && !r.key().isBlank() && (r.value() == null || r.value().length == 0) ? r.key() : null;
  }

  /** Rate-limit feedback on the key: 429 cooldown, auth/quota disable, x-ratelimit-remaining-* budgets. */
  private void keyFeedback(FleetEvent e, long atMs, long nowMs) {
    String key = e.keyId();
    if (key == null || !config.keys().containsKey(key)) {
      return;
    }
    String code = e.errorCode();
    if (ErrorCodes.UPSTREAM_AUTH.equals(code) || ErrorCodes.UPSTREAM_QUOTA.equals(code)) {
      long until = atMs + config.dispatcher().keyDisabledMs();
      if (until > nowMs) {
        boolean was = keys.isDisabled(key, nowMs);
        keys.disable(key, until);
        if (!was) {
          metrics.keyEvent(key, "disabled");
          LOG.error("KEY DISABLED: key {} got {} (HTTP {}) from route {}; no jobs go to it for {} ms. Jobs other keys "
              + "can serve keep going. Check the key's secret, quota and spend limit.", key, code, e.statusCode(),
              e.route(), config.dispatcher().keyDisabledMs());
        }
      }
    } else if (ErrorCodes.UPSTREAM_RATE_LIMITED.equals(code)
        || (e.statusCode() != null && e.statusCode() == 429)) {
      coolDown(key, e.retryAfterMs() != null ? e.retryAfterMs() : retryAfterOf(e.rateLimit()), atMs, nowMs);
    }
    Map<String, String> h = e.rateLimit();
    if (h != null && !h.isEmpty()) {
      Long reqs = parseLong(h.get("x-ratelimit-remaining-requests"));
      Long toks = parseLong(h.get("x-ratelimit-remaining-tokens"));
      if (reqs != null || toks != null) {
        long window = config.dispatcher().rateWindowMs();
        long reset = Math.max(durationMs(h.get("x-ratelimit-reset-requests"), window),
            durationMs(h.get("x-ratelimit-reset-tokens"), window));
        if (atMs + reset > nowMs) {
          keys.remoteBudget(key, reqs, toks, atMs + reset);
          metrics.keyEvent(key, "remote_budget");
        }
      }
    }
  }

  private void coolDown(String key, Long retryAfterMs, long atMs, long nowMs) {
    if (!config.keys().containsKey(key)) {
      return;
    }
    var d = config.dispatcher();
    long base = Math.min(d.cooldownCapMs(), retryAfterMs == null || retryAfterMs < 0 ? d.cooldownDefaultMs()
        : retryAfterMs);
    long until = atMs + base + (long) (random.getAsDouble() * base * 0.2);
    if (until > nowMs) {
      if (!keys.isCoolingDown(key, nowMs)) {
        LOG.info("key {} cools down for {} ms after a 429", key, until - nowMs);
      }
      keys.coolDown(key, until);
      metrics.keyEvent(key, "cooldown");
    }
  }

  /** retry-after-ms, or retry-after in seconds (an HTTP date is left to the worker, which sends retryAfterMs). */
  private static Long retryAfterOf(Map<String, String> h) {
    if (h == null) {
      return null;
    }
    Long ms = parseLong(h.get("retry-after-ms"));
    if (ms != null) {
      return ms;
    }
    Long s = parseLong(h.get("retry-after"));
    return s == null ? null : s * 1_000;
  }

  private static Long parseLong(String s) {
    if (s == null) {
      return null;
    }
    try {
      return (long) Double.parseDouble(s.trim());
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** OpenAI-style reset durations: "1s", "6m0s", "20ms", "1h2m3.5s"; a bare number is seconds. */
  static long durationMs(String s, long fallback) {
    if (s == null || s.isBlank()) {
      return fallback;
    }
    s = s.trim();
    try {
      return (long) (Double.parseDouble(s) * 1_000);
    } catch (NumberFormatException ignored) {
      // units follow
    }
    var m = java.util.regex.Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|h|m|s)").matcher(s);
    double total = 0;
    boolean any = false;
    while (m.find()) {
      any = true;
      double v = Double.parseDouble(m.group(1));
      total += switch (m.group(2)) {
        case "ms" -> v;
        case "s" -> v * 1_000;
        case "m" -> v * 60_000;
        default -> v * 3_600_000;
      };
    }
    return any ? (long) total : fallback;
  }

  // ------------------------------------------------------------------ intake

  private void intake(ConsumerRecord<String, byte[]> r, long nowMs) {
    Lane lane = laneOfTopic.get(r.topic());
    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
    offsets.read(tp, r.offset());
    Instant now = Instant.ofEpochMilli(nowMs);
    Decision d = lane == Lane.RETRY
        ? intake.ofRetry(r.value(), now)
        : intake.ofJob(r.value(), Instant.ofEpochMilli(r.timestamp()), now);
    String replyTo = replyTopicOf(d);
    if (replyTo != null && !topicCatalog.listed(replyTo)) {
      parked.add(new Parked(r, tp, lane, d, replyTo, topicCatalog.ticket()));
      return;
    }
    admit(r, tp, lane, d, nowMs);
  }

  /** The reply topic a decision will write to (null: none). */
  private static String replyTopicOf(Decision d) {
    if (d instanceof Decision.Dispatch x) {
      return x.job().replyTo();
    } else if (d instanceof Decision.Answer x) {
      return x.replyTo();
    } else if (d instanceof Decision.DeadLetter x && x.answer() != null) {
      return x.answer().replyTo();
    }
    return null;
  }

  /** A job record waiting for a topic listing that started after it was read. */
  private record Parked(ConsumerRecord<String, byte[]> r, TopicPartition tp, Lane lane, Decision d, String replyTo,
      long ticket) {}

  /**
   * Parked records whose reply topic a fresh listing has go on; those it proves missing are dead-lettered (no
   * result can be written to a topic that does not exist, and a send to it would stall this thread for max.block.ms).
   * While more records wait than a lane may buffer, the job partitions pause.
   */
  private void resolveParked(long nowMs) {
    var it = parked.iterator();
    while (it.hasNext()) {
      Parked p = it.next();
      Boolean exists = topicCatalog.answer(p.replyTo(), p.ticket());
      if (exists == null) {
        continue;
      }
      it.remove();
      if (exists) {
        admit(p.r(), p.tp(), p.lane(), p.d(), nowMs);
      } else {
        String reason = "reply_to topic " + p.replyTo() + " does not exist";
        if (p.d() instanceof Decision.DeadLetter dl) {
          reason = dl.reason() + "; " + reason;
        } else if (p.d() instanceof Decision.Answer a && a.result().error() != null) {
          reason = reason + " (the job would have been " + a.result().status().wireName() + ": "
              + a.result().error().message() + ")";
        }
        outbox.add(new Out(p.tp(), p.r().offset(), new Decision.DeadLetter(reason, null), p.r()));
      }
    }
    int cap = Math.max(1, config.dispatcher().maxBufferedJobs() / 4);
    if (!parkedPause && parked.size() >= cap) {
      parkedPause = true;
      jobs.pause(jobs.assignment());
    } else if (parkedPause && parked.isEmpty()) {
      parkedPause = false;
      for (Lane lane : Lane.values()) {
        if (!pausedLanes.contains(lane)) {
          jobs.resume(partitionsOf(lane));
        }
      }
    }
  }

  private void admit(ConsumerRecord<String, byte[]> r, TopicPartition tp, Lane lane, Decision d, long nowMs) {
    if (!(d instanceof Decision.Dispatch dispatch)) {
      outbox.add(new Out(tp, r.offset(), d, r));
      return;
    }
    Job job = dispatch.job();
    int prior = dispatch.attempt() - 1;
    if (cancelled.containsKey(job.jobId())) {
      answer(tp, r, job, JobStatus.CANCELLED, ErrorCodes.CANCELLED, "cancelled before it ran", prior);
      return;
    }
    Priority priority = switch (lane) {
      case HIGH -> Priority.HIGH;
      case NORMAL -> Priority.NORMAL;
      case LOW -> Priority.LOW;
      case RETRY -> Priority.NORMAL;
    };
    long readyAt = nowMs;
    JobError lastError = null;
    String lastKey = null;
    if (lane == Lane.RETRY) {
      RetryRequest retry = Json.read(r.value(), RetryRequest.class);
      lastError = retry.reason();
      lastKey = retry.assignment().keyId();
      if (retry.assignment().priority() != null) {
        priority = retry.assignment().priority();
      }
      String last = lastError == null ? "unknown" : lastError.code() + ": " + lastError.message();
      int max = config.dispatcher().retry().maxAttempts();
      if (dispatch.attempt() > max) {
        answer(tp, r, job, JobStatus.FAILED, ErrorCodes.RETRIES_EXHAUSTED, "gave up after " + prior
            + " attempt(s) (dispatcher.retry.max_attempts = " + max + "); last error: " + last, prior);
        return;
      }
      long due = Math.max(retry.notBefore() == null ? 0 : retry.notBefore().toEpochMilli(),
          nowMs + backoff.delayMs(dispatch.attempt()));
      if (dispatch.deadline() != null && due >= dispatch.deadline().toEpochMilli()) {
        answer(tp, r, job, JobStatus.EXPIRED, ErrorCodes.DEADLINE_EXCEEDED, "the next attempt could not start "
            + "before the job's deadline " + dispatch.deadline() + " after " + prior + " attempt(s); last error: "
            + last, prior);
        return;
      }
      readyAt = due;
    }
    TokenEstimator.Estimate prompt = tokens.estimate(job);
    String problem = unservable(dispatch, prompt);
    if (problem != null) {
      String code = problem.startsWith("no key") ? ErrorCodes.NO_KEY : ErrorCodes.PROMPT_TOO_LARGE;
      answer(tp, r, job, JobStatus.REJECTED, code, problem, prior);
      return;
    }
    String group = config.models().containsKey(job.model()) ? job.model() : "*";
    queues.add(group, lane, new Pending(tp, r.offset(), lane, group, dispatch, priority, readyAt, prompt, lastError,
        lastKey));
  }

  /** Why no route of the chain could ever serve the job, or null when one could. */
  private String unservable(Decision.Dispatch d, TokenEstimator.Estimate estimate) {
    Job job = d.job();
    RouteSettings first = d.routes().get(0);
    long firstPrompt = estimate.forRoute(first);
    if (first.maxPromptTokens() != null && firstPrompt > first.maxPromptTokens()) {
      return "the prompt has about " + firstPrompt + " tokens, more than max_prompt_tokens "
          + first.maxPromptTokens() + " of model " + job.model();
    }
    boolean anyKey = false;
    long smallest = Long.MAX_VALUE;
    long smallestPrompt = firstPrompt;
    for (RouteSettings route : d.routes()) {
      if (TokenLimits.exceedsCap(job, route)) {
        continue;
      }
      List<String> candidates = keysOf(route);
      if (!keys.hasKeyFor(candidates, job.tenant())) {
        continue;
      }
      anyKey = true;
      long prompt = estimate.forRoute(route);
      long reserve = prompt + TokenLimits.reserved(job, route);
      if (reserve < smallest) {
        smallest = reserve;
        smallestPrompt = prompt;
      }
      if (keys.canEverAdmit(candidates, job.tenant(), reserve)) {
        return null;
      }
    }
    if (!anyKey) {
      return "no key serves model " + job.model() + (job.tenant() == null ? "" : " for tenant " + job.tenant());
    }
    return "the prompt (about " + smallestPrompt + " tokens) plus the completion limit needs " + smallest
        + " tokens, more than any key of model " + job.model() + " may use per rate window";
  }

  /**
   * The prompt estimate of an assignment read back while rebuilding: on its route when the route is still
   * configured, else the largest of its model's chain, else with the configuration's default image and attachment
   * estimates.
   */
  private long promptOf(Assignment a) {
    TokenEstimator.Estimate e = tokens.estimate(a.job());
    if (e.unsizedImages() == 0 && e.attachments() == 0) {
      return e.fixedTokens();
    }
    List<RouteSettings> chain = config.model(a.job().model()).map(m -> m.routes()).orElse(List.of());
    for (RouteSettings r : chain) {
      if (a.route() != null && r.toRoute(a.job().model()).name().equals(a.route().name())) {
        return e.forRoute(r);
      }
    }
    return chain.isEmpty() ? e.forRoute(DEFAULT_ROUTE) : e.max(chain);
  }

  private void answer(TopicPartition tp, ConsumerRecord<String, byte[]> r, Job job, JobStatus status, String code,
      String message, int attempts) {
    outbox.add(new Out(tp, r.offset(), new Decision.Answer(job.replyTo(), Result.terminal(job.jobId(), status,
        new JobError(code, message, false), job.metadata(), attempts)), r));
  }

  /** Leases of vanished workers expire; expired and cancelled jobs leave the queues with one result each. */
  private void sweep(long nowMs) {
    lastSweepMs = nowMs;
    sweepCancels = false;
    for (Lease l : keys.expire(Instant.ofEpochMilli(nowMs))) {
      metrics.leasesExpired.increment();
      expiredUnreleased.put(l.leaseId(), Boolean.TRUE);
      breakers.release(l.route());
      LOG.warn("lease {} of job {} on key {} expired without release", l.leaseId(), l.jobId(), l.keyId());
    }
    for (Pending p : queues.removeIf(p -> isExpired(p, nowMs) || cancelled.containsKey(p.dispatch().job().jobId()))) {
      Job job = p.dispatch().job();
      int prior = p.dispatch().attempt() - 1;
      boolean cancel = cancelled.containsKey(job.jobId());
      String msg = cancel ? "cancelled before it ran" : "the job's deadline " + p.dispatch().deadline()
          + " passed while it waited for a key" + (p.lastError() == null ? ""
          : "; last error: " + p.lastError().code() + ": " + p.lastError().message());
      outbox.add(new Out(p.tp(), p.offset(), new Decision.Answer(job.replyTo(), Result.terminal(job.jobId(),
          cancel ? JobStatus.CANCELLED : JobStatus.EXPIRED,
          new JobError(cancel ? ErrorCodes.CANCELLED : ErrorCodes.DEADLINE_EXCEEDED, msg, false), job.metadata(),
          prior)), null));
    }
  }

  private static boolean isExpired(Pending p, long nowMs) {
    return p.dispatch().deadline() != null && nowMs >= p.dispatch().deadline().toEpochMilli();
  }

  /** A lane whose buffer is full pauses its topic; it resumes at half. Memory never grows with the backlog. */
  private void flowControl() {
    int cap = Math.max(1, config.dispatcher().maxBufferedJobs() / 4);
    for (Lane lane : Lane.values()) {
      int n = queues.size(lane);
      if (n >= cap && pausedLanes.add(lane)) {
        jobs.pause(partitionsOf(lane));
      } else if (n <= cap / 2 && pausedLanes.remove(lane)) {
        jobs.resume(partitionsOf(lane));
      }
    }
  }

  private List<TopicPartition> partitionsOf(Lane lane) {
    String topic = topicOfLane.get(lane);
    return jobs.assignment().stream().filter(tp -> tp.topic().equals(topic)).toList();
  }

  // ------------------------------------------------------------------ dispatch

  /** One output record that is not an assignment, for the next transaction. */
  private record Out(TopicPartition tp, long offset, Decision decision, ConsumerRecord<String, byte[]> source) {}

  private void dispatch() {
    long nowMs = clock.millis();
    Instant now = Instant.ofEpochMilli(nowMs);
    Set<String> blocked = new HashSet<>();
    List<Lease> acquired = new ArrayList<>();
    List<Out> unreplayable = new ArrayList<>(); // not from a job partition: a rewind does not read them again
    boolean inTxn = false;
    try {
      int n = 0;
      for (Out o : outbox) {
        if (!inTxn) {
          producer.beginTransaction();
          inTxn = true;
        }
        emit(o.decision(), o.source());
        if (o.tp() != null) {
          offsets.done(o.tp(), o.offset());
        }
        n++;
      }
      outbox.stream().filter(o -> o.tp() == null).forEach(unreplayable::add);
      outbox.clear();
      while (n < MAX_RECORDS_PER_TRANSACTION) {
        ReadyQueues.Choice<Pending> c = queues.next(nowMs, blocked::contains);
        if (c == null) {
          break;
        }
        Optional<ProducerRecord<String, byte[]>> a = assign(c.item(), now, acquired);
        if (a.isEmpty()) {
          blocked.add(c.group()); // no key of this model's chain has room: its jobs wait, other models go on
          continue;
        }
        if (!inTxn) {
          producer.beginTransaction();
          inTxn = true;
        }
        producer.send(a.get());
        queues.take(c);
        offsets.done(c.item().tp(), c.item().offset());
        metrics.dispatched.increment();
        n++;
      }
      if (inTxn) {
        Map<TopicPartition, OffsetAndMetadata> commit = offsets.toCommit();
        if (!commit.isEmpty()) {
          producer.sendOffsetsToTransaction(commit, jobs.groupMetadata());
        }
        producer.commitTransaction();
        offsets.markCommitted(commit);
      }
    } catch (ProducerFencedException | InvalidProducerEpochException e) {
      throw e;
    } catch (KafkaException e) {
      LOG.warn("dispatch transaction failed, rewinding: {}", e.toString());
      metrics.transactionsAborted.increment();
      if (inTxn) {
        try {
          producer.abortTransaction();
        } catch (KafkaException abort) {
          throw abort;
        }
      }
      for (Lease l : acquired) {
        keys.undo(l.leaseId(), nowMs);
        breakers.release(l.route());
      }
      rewind();
      outbox.addAll(unreplayable);
    }
  }

  private Optional<ProducerRecord<String, byte[]>> assign(Pending p, Instant now, List<Lease> acquired) {
    Decision.Dispatch d = p.dispatch();
    Job job = d.job();
    long nowMs = now.toEpochMilli();
    for (RouteSettings route : d.routes()) {
      if (TokenLimits.exceedsCap(job, route)) {
        continue;
      }
      long prompt = p.prompt().forRoute(route);
      if (route.maxPromptTokens() != null && prompt > route.maxPromptTokens()) {
        continue;
      }
      long reserve = prompt + TokenLimits.reserved(job, route);
      var wire = route.toRoute(job.model());
      List<String> candidates = keysOf(route);
      if (!breakers.tryAcquire(wire.name())) {
        continue; // open: down the fallback chain
      }
      Optional<String> key = Optional.empty();
      if (p.lastKey() != null && candidates.size() > 1 && candidates.contains(p.lastKey())) {
        List<String> others = new ArrayList<>(candidates);
        others.remove(p.lastKey());
        key = keys.choose(others, job.tenant(), reserve, nowMs);
      }
      if (key.isEmpty()) {
        key = keys.choose(candidates, job.tenant(), reserve, nowMs);
      }
      if (key.isEmpty()) {
        breakers.release(wire.name());
        continue;
      }
      String leaseId = leasePrefix + Long.toString(leaseSeq++, 36);
      Instant deadline = d.deadline() != null ? d.deadline()
          : now.plusMillis(config.dispatcher().defaultJobTtlMs());
      Lease lease = new Lease(leaseId, key.get(), job.jobId(), wire.name(),
          deadline.plusMillis(config.dispatcher().leaseGraceMs()), reserve, nowMs);
      keys.acquire(lease, nowMs);
      acquired.add(lease);
      Assignment a = new Assignment(leaseId, job, d.attempt(), p.priority(), wire,
          key.get(), d.enqueuedAt(), now, deadline, job.replyTo(), p.lastError());
      return Optional.of(new ProducerRecord<>(config.topics().assignments(), job.jobId(), Json.bytes(a)));
    }
    return Optional.empty();
  }

  private List<String> keysOf(RouteSettings route) {
    return keysOfRoute.computeIfAbsent(route, config::keysOf);
  }

  private void emit(Decision d, ConsumerRecord<String, byte[]> r) {
    if (d instanceof Decision.DeadLetter dl) {
      RecordHeaders h = new RecordHeaders();
      r.headers().forEach(h::add);
      h.add("pf.dlq.reason", dl.reason().getBytes(StandardCharsets.UTF_8));
      h.add("pf.dlq.topic", r.topic().getBytes(StandardCharsets.UTF_8));
      h.add("pf.dlq.partition", Integer.toString(r.partition()).getBytes(StandardCharsets.UTF_8));
      h.add("pf.dlq.offset", Long.toString(r.offset()).getBytes(StandardCharsets.UTF_8));
      h.add("pf.dlq.timestamp", Long.toString(r.timestamp()).getBytes(StandardCharsets.UTF_8));
      producer.send(new ProducerRecord<>(config.topics().deadLetters(), null, r.key(), r.value(), h));
      metrics.deadLettered.increment();
      LOG.info("dead-lettered {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), dl.reason());
      if (dl.answer() != null) {
        emit(dl.answer(), r);
      }
    } else if (d instanceof Decision.Archived x) {
      producer.send(new ProducerRecord<>(config.topics().fleetEvents(), x.released().keyId(),
          Json.bytes(x.released())));
      emit(x.answer(), r);
    } else if (d instanceof Decision.Answer a && topicCatalog != null && topicCatalog.ready()
        && !topicCatalog.listed(a.replyTo())) {
      // Checked at intake; it was deleted since. A send would wait max.block.ms for metadata, then abort.
      if (r != null && r.topic().equals(config.topics().assignmentsDlq())) {
        emit(new Decision.DeadLetter("reply_to topic " + a.replyTo() + " does not exist; the job would have been "
            + a.result().status().wireName() + ": " + a.result().error().message(), null), r);
      } else {
        LOG.error("job {}: its reply topic {} does not exist any more; its {} result is dropped", a.result().jobId(),
            a.replyTo(), a.result().status().wireName());
      }
    } else if (d instanceof Decision.Answer a) {
      producer.send(new ProducerRecord<>(a.replyTo(), a.result().jobId(), Json.bytes(a.result())));
      metrics.answered(a.result().status().wireName());
    }
  }

  /** A fleet event or cancel that cannot be read goes to the dead-letter topic with the next transaction. */
  private void deadLetter(ConsumerRecord<String, byte[]> r, String reason) {
    outbox.add(new Out(null, -1, new Decision.DeadLetter(reason, null), r));
  }

  /** After an aborted transaction: forget what was read and read again from the committed offsets. */
  private void rewind() {
    Set<TopicPartition> assigned = jobs.assignment();
    queues.removeIf(p -> true);
    outbox.clear();
    offsets.clear();
    parked.clear();
    parkedPause = false;
    jobs.resume(assigned);
    pausedLanes.clear();
    Map<TopicPartition, OffsetAndMetadata> committed = jobs.committed(assigned);
    for (TopicPartition tp : assigned) {
      OffsetAndMetadata om = committed.get(tp);
      if (om != null) {
        jobs.seek(tp, om);
      } else {
        jobs.seekToBeginning(List.of(tp));
      }
    }
  }

  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      revocations++;
      // Nothing of theirs is in an open transaction (we commit every round); drop what waits, the next owner reads it.
      queues.removeIf(p -> partitions.contains(p.tp()));
      outbox.removeIf(o -> o.tp() != null && partitions.contains(o.tp()));
      partitions.forEach(offsets::forget);
      parked.removeIf(p -> partitions.contains(p.tp()));
      pausedLanes.clear();
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      assignorFlag.set(!partitions.isEmpty());
      if (!partitions.isEmpty()) {
        LOG.info("dispatcher {} now reads {} partitions", instanceId, partitions.size());
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

  private static void closeQuietly(AutoCloseable c) {
    if (c != null) {
      try {
        c.close();
      } catch (Exception e) {
        LOG.debug("close failed", e);
      }
    }
  }
}
