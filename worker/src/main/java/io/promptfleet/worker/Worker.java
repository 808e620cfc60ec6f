package io.promptfleet.worker;

import io.promptfleet.worker.upstream.Failure;
import io.promptfleet.worker.upstream.ProviderClients;
import io.promptfleet.worker.upstream.ProviderConnections;
import io.promptfleet.worker.upstream.ProviderEndpoint;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.ConfigException;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.KeySettings;
import io.promptfleet.common.config.ProviderSettings;
import io.promptfleet.common.config.WorkerSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.FleetEventGist;
import io.promptfleet.common.job.ProviderConnectionStats;
import io.promptfleet.common.job.SuccessorProtocol;
import io.promptfleet.common.kafka.FleetEventHeaders;
import io.promptfleet.common.kafka.KafkaClients;
import io.promptfleet.common.logging.LogContext;
import io.promptfleet.worker.arrival.ArrivalRule;
import io.promptfleet.worker.arrival.ArrivalRule.Arrival;
import io.promptfleet.worker.cancel.TopicWatcher;
import io.promptfleet.worker.cancel.RecentIds;
import io.promptfleet.worker.cancel.LeaseClaims;
import io.promptfleet.worker.cancel.ReleasedLeases;
import io.promptfleet.worker.metrics.WorkerMetrics;
import io.promptfleet.worker.metrics.WorkerMetrics.Spec;
import io.promptfleet.worker.poll.Answered;
import io.promptfleet.worker.poll.Lane;
import io.promptfleet.worker.poll.LaneListener;
import io.promptfleet.worker.poll.LaneParking;
import io.promptfleet.worker.stream.CompletionCall;
import io.promptfleet.worker.stream.Outcome;
import io.promptfleet.worker.stream.ReplyPublisher;
import io.promptfleet.worker.stream.StreamEnv;
import io.promptfleet.worker.stream.StreamMeters;
import io.promptfleet.worker.successor.SuccessorHandOver;
import io.promptfleet.worker.successor.SuccessorHandOver.Held;
import io.promptfleet.worker.successor.SuccessorWaits;
import io.promptfleet.worker.successor.SuccessorWaits.Exit;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker: {@code worker.lanes} share consumers acquire assignments (at most {@code worker.slots} in all), each
 * is streamed from its provider on a Vert.x event loop, and acknowledged once its terminal record is in Kafka.
 * A redelivered assignment runs as a later attempt ({@code attempt + deliveryCount - 1}). A cancel watcher sees
 * every cancel; {@link #drain} stops taking work, lets streams finish within the grace period and hands the rest
 * back. A successor assignment ({@code after_lease}) waits in {@link SuccessorWaits} until its predecessor's call
 * has ended; {@link SuccessorHandOver} claims it when it comes and starts it or hands it back when it leaves.
 *
 * <p>Lifecycle methods are thread-safe. Streams run on event loops; lanes on their own named threads
 * ({@code pf-<worker>-lane-N}); the cancel watcher on {@code pf-<worker>-cancels}; heartbeats on
 * {@code pf-<worker>-heartbeat}; held assignments' rechecks and the lanes' parking ticks on {@code pf-<worker>-held}.
 * While a lane thread hands out an assignment, the job and lease ids are in its logging context ({@link LogContext});
 * event loops interleave streams, so stream code names the ids in its messages.
 * Meters are declared in {@link WorkerMetrics}.
 */
public final class Worker implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
  /**
   * How far back a redelivered assignment's terminal record is looked for: its earlier delivery's lock expired
   * within the share group's lock duration (30 s by default) of that worker's death.
   */
  private static final Duration ANSWERED_LOOKBACK = Duration.ofMinutes(10);

  private final FleetConfig config;
  private final WorkerOptions options;
  private final Vertx vertx;
  private final String workerId;
  private final Clock clock;
  /** One pooled HTTP client per provider (each has its own TLS and proxy settings). */
  private final Map<String, ProviderConnections> clients = new HashMap<>();
  private final KafkaProducer<String, byte[]> producer;
  private final KafkaClientMetrics producerMetrics;
  private final ReplyPublisher publisher;
  private final StreamEnv env;
  private final Map<String, ProviderEndpoint> endpoints = new HashMap<>();
  private final List<Lane> lanes = new ArrayList<>();
  /** Parks the lanes beyond {@code worker.idle_lanes} while this worker is idle; reopens them when work comes. */
  private final LaneParking parking;
  /** Reply topics this worker could not publish to, each logged once (until it works again). */
  private final Set<String> unpublishable = ConcurrentHashMap.newKeySet();
  /** Streams in flight, by lease id: a lease runs at most once at a time on a worker. */
  private final Map<String, Active> active = new ConcurrentHashMap<>();
  /** How often an assignment held because another worker runs its lease is looked at again. */
  static final long HOLD_RECHECK_MS = 200;
  /** How far back the fleet events are read at start for the leases released lately. */
  static final Duration RELEASES_LOOKBACK = Duration.ofMinutes(1);
  private final RecentIds recentCancels;
  private final TopicWatcher cancels;
  /** The fleet events: which leases were released (their assignment is never run again here). */
  private final TopicWatcher events;
  /** Leases released lately with an outcome (not handed back): their assignments are not run again. */
  private final ReleasedLeases releasedLeases;
  /** Leases other workers run now: a delivery of one is held until that run ends. */
  private final LeaseClaims claims;
  /** Whether a delivered assignment runs now, and if not what becomes of it. */
  private final ArrivalRule arrivals;
  /** Leases held here because another worker runs them (each logged once). */
  private final Set<String> holding = ConcurrentHashMap.newKeySet();
  /**
   * Successor assignments and late copies held until they may start (not in {@link #active}): claimed when they come,
   * started or handed back when they leave their wait.
   */
  private final SuccessorHandOver successors;
  /** Looks at held assignments again, and starts or hands back the successors that leave their wait. */
  private final ScheduledExecutorService rechecks;
  private final ScheduledExecutorService heartbeat;
  private final Counter renewals;
  private final Timer pickup;
  private final AtomicBoolean drained = new AtomicBoolean();
  private volatile boolean draining;
  private volatile long lastKafkaAckMillis;

  /**
   * A stream in flight, the event-loop context that drives it, and the deliveries of its assignment that came again
   * while it ran (acknowledged with its outcome, never run twice).
   */
  private record Active(CompletionCall call, Context context, RecordId record, List<Delivery> again) {
    Active(CompletionCall call, Context context, RecordId record) {
      this(call, context, record, new ArrayList<>(0));
    }

    /** Called inside {@code active.computeIfPresent}: atomic against the stream's end, which removes it first. */
    Active deliveredAgain(ConsumerRecord<String, byte[]> record, Lane lane) {
      again.add(new Delivery(record, lane));
      return this;
    }
  }

  /** One delivery of an assignment and the lane that must acknowledge it. */
  private record Delivery(ConsumerRecord<String, byte[]> record, Lane lane) {}

  /** Which assignment record: after a renewal the lane holds a new ConsumerRecord object for the same record. */
  private record RecordId(String topic, int partition, long offset) {
    static RecordId of(ConsumerRecord<?, ?> r) {
      return new RecordId(r.topic(), r.partition(), r.offset());
    }
  }

  /** A worker with the options of the fleet's {@code worker} settings ({@link WorkerOptions#from}). */
  public Worker(FleetConfig config, Vertx vertx, MeterRegistry registry, String workerId, Clock clock) {
    this(config, WorkerOptions.from(config.worker()), vertx, registry, workerId, clock);
  }

  public Worker(FleetConfig config, WorkerOptions options, Vertx vertx, MeterRegistry registry, String workerId,
      Clock clock) {
    this.config = config;
    this.options = options;
    this.vertx = vertx;
    this.workerId = workerId;
    this.clock = clock;
    var w = config.worker();
    WorkerMetrics metrics = new WorkerMetrics(registry);
    endpoints(System.getenv(), metrics); // first: a configuration error stops the worker before it opens Kafka clients
    Map<String, Object> producerProperties = ReplyPublisher.producerProperties(KafkaClients.producer(config.kafka(),
        "pf-" + workerId));
    this.producer = new KafkaProducer<>(producerProperties);
    this.producerMetrics = metrics.kafkaClient(new KafkaClientMetrics(producer));
    this.publisher = new ReplyPublisher(producer, config.topics().fleetEvents(), config.topics().jobsRetry());
    this.env = new StreamEnv(vertx, publisher, clock, workerId, w.maxLineBytes(), new StreamMeters(metrics),
        options.coalesceMs(), ReplyPublisher.maxResultBytes(producerProperties), options.chunksInFlight());
    this.renewals = metrics.counter(Spec.LOCK_RENEWALS);
    this.pickup = metrics.timer(Spec.ASSIGNMENT_PICKUP);
    DistributionSummary acquired = metrics.summary(Spec.LANE_ACQUIRED);
    metrics.gauge(Spec.STREAMS_ACTIVE, active, Map::size);
    metrics.gauge(Spec.SLOTS_FREE, this, Worker::freeSlots);
    this.recentCancels = new RecentIds(options.cancelMemory(), options.cancelTtl().toMillis());
    LaneListener laneListener = new LaneListener() {
      @Override
      public void onAssignment(ConsumerRecord<String, byte[]> record, Lane lane) {
        try {
          Worker.this.onAssignment(record, lane);
        } finally {
          LogContext.clear(); // set once the assignment is read: this lane thread's lines name its job and lease
        }
      }

      @Override
      public void onLockLost(ConsumerRecord<String, byte[]> record, Lane lane) {
        Worker.this.onLockLost(record, lane);
      }

      @Override
      public void onAnswered(ConsumerRecord<String, byte[]> record, Lane lane, Answered answered) {
        Worker.this.onAnswered(record, lane, answered);
      }

      @Override
      public void onAcquired(int records) {
        acquired.record(records);
        parking.acquired();
      }

      @Override
      public void onRenewed(int records) {
        renewals.increment(records);
      }
    };
    int lanesN = w.lanes();
    int batch = Math.max(1, w.slots() / lanesN);
    for (int i = 0; i < lanesN; i++) {
      String name = "pf-" + workerId + "-lane-" + i;
      var sc = KafkaClients.shareConsumer(config.kafka(), name, w.shareGroup(), batch);
      Lane lane = new Lane(name, sc, config.topics().assignments(), options.renewAfterMax(), clock, laneListener);
      lane.acquireWhen(() -> waitingForConnection() < batch);
      lane.checkRedeliveries(KafkaClients.groupless(config.kafka(), name + "-answered"), config.topics().jobsRetry(),
          ANSWERED_LOOKBACK);
      lanes.add(lane);
    }
    this.parking = new LaneParking(lanes, w.idleLanes(), options.parkLanesAfter(), clock::millis);
    metrics.gauge(Spec.LANES_OPEN, parking, LaneParking::open);
    String cancelsName = "pf-" + workerId + "-cancels";
    this.cancels = TopicWatcher.cancels(cancelsName, KafkaClients.groupless(config.kafka(), cancelsName),
        config.topics().cancels(), this::onCancel);
    this.releasedLeases = new ReleasedLeases(options.cancelMemory(), options.cancelTtl().toMillis(), clock::millis);
    String eventsName = "pf-" + workerId + "-events";
    // read_committed: a release the dispatcher wrote in a transaction that aborted never happened
    // From a minute back: a release written just before this worker started still keeps it from running the lease
    // again when a share partition's new leader delivers that assignment to it.
    this.events = TopicWatcher.of(eventsName, KafkaClients.groupless(config.kafka(), eventsName),
        config.topics().fleetEvents(), RELEASES_LOOKBACK, this::onFleetEvent);
    // Silent for longer than the share group's record lock: gone. Not sooner: a broker paused for seconds holds up
    // a live worker's heartbeats too (the fault suite's broker-pause), and a dead worker's assignments come back
    // only once their lock expired anyway.
    long heard = WorkerSettings.heardWithinMs(options.heartbeatInterval().toMillis());
    LongSupplier silentLimit = () -> Math.max(heard, lanes.stream().mapToLong(Lane::lockTimeoutMs).max().orElse(0));
    this.claims = new LeaseClaims(options.cancelMemory(), options.cancelTtl().toMillis(), silentLimit, () -> heard);
    this.arrivals = new ArrivalRule(workerId, () -> draining, releasedLeases::contains, claims, clock::millis);
    this.rechecks = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "pf-" + workerId + "-held");
      t.setDaemon(true);
      return t;
    });
    // A predecessor that runs nowhere known for as long as a silent worker counts as alive: its successors go back.
    SuccessorWaits<Held> waits = new SuccessorWaits<>(workerId, releasedLeases::contains,
        lease -> active.containsKey(lease) || claims.runningElsewhere(lease, workerId, clock.millis()) != null,
        job -> recentCancels.contains(job, clock.millis()), options.cancelMemory(), options.cancelTtl().toMillis(),
        clock::millis, silentLimit);
    this.successors = new SuccessorHandOver(workerId, waits, publisher, clock, rechecks, () -> draining, metrics,
        (held, why) -> onAssignment(held.record(), held.lane(), why, held.deliveredAtMs()));
    this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "pf-" + workerId + "-heartbeat");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * An endpoint for each key whose secret this worker has, and a client and the resolved extra headers for each
   * provider those keys use. A key without a secret here is skipped with a warning (another worker may hold it; its
   * assignments go back for retry). A provider's header or proxy variable that is not set, or a TLS file that cannot
   * be read, stops the worker: it would send every request without the header (or not at all), and the provider's
   * refusals would disable keys that are fine.
   *
   * @throws ConfigException naming the field and variable (never a value)
   */
  private void endpoints(Map<String, String> environment, WorkerMetrics metrics) {
    int slots = config.worker().slots();
    Map<String, Map<String, String>> headers = new HashMap<>();
    try {
      for (var e : config.keys().entrySet()) {
        KeySettings k = e.getValue();
        var secret = k.resolveSecret();
        if (secret.isEmpty()) {
          LOG.warn("key {} has no secret on this worker ({} is not set): its assignments go back for retry",
              e.getKey(), k.secretSource());
          continue;
        }
        String name = k.provider();
        ProviderSettings p = config.providers().get(name);
        if (!clients.containsKey(name)) {
          headers.put(name, headers(name, p, environment));
          clients.put(name, ProviderClients.create(vertx, name, p, slots, environment, metrics));
        }
        endpoints.put(e.getKey(), new ProviderEndpoint(p, secret.get(), headers.get(name), clients.get(name)));
      }
    } catch (ConfigException e) {
      clients.values().forEach(ProviderConnections::close);
      throw e;
    }
  }

  /** The provider's extra headers with their values resolved; see {@link #endpoints}. */
  private static Map<String, String> headers(String providerName, ProviderSettings p, Map<String, String> env) {
    Map<String, String> out = new HashMap<>();
    p.headers().forEach((name, h) -> out.put(name, h.resolve("providers." + providerName + ".headers." + name,
        env)));
    return out;
  }

  /**
   * Starts the lanes, the cancel watcher and heartbeats. Blocks briefly first: fetches the metadata of the retry,
   * fleet-event and default reply topics, so that no send from an event loop ever waits for metadata.
   */
  public void start() {
    for (String t : List.of(config.topics().jobsRetry(), config.topics().fleetEvents(),
        config.topics().defaultReplyTo())) {
      try {
        publisher.warm(t);
      } catch (RuntimeException e) {
        LOG.warn("topic {} is not available yet ({}); sends to it will wait for its metadata", t, e.toString());
      }
    }
    lastKafkaAckMillis = clock.millis();
    cancels.start();
    events.start();
    lanes.forEach(Lane::start);
    long every = options.heartbeatInterval().toMillis();
    heartbeat.scheduleWithFixedDelay(this::heartbeat, 0, every, TimeUnit.MILLISECONDS);
    rechecks.scheduleWithFixedDelay(parking::tick, 1, 1, TimeUnit.SECONDS);
    rechecks.scheduleWithFixedDelay(() -> {
      try {
        successors.tick();
      } catch (RuntimeException e) { // a periodic task that throws is never run again
        LOG.error("looking at the waiting successor assignments failed", e);
      }
    }, HOLD_RECHECK_MS, HOLD_RECHECK_MS, TimeUnit.MILLISECONDS);
    LOG.info("worker {} started: {} lanes, {} slots", workerId, lanes.size(), config.worker().slots());
  }

  public String id() {
    return workerId;
  }

  /**
   * Waits until the cancels' and the fleet events' watchers are positioned (cancels and lease releases written
   * from now on reach this worker).
   */
  public boolean awaitWatchers(Duration timeout) throws InterruptedException {
    long until = System.nanoTime() + timeout.toNanos();
    return cancels.awaitReady(timeout)
        && events.awaitReady(Duration.ofNanos(Math.max(0, until - System.nanoTime())));
  }

  /** True if this worker saw the lease released lately (an assignment of it would not be run again). */
  public boolean isLeaseReleased(String leaseId) {
    return releasedLeases.contains(leaseId);
  }

  /** True if a cancel for {@code jobId} reached this worker recently (an assignment for it would be cancelled). */
  public boolean isCancelled(String jobId) {
    return recentCancels.contains(jobId, clock.millis());
  }

  /**
   * Streams of this worker that wait for a connection to their provider (in the connect gate or at the pool). A lane
   * acquires no new batch while a batch's worth of them wait: connects are paced, and assignments acquired faster
   * than their streams can start would only wait here, their time budgets running.
   */
  public int waitingForConnection() {
    int n = 0;
    for (ProviderConnections c : clients.values()) {
      n += c.waitingForConnection();
    }
    return n;
  }

  /** This worker's connections to each provider it calls (for tests, benchmarks and its heartbeats). */
  public Map<String, ProviderConnections> connections() {
    return Map.copyOf(clients);
  }

  /** What the heartbeat reports of each provider's connections, by provider name. */
  List<ProviderConnectionStats> connectionStats() {
    return clients.values().stream().map(ProviderConnections::stats)
        .sorted(Comparator.comparing(ProviderConnectionStats::provider)).toList();
  }

  public int activeStreams() {
    return active.size();
  }

  public int freeSlots() {
    int held = 0;
    for (Lane l : lanes) {
      held += l.held();
    }
    return draining ? 0 : Math.max(0, config.worker().slots() - held);
  }

  /** Null when ready, else the reason: draining, not connected yet, or no broker acknowledgement lately. */
  public String notReadyReason() {
    if (draining) {
      return "draining";
    }
    for (Lane l : lanes) {
      if (!l.connected()) {
        return "not connected to Kafka yet";
      }
    }
    long silent = clock.millis() - lastKafkaAckMillis;
    if (silent > options.kafkaSilenceLimit().toMillis()) {
      return "cut off from Kafka: no broker acknowledgement for " + silent / 1000 + " s";
    }
    return null;
  }

  private void heartbeat() {
    try {
      // Keeps the retry topic's metadata from expiring while no attempt fails, so a retry send on an event loop
      // never waits for a metadata fetch (the events topic stays fresh through these heartbeats).
      publisher.warm(config.topics().jobsRetry());
      publisher.event(FleetEvent.heartbeat(clock.instant(), workerId, config.worker().slots(), freeSlots(),
          connectionStats(), SuccessorProtocol.CURRENT))
          .whenComplete((v, e) -> {
            if (e == null) {
              lastKafkaAckMillis = clock.millis();
            }
          });
    } catch (RuntimeException e) {
      LOG.debug("heartbeat failed: {}", e.toString());
    }
  }

  /**
   * Runs on a lane thread: may block briefly (topic metadata), then hands the stream to an event loop. Puts the job
   * and lease ids in the logging context once the assignment is read (the lane listener clears them).
   */
  private void onAssignment(ConsumerRecord<String, byte[]> record, Lane lane) {
    onAssignment(record, lane, null, clock.millis());
  }

  /**
   * @param waited        why a successor assignment or late copy that waited may start now (its claim was read back;
   *                      it is not held again, and it is withdrawn if given back), null for a delivery
   * @param deliveredAtMs when the lane got this delivery (kept through holds and waits)
   */
  private void onAssignment(ConsumerRecord<String, byte[]> record, Lane lane, Exit waited, long deliveredAtMs) {
    Assignment a;
    try {
      a = Json.read(record.value(), Assignment.class);
      if (a.job() == null || a.job().jobId() == null || a.route() == null || a.replyTo() == null) {
        throw new IllegalArgumentException("job, job_id, route and reply_to are required");
      }
    } catch (RuntimeException e) {
      LOG.error("unreadable assignment at {}-{}@{}, rejecting it (it cannot be run by any worker): {}",
          record.topic(), record.partition(), record.offset(), e.toString());
      lane.acknowledge(record, AcknowledgeType.REJECT);
      return;
    }
    LogContext.put(a.job().jobId(), a.leaseId());
    // First whether it runs here now, then whether it ended: a stream that ends in between is in releasedLeases
    // before it leaves `active` (see the call's completion in run).
    if (active.computeIfPresent(a.leaseId(), (id, running) -> running.deliveredAgain(record, lane)) != null) {
      LOG.info("job {} lease {}: delivered again while it runs on this worker (a share partition changed leader?); "
          + "acknowledged with the running attempt's outcome, not run twice", a.job().jobId(), a.leaseId());
      return;
    }
    boolean wasHeld = holding.remove(a.leaseId());
    Arrival arrival = arrivals.decide(a, record.deliveryCount().orElse((short) 1), deliveredAtMs, waited != null);
    if (arrival.pickup()) {
      pickup.record(Math.max(0, arrival.sinceDispatchMs()), TimeUnit.MILLISECONDS);
    }
    switch (arrival.verdict()) {
      case HAND_BACK -> {
        if (waited != null) {
          successors.withdraw(a); // its claim was written
        }
        lane.acknowledge(record, AcknowledgeType.RELEASE);
      }
      case RELEASED -> {
        LOG.info("job {} lease {}: delivered again after its lease was released; not run again", a.job().jobId(),
            a.leaseId());
        lane.acknowledge(record, AcknowledgeType.ACCEPT);
      }
      case HELD -> hold(record, lane, a, arrival.owner(), wasHeld, waited, deliveredAtMs);
      case WAIT_FOR_CLAIM -> successors.admit(new Held(record, lane, a, deliveredAtMs), arrival.lateCopy(),
          arrival.sinceDispatchMs());
      case RUN -> run(record, lane, a, arrival.redeliveries(), waited);
    }
  }

  /** Another live worker runs the lease: looked at again every {@link #HOLD_RECHECK_MS} (a claim written stays). */
  private void hold(ConsumerRecord<String, byte[]> record, Lane lane, Assignment a, String owner, boolean wasHeld,
      Exit waited, long deliveredAtMs) {
    holding.add(a.leaseId());
    if (!wasHeld) {
      LOG.info("job {} lease {}: delivered while worker {} runs it (a share partition changed leader?); held until "
          + "that run ends or that worker is gone", a.job().jobId(), a.leaseId(), owner);
    }
    rechecks.schedule(() -> {
      try {
        onAssignment(record, lane, waited, deliveredAtMs);
      } finally {
        LogContext.clear();
      }
    }, HOLD_RECHECK_MS, TimeUnit.MILLISECONDS);
  }

  /** Starts the stream on an event loop; on the lane's or the rechecks thread (may block briefly on metadata). */
  private void run(ConsumerRecord<String, byte[]> record, Lane lane, Assignment a, int redeliveries, Exit waited) {
    if (waited != null) {
      successors.started(waited);
    }
    Assignment attempt = redeliveries == 0 ? a : new Assignment(a.leaseId(), a.job(), a.attempt() + redeliveries,
        a.priority(), a.route(), a.keyId(), a.enqueuedAt(), a.dispatchedAt(), a.deadline(), a.replyTo());
    // On the lane thread, for every assignment: cheap when the topic's metadata is cached, and it keeps the
    // metadata from expiring (metadata.max.idle.ms), so no chunk send on an event loop waits for a fetch.
    try {
      publisher.warm(a.replyTo());
      if (unpublishable.remove(a.replyTo())) {
        LOG.info("reply topic {} is available again", a.replyTo());
      }
    } catch (RuntimeException e) {
      if (unpublishable.add(a.replyTo())) {
        LOG.error("CANNOT PUBLISH TO REPLY TOPIC {} ({}): does it exist, and may this worker write to it? Its jobs "
            + "are handed back; after the share group's delivery limit (share.delivery.count.limit) the dispatcher "
            + "answers them failed/delivery_limit. Logged once per topic; job {} is the first.", a.replyTo(),
            e.toString(), a.job().jobId());
      } else {
        LOG.debug("reply topic {} still not available; handing job {} back", a.replyTo(), a.job().jobId());
      }
      lane.acknowledge(record, AcknowledgeType.RELEASE);
      return;
    }
    ProviderEndpoint endpoint = endpoints.get(a.keyId());
    Context ctx = vertx.getOrCreateContext();
    CompletionCall call = new CompletionCall(env, ctx, endpoint, attempt, outcome -> {
      if (outcome == Outcome.DONE) {
        releasedLeases.releasedHere(a.leaseId()); // before it leaves `active`: a delivery again is never run again
      }
      Active ended = active.remove(a.leaseId());
      if (outcome == Outcome.DONE) {
        successors.ended(a.leaseId()); // the local hand-over, off the event loop
      }
      AcknowledgeType type = outcome == Outcome.DONE ? AcknowledgeType.ACCEPT : AcknowledgeType.RELEASE;
      lane.acknowledge(record, type);
      if (ended != null) {
        ended.again().forEach(d -> d.lane().acknowledge(d.record(), type));
      }
    });
    active.put(a.leaseId(), new Active(call, ctx, RecordId.of(record)));
    boolean cancelled = recentCancels.contains(a.job().jobId(), clock.millis());
    if (!cancelled && endpoint != null && waited == null) { // a successor's claim was written when it came
      publisher.event(FleetEvent.leaseStarted(a, workerId, clock.instant())); // this worker's claim, for the others
    }
    ctx.runOnContext(v -> {
      if (cancelled) {
        call.cancel();
      } else if (endpoint == null) {
        KeySettings k = config.keys().get(a.keyId());
        call.failBeforeStart(Failure.transientFailure(ErrorCodes.NO_KEY, "key " + a.keyId()
            + " has no secret on worker " + workerId + (k == null ? " (unknown key)" : " (" + k.secretSource()
            + " is not set)"), null));
      } else {
        call.start();
      }
    });
  }

  /**
   * Runs on a lane thread: an assignment delivered again whose attempt already wrote its terminal record (the worker
   * that ran it died before acknowledging). Not run again, so no second result: its lease is released (the dead
   * worker may not have said so) and it is acknowledged.
   */
  private void onAnswered(ConsumerRecord<String, byte[]> record, Lane lane, Answered answered) {
    try {
      Assignment a = Json.read(record.value(), Assignment.class);
      LOG.info("job {} lease {}: delivered again, but its attempt was answered already ({} at {}); not run again",
          a.job().jobId(), a.leaseId(), answered.outcome().wireName(), answered.where());
      publisher.event(FleetEvent.leaseReleased(a, answered.outcome()).by(workerId, clock.instant()));
    } catch (RuntimeException e) {
      LOG.warn("answered assignment at {}-{}@{}: cannot release its lease: {}", record.topic(), record.partition(),
          record.offset(), e.toString());
    }
    lane.acknowledge(record, AcknowledgeType.ACCEPT);
  }

  /**
   * Runs on the fleet events' watcher thread: releases and claims of leases, and which workers are alive. Reads each
   * event's gist from its header; only a record written without one (before it existed) is parsed whole.
   */
  private void onFleetEvent(ConsumerRecord<String, byte[]> r) {
    FleetEventGist e;
    try {
      FleetEventGist gist = FleetEventHeaders.gist(r.headers());
      e = gist != null ? gist : FleetEventGist.of(Json.read(r.value(), FleetEvent.class));
    } catch (RuntimeException ex) {
      // the dispatcher dead-letters unreadable fleet events; here it is only not one to act on
      LOG.debug("ignoring an unreadable fleet event at {}-{}@{}", r.topic(), r.partition(), r.offset());
      return;
    }
    releasedLeases.accept(e);
    claims.accept(e);
    successors.accept(e); // after releasedLeases took it: see SuccessorWaits on lost wake-ups
  }

  /** Runs on the cancel watcher's thread. */
  private void onCancel(String jobId) {
    recentCancels.add(jobId, clock.millis());
    successors.cancelled(jobId);
    for (Active a : active.values()) {
      if (jobId.equals(a.call().assignment().job().jobId())) {
        a.context().runOnContext(v -> a.call().cancel());
      }
    }
  }

  /**
   * Runs on a lane thread: the share group gave this assignment's lock away, or the lane's consumer failed; stop
   * without publishing. A waiting successor of that lane's delivery is dropped and handed back (no call to stop; the
   * failed lane waits for the acknowledgements of what it hands back). Only that lane's: the same record may wait in
   * another lane too, delivered again by a share partition's new leader, and that delivery goes on waiting (the fault
   * suite's broker failover lost three successors for three minutes when one lane's failure dropped both).
   */
  private void onLockLost(ConsumerRecord<String, byte[]> record, Lane lane) {
    RecordId id = RecordId.of(record);
    successors.lockLost(d -> d.lane() == lane && RecordId.of(d.record()).equals(id));
    for (Active a : active.values()) { // a rare path: no index by record
      if (a.record().equals(id)) {
        a.context().runOnContext(v -> a.call().handBack("its share-group lock was lost"));
      }
    }
  }

  /**
   * Stops taking work, lets streams finish within {@code grace}, hands the rest back to the share group (no
   * result is published for them), then closes the lanes. Idempotent; blocks for up to grace + ~10 s.
   */
  public void drain(Duration grace) {
    if (!drained.compareAndSet(false, true)) {
      return;
    }
    long graceEnds = System.nanoTime() + grace.toNanos();
    draining = true;
    lanes.forEach(Lane::stopPolling);
    LOG.info("worker {} draining: {} streams in flight, grace {} ms", workerId, active.size(), grace.toMillis());
    // Idle lanes leave the share group before any stream is handed back: an idle consumer keeps a fetch
    // outstanding, and a handed-back assignment it acquired would stay locked to this worker until the lane closed
    // and come to the next worker with one delivery more (towards the group's delivery limit).
    for (Lane l : lanes) {
      if (l.held() == 0) {
        l.close(Duration.ZERO);
      }
    }
    successors.drain(); // successors that came since are handed back too
    awaitNoActive(Duration.ofNanos(Math.max(0, graceEnds - System.nanoTime())));
    if (!active.isEmpty()) {
      LOG.info("worker {}: handing {} unfinished streams back to the share group", workerId, active.size());
      active.values().forEach(a -> a.context().runOnContext(v -> a.call().handBack("worker draining")));
      awaitNoActive(Duration.ofSeconds(5));
    }
    lanes.forEach(l -> l.close(Duration.ofSeconds(5)));
    cancels.close();
    events.close();
  }

  private void awaitNoActive(Duration max) {
    long until = System.nanoTime() + max.toNanos();
    while (!active.isEmpty() && System.nanoTime() < until) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  @Override
  public void close() {
    drain(options.drainGrace());
    heartbeat.shutdownNow();
    rechecks.shutdownNow();
    producerMetrics.close();
    producer.close(Duration.ofSeconds(10));
    clients.values().forEach(ProviderConnections::close);
    LOG.info("worker {} stopped", workerId);
  }
}
