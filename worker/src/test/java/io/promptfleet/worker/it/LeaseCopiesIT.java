package io.promptfleet.worker.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.FleetEventGist;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.kafka.FleetEventHeaders;
import io.promptfleet.simulator.SimulatorOptions;
import io.promptfleet.worker.WorkerOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Copies of a lease another worker ran or runs, on a real worker and the shared broker.
 *
 * <p><b>Late copies:</b> an ordinary assignment whose first delivery comes seconds after
 * its dispatch may be a share partition's new leader's copy of one another worker ran or runs, while this worker's
 * fleet-event watcher is behind that run's claim and release (after a broker failover the events partition's leader
 * may have moved too: {@code dispatcher.it.BrokerFailoverIT} saw jobs answered twice so). The worker claims such a
 * copy and runs it only once its claim was read back, when it has read every earlier event of the key's partition.
 *
 * <p>The watcher is held behind on purpose: it reads {@code read_committed}, so a transaction left open on the key's
 * events partition stops it before the other run's events until the test aborts the transaction.
 *
 * <p><b>Redeliveries while the previous holder runs:</b> a delivery that counts more than one comes after its previous
 * holder's lock ended; that holder's claim still holds it while the holder is heard from (it may still be streaming:
 * a stall past its lock, or a new leader's copy of a redelivered record).
 */
class LeaseCopiesIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  /** Long enough to see that a held copy does not start. */
  private static final long QUIET_MS = 1_500;
  /** The key of the harness's assignments: fleet events of a lease are keyed by its key (one partition). */
  private static final String KEY = "k1";
  private WorkerHarness h;
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private KafkaProducer<String, byte[]> open;
  private final ScheduledExecutorService beats = Executors.newSingleThreadScheduledExecutor();

  @BeforeEach
  void start() throws Exception {
    h = WorkerHarness.start(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0), "",
        "slots: 4, lanes: 1", Map.of());
    h.addWorker(WorkerOptions.defaults(), registry);
  }

  @AfterEach
  void stop() throws Exception {
    beats.shutdownNow();
    if (open != null) {
      open.close(Duration.ofSeconds(5));
    }
    if (h != null) {
      h.close();
    }
  }

  /**
   * Another worker ran the lease and released it; the copy comes while this worker's watcher has read neither
   * event: it is claimed and waits, and once the watcher reads on it is acknowledged without a run (without the
   * claim it ran at once: a second request and a second result).
   */
  @Test
  void shouldNotRunALateCopyOfALeaseReleasedBeforeItsWatcherReadTheRelease() throws Exception {
    Assignment a = late(h.assignment(h.jobId(), "a copy of a lease that ran elsewhere", 1));
    holdTheWatcher();
    event(FleetEvent.heartbeat(Instant.now(), "first-worker", 8, 7));
    event(FleetEvent.leaseStarted(a, "first-worker", Instant.now()));
    event(FleetEvent.leaseReleased(a, LeaseOutcome.SUCCEEDED).by("first-worker", Instant.now()));

    sendHeldForItsClaimThenReleaseTheWatcher(a);
    assertThat(requests(a)).as("not run: its release was read before its claim").isZero();
    assertThat(h.results(a.job().jobId())).isEmpty();
  }

  /**
   * Another live worker still runs the lease; the copy comes while this worker's watcher is behind that run's claim:
   * once the claims are read, the other worker's comes first and the copy is held until that run's release, then
   * acknowledged without a run.
   */
  @Test
  void shouldHoldALateCopyOfALeaseALiveWorkerRunsWhoseClaimItsWatcherHadNotRead() throws Exception {
    Assignment a = late(h.assignment(h.jobId(), "a copy of a lease that runs elsewhere", 1));
    holdTheWatcher();
    event(FleetEvent.heartbeat(Instant.now(), "first-worker", 8, 7));
    event(FleetEvent.leaseStarted(a, "first-worker", Instant.now()));

    sendHeldForItsClaimThenReleaseTheWatcher(a);
    assertThat(requests(a)).as("held for the first live claim").isZero();

    event(FleetEvent.leaseReleased(a, LeaseOutcome.SUCCEEDED).by("first-worker", Instant.now()));
    Thread.sleep(QUIET_MS);
    assertThat(requests(a)).as("not run after that run's release").isZero();
    assertThat(h.results(a.job().jobId())).isEmpty();
  }

  /**
   * The lease's previous holder is alive and still claims it (its heartbeats go on): the second delivery is held,
   * not run beside it, and acknowledged after that run's release (counting only claims written since a redelivery
   * came, it ran at once: a second request).
   */
  @Test
  void shouldHoldARedeliveryWhosePreviousHolderIsStillHeardFrom() throws Exception {
    beats.scheduleAtFixedRate(() -> event(FleetEvent.heartbeat(Instant.now(), "live-holder", 8, 7)), 0, 1,
        TimeUnit.SECONDS);
    Assignment a = h.assignment(h.jobId(), "redelivered while its holder runs it", 1);
    event(FleetEvent.leaseStarted(a, "live-holder", Instant.now()));
    h.send(a);
    awaitAcquired(registry);
    Thread.sleep(QUIET_MS);
    assertThat(requests(a)).as("its first delivery is held for the live claim").isZero();

    h.workers.get(0).drain(Duration.ofSeconds(5)); // handed back: its next delivery is its second
    SimpleMeterRegistry second = new SimpleMeterRegistry();
    h.addWorker(WorkerOptions.defaults(), second);
    awaitAcquired(second);
    Thread.sleep(QUIET_MS);
    assertThat(requests(a)).as("its second delivery is held while its previous holder beats").isZero();

    event(FleetEvent.leaseReleased(a, LeaseOutcome.SUCCEEDED).by("live-holder", Instant.now()));
    Thread.sleep(QUIET_MS);
    assertThat(requests(a)).as("not run after that run's release").isZero();
    assertThat(h.results(a.job().jobId())).isEmpty();
  }

  /**
   * {@code worker.heartbeat_ms: 500}: a redelivery whose previous holder beats (every 500 ms) is held for as long as
   * it beats; once the holder falls silent (killed) it runs two intervals and a second later, ~2 s, not the 11 s of
   * the default 5-s heartbeat (with the interval not taken from the configuration it ran 11 s after).
   */
  @Test
  void shouldRunARedeliveryOfASilentHolderTwoOfTheConfiguredHeartbeatsAndASecondAfterItsLastEvent() throws Exception {
    h.close();
    h = WorkerHarness.start(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0), "",
        "slots: 4, lanes: 1, heartbeat_ms: 500", Map.of());
    long heardWithin = h.config.worker().heardWithinMs();
    assertThat(heardWithin).isEqualTo(2_000);
    AtomicLong lastBeat = new AtomicLong();
    ScheduledFuture<?> holder = beats.scheduleAtFixedRate(() -> {
      Instant at = Instant.now();
      event(FleetEvent.heartbeat(at, "holder", 8, 7));
      lastBeat.set(at.toEpochMilli());
    }, 0, 500, TimeUnit.MILLISECONDS);
    Assignment a = h.assignment(h.jobId(), "redelivered after its holder was killed", 1);
    // The holder's claim as it would be: written when it started, well before the redelivery (at least half a lock).
    // Written now, a quick drain and a second delivery within the claims' clock margin (1 s) made it count as a claim
    // written since the redelivery, held until the holder was silent for the liveness threshold (the 30-s lock): a
    // quiet box's CI run saw 30,026 ms.
    event(FleetEvent.leaseStarted(a, "holder", Instant.now().minusSeconds(5)));
    SimpleMeterRegistry first = new SimpleMeterRegistry();
    h.addWorker(WorkerOptions.from(h.config.worker()), first);
    h.send(a);
    awaitAcquired(first);
    h.workers.get(0).drain(Duration.ofSeconds(5)); // handed back unrun: its next delivery is its second
    SimpleMeterRegistry second = new SimpleMeterRegistry();
    h.addWorker(WorkerOptions.from(h.config.worker()), second);
    awaitAcquired(second);
    Thread.sleep(2 * heardWithin);
    assertThat(requests(a)).as("held while its previous holder beats, for longer than it may be silent").isZero();

    holder.cancel(false); // killed
    Thread.sleep(600);
    long silentSince = lastBeat.get();
    long until = System.nanoTime() + WAIT.toNanos();
    while (requests(a) == 0 && System.nanoTime() < until) {
      Thread.sleep(20);
    }
    long after = System.currentTimeMillis() - silentSince;
    assertThat(requests(a)).as("run once its holder was silent").isEqualTo(1);
    assertThat(after).as("ms from the holder's last heartbeat to the run")
        .isBetween(heardWithin - 200, heardWithin + 2_500);
  }

  /** A late copy nobody else claims runs once its claim is back, as attempt 1, and is claimed once. */
  @Test
  void shouldRunALateCopyNobodyElseClaimsOnceItsClaimIsBack() throws Exception {
    Assignment a = late(h.assignment(h.jobId(), "an assignment that waited for a slot", 1));

    h.send(a);
    Result result = h.awaitResult(a.job().jobId(), WAIT);

    assertThat(result.status()).isEqualTo(JobStatus.SUCCEEDED);
    assertThat(result.attempt()).isEqualTo(1);
    h.assertStreamedAnswer(a.job().jobId(), 1, result);
    assertThat(lateCopies()).isEqualTo(1.0);
    // its release comes after its claims (one producer, the key's partition): once it is read, every claim is
    h.awaitReleased(a.job().jobId(), 1, WAIT);
    Thread.sleep(300);
    assertThat(requests(a)).isEqualTo(1);
    assertThat(h.results(a.job().jobId())).hasSize(1);
    long claims = h.events.snapshot().stream().map(r -> FleetEventHeaders.gist(r.headers()))
        .filter(g -> g != null && g.type() == FleetEvent.Type.LEASE_STARTED && a.leaseId().equals(g.leaseId()))
        .map(FleetEventGist::workerId).count();
    assertThat(claims).as("claimed once, when it came (not again when it started)").isEqualTo(1);
  }

  /**
   * Another worker answered the lease and died before writing its release (a failover that moved the share
   * partition's leader too): its late copy is looked up before it runs (its record's CreateTime is its dispatch), the
   * earlier result is found, and it is not run: its lease is released with that result's outcome and the copy
   * acknowledged. (Checking only deliveries counted more than once, the lane handed it out: claimed, read back and
   * run, a second request and a second result.)
   */
  @Test
  void shouldNotRunALateCopyWhoseJobWasAnsweredAlready() throws Exception {
    Assignment a = late(h.assignment(h.jobId(), "answered by a worker that died before its release", 1));
    Result first = new Result(a.job().jobId(), 1, JobStatus.SUCCEEDED, "the first answer", "stop", null, null, null,
        1, null, null, null, null);
    h.produce(new ProducerRecord<>(a.replyTo(), a.job().jobId(), Json.bytes((Reply) first)));

    h.produce(new ProducerRecord<>(h.config.topics().assignments(), null, a.dispatchedAt().toEpochMilli(),
        a.job().jobId(), Json.bytes(a)));
    List<FleetEvent> released = h.awaitReleased(a.job().jobId(), 1, WAIT);

    assertThat(released).singleElement().satisfies(e -> {
      assertThat(e.outcome()).isEqualTo(LeaseOutcome.SUCCEEDED);
      assertThat(e.workerId()).isEqualTo(h.workers.get(0).id());
    });
    Thread.sleep(QUIET_MS);
    assertThat(requests(a)).as("not run again").isZero();
    assertThat(h.results(a.job().jobId())).as("only the first answer").hasSize(1);
    assertThat(lateCopies()).as("never claimed as a late copy").isZero();
  }

  /**
   * Sends the late copy {@code a} while the watcher is held: it is claimed and held, no request; then lets the
   * watcher read on until the claim is back (and a moment more).
   */
  private void sendHeldForItsClaimThenReleaseTheWatcher(Assignment a) throws InterruptedException {
    h.send(a);
    awaitLateCopies(1);
    Thread.sleep(QUIET_MS);
    assertThat(requests(a)).as("not run while its claim is not back").isZero();
    assertThat(waiting()).as("held for its claim").isEqualTo(1.0);

    open.abortTransaction();
    awaitNotWaiting();
    Thread.sleep(QUIET_MS);
  }

  /** {@code a} as dispatched 10 s ago: its first delivery now is a late copy. */
  private static Assignment late(Assignment a) {
    return new Assignment(a.leaseId(), a.job(), a.attempt(), a.priority(), a.route(), a.keyId(), a.enqueuedAt(),
        Instant.now().minusSeconds(10), a.deadline(), a.replyTo());
  }

  /** Opens a transaction on the key's events partition: read_committed readers stop before what follows it. */
  private void holdTheWatcher() {
    open = new KafkaProducer<>(Map.of("bootstrap.servers", h.config.kafka().bootstrapServers(),
        "transactional.id", "late-copies-" + UUID.randomUUID(), "key.serializer", StringSerializer.class,
        "value.serializer", ByteArraySerializer.class));
    open.initTransactions();
    open.beginTransaction();
    open.send(new ProducerRecord<>(h.config.topics().fleetEvents(), KEY,
        "an open transaction".getBytes(StandardCharsets.UTF_8)));
    open.flush();
  }

  /** An event as another worker writes it: keyed by its key, the JSON and its gist header. */
  private void event(FleetEvent e) {
    h.produce(new ProducerRecord<>(h.config.topics().fleetEvents(), null, e.keyId() != null ? e.keyId() : KEY,
        Json.bytes(e), FleetEventHeaders.of(e)));
  }

  private long requests(Assignment a) {
    String prompt = a.job().messages().get(0).content().asText();
    return h.sim.stats().recentRequests().stream().filter(r -> r.body().contains(prompt)).count();
  }

  private double lateCopies() {
    return registry.get("promptfleet.worker.late.copies").counter().count();
  }

  private double waiting() {
    return registry.get("promptfleet.worker.successors.waiting").gauge().value();
  }

  private void awaitLateCopies(double n) throws InterruptedException {
    long until = System.nanoTime() + WAIT.toNanos();
    while (lateCopies() < n && System.nanoTime() < until) {
      Thread.sleep(20);
    }
    assertThat(lateCopies()).as("late copies").isEqualTo(n);
  }

  private static void awaitAcquired(SimpleMeterRegistry r) throws InterruptedException {
    long until = System.nanoTime() + WAIT.toNanos();
    while (r.get("promptfleet.worker.lane.acquired").summary().count() < 1 && System.nanoTime() < until) {
      Thread.sleep(20);
    }
    assertThat(r.get("promptfleet.worker.lane.acquired").summary().count()).as("acquired").isGreaterThanOrEqualTo(1);
  }

  private void awaitNotWaiting() throws InterruptedException {
    long until = System.nanoTime() + WAIT.toNanos();
    while (waiting() > 0 && System.nanoTime() < until) {
      Thread.sleep(20);
    }
    assertThat(waiting()).as("its claim read back").isZero();
  }
}
