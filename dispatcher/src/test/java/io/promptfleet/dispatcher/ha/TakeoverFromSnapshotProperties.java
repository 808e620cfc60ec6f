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
import io.promptfleet.common.job.Route;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.Lease;
import io.promptfleet.dispatcher.capacity.TokenEstimator;
import io.promptfleet.dispatcher.feedback.KeyFeedback;
import io.promptfleet.dispatcher.intake.CancelledJobs;
import io.promptfleet.dispatcher.intake.Inbound;
import io.promptfleet.dispatcher.intake.JobIdWindow;
import io.promptfleet.dispatcher.intake.Outbox;
import io.promptfleet.dispatcher.lease.LeaseLedger;
import io.promptfleet.dispatcher.route.RouteBreakers;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.status.StatusBoard;
import io.promptfleet.dispatcher.testing.Fixtures;
import io.promptfleet.dispatcher.testing.ManualClock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * A successor that starts from the newest state snapshot and reads only the records after it ends with the same
 * lease table, rate windows and job-id window as one that reads the whole history: the active dispatcher's history
 * (dispatches, releases with their usage, job ids admitted) is random, so is the moment of the snapshot and of the
 * active's death.
 */
class TakeoverFromSnapshotProperties {
  private static final FleetConfig CONFIG = Fixtures.config("""
      keys:
        k1: {provider: p, secret_env: PF_TEST_K1, max_concurrency: 100000, requests_per_minute: 100000000,
             tokens_per_minute: 100000000000}
        k2: {provider: p, secret_env: PF_TEST_K2, max_concurrency: 100000, requests_per_minute: 100000000,
             tokens_per_minute: 100000000000}
        k3: {provider: p, secret_env: PF_TEST_K3, max_concurrency: 100000, requests_per_minute: 100000000,
             tokens_per_minute: 100000000000}
      models:
        m:
          routes:
            - {provider: p, model: first, default_max_tokens: 100}
      dispatcher: {lease_grace_ms: 1000, rebuild_lookback_ms: 3600000, dedupe_window_ms: 3600000,
                   state_snapshot_ms: 5000}
      """);
  private static final TopicSettings T = CONFIG.topics();
  private static final List<String> KEYS = List.of("k1", "k2", "k3");
  private static final Route ROUTE = CONFIG.models().get("m").routes().get(0).toRoute("m");

  /** One dispatcher's state, wired as {@code DispatcherCore} wires it (no budgets). */
  private static final class Node {
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final DispatcherMetrics metrics = new DispatcherMetrics(registry);
    final KeyPool keys = new KeyPool(CONFIG.keys(), CONFIG.dispatcher().rateWindowMs());
    final LeaseLedger ledger = new LeaseLedger(CONFIG, keys,
        new RouteBreakers(CONFIG.dispatcher().breaker(), registry, new ManualClock()), new StatusBoard(CONFIG),
        metrics, "d");
    final JobIdWindow ids = new JobIdWindow(CONFIG.dispatcher().dedupeWindowMs());
    final StateWriter writer = new StateWriter(CONFIG, ledger, keys, null, ids);
    final Takeover takeover = new Takeover(CONFIG, "d", ledger, new KeyFeedback(CONFIG, keys, () -> 0, metrics),
        new CancelledJobs(100), new Outbox(), new TokenEstimator(), metrics, null, ids);
  }

  /** The active dispatcher's history as the topics hold it, and the newest snapshot with its job-id journal. */
  private static final class History {
    final List<Inbound> assignments = new ArrayList<>();
    final List<Inbound> events = new ArrayList<>();
    final List<Inbound> journal = new ArrayList<>();
    StateSnapshot snapshot;
  }

  @Property(tries = 300)
  void shouldRebuildFromTheSnapshotAndItsTailWhatTheWholeHistoryRebuilds(@ForAll long seed,
      @ForAll @IntRange(min = 0, max = 400) int steps, @ForAll @IntRange(min = 0, max = 400) int snapshotAt,
      @ForAll @IntRange(min = 0, max = 120_000) int deadFor) {
    Random rnd = new Random(seed);
    History h = new History();
    long end = run(rnd, steps, Math.min(snapshotAt, steps), h);
    long now = end + deadFor;

    Node full = new Node();
    full.takeover.activate("b-", h.assignments, h.events, now);
    Node fromSnapshot = new Node();
    rebuildFromSnapshot(fromSnapshot, h, now);

    assertThat(table(fromSnapshot)).as("the lease table (seed %d)", seed).isEqualTo(table(full));
    for (long t = now; t <= now + 60_000; t += 7_000) {
      for (String k : KEYS) {
        assertThat(fromSnapshot.keys.requestsInWindow(k, t)).as("requests of %s at now+%d (seed %d)", k, t - now,
            seed).isEqualTo(full.keys.requestsInWindow(k, t));
        assertThat(fromSnapshot.keys.tokensInWindow(k, t)).as("tokens of %s at now+%d (seed %d)", k, t - now, seed)
            .isEqualTo(full.keys.tokensInWindow(k, t));
      }
    }
    assertThat(idKeys(fromSnapshot.ids)).as("the job ids remembered (seed %d)", seed).isEqualTo(idKeys(full.ids));
  }

  @Example
  void shouldReadOnlyTheTailAfterTheSnapshot() {
    History h = new History();
    long end = run(new Random(7), 300, 290, h);
    Node n = new Node();
    int tail = rebuildFromSnapshot(n, h, end + 1_000);
    assertThat(h.assignments.size()).isGreaterThan(100);
    assertThat(tail).as("assignments handed over after the snapshot").isLessThan(30);
  }

  @Example
  void shouldGiveUpASnapshotWhenAnotherTermDispatchedAfterIt() {
    History h = new History();
    long end = run(new Random(3), 50, 40, h);
    Job job = Json.read(Fixtures.job("late", "m", ""), Job.class).withReplyTo("llm.replies");
    Assignment byOlderVersion = new Assignment("zz-0", job, 1, Priority.NORMAL, ROUTE, "k1",
        Instant.ofEpochMilli(end + 10_000), Instant.ofEpochMilli(end + 10_000), Instant.ofEpochMilli(end + 99_000),
        "llm.replies");
    h.assignments.add(Fixtures.record(T.assignments(), h.assignments.size(), end + 10_000, "late",
        Json.bytes(byOlderVersion)));
    Node n = new Node();
    n.takeover.begin("b-", h.snapshot, end + 20_000);
    h.assignments.forEach(n.takeover::assignment);
    assertThat(n.takeover.snapshotStale()).as("a term that wrote no snapshot dispatched after it").isTrue();

    Node fine = new Node();
    rebuildFromSnapshot(fine, historyWithout(h, "late"), end + 20_000);
    assertThat(fine.takeover.snapshotStale()).isFalse();
  }

  private static History historyWithout(History h, String key) {
    History out = new History();
    h.assignments.stream().filter(r -> !key.equals(r.key())).forEach(out.assignments::add);
    out.events.addAll(h.events);
    out.journal.addAll(h.journal);
    out.snapshot = h.snapshot;
    return out;
  }

  /**
   * The active dispatcher (term {@code a-}) dispatches and releases at random for {@code steps} steps of up to two
   * seconds, taking its snapshot (and writing the journal) after step {@code snapshotAt}. Returns its last clock.
   */
  private static long run(Random rnd, int steps, int snapshotAt, History h) {
    Node active = new Node();
    active.ledger.startTerm("a-");
    long now = T0;
    List<Lease> held = new ArrayList<>();
    for (int i = 0; i < steps; i++) {
      now += rnd.nextInt(2_000);
      if (held.isEmpty() || rnd.nextInt(3) > 0) {
        String key = KEYS.get(rnd.nextInt(KEYS.size()));
        String jobId = "job-" + i;
        long position = JobIdWindow.position(T.jobsNormal(), 0, i);
        active.ids.offer(null, jobId, position, now);
        long reserve = 10 + rnd.nextInt(500);
        Instant deadline = Instant.ofEpochMilli(now + 3_000_000);
        Lease l = active.ledger.acquire(key, jobId, ROUTE.name(), deadline, reserve, now);
        held.add(l);
        Job job = Json.read(Fixtures.job(jobId, "m", ""), Job.class).withReplyTo("llm.replies");
        Assignment a = new Assignment(l.leaseId(), job, 1, Priority.NORMAL, ROUTE, key, Instant.ofEpochMilli(now),
            Instant.ofEpochMilli(now), deadline, "llm.replies", null, reserve);
        h.assignments.add(Fixtures.record(T.assignments(), h.assignments.size(), now, jobId, Json.bytes(a)));
      } else {
        Lease l = held.remove(rnd.nextInt(held.size()));
        Long used = rnd.nextInt(4) == 0 ? null : (long) rnd.nextInt(800);
        FleetEvent e = Fixtures.released(l.leaseId(), l.keyId(), ROUTE.name(), "succeeded", null, 200, used);
        Inbound r = Fixtures.event(T.fleetEvents(), h.events.size(), e, now);
        h.events.add(r);
        active.ledger.released(e, now, now);
      }
      if (i + 1 == snapshotAt) {
        snapshot(active, h, now);
      }
    }
    if (snapshotAt == 0) {
      snapshot(active, h, T0);
    }
    return now;
  }

  /** The snapshot as it goes through Kafka: written in parts, read back; the journal too. */
  private static void snapshot(Node active, History h, long now) {
    StateSnapshot s = active.writer.snapshot(now,
        Map.of(StateSnapshot.position(T.fleetEvents(), 0), (long) h.events.size()));
    StateSnapshot.Reader reader = new StateSnapshot.Reader();
    long offset = 0;
    for (byte[] part : s.parts()) {
      reader.accept(Fixtures.record(T.dispatcherState(), offset++, now, "state", part));
    }
    h.snapshot = reader.newest();
    for (byte[] r : active.ids.journal(50)) {
      h.journal.add(Fixtures.record(T.dispatcherState(), h.journal.size(), now, "ids", r));
    }
    active.ids.journalCommitted();
  }

  /** As the loop owner streams it: snapshot, journal, assignments since the tail's start, feedback since its positions. */
  private static int rebuildFromSnapshot(Node n, History h, long now) {
    n.takeover.begin("b-", h.snapshot, now);
    h.journal.forEach(n.takeover::ids);
    long from = n.takeover.assignmentsFromMs(h.snapshot, now);
    int tail = 0;
    for (Inbound r : h.assignments) {
      if (r.timestamp() >= from) {
        n.takeover.assignment(r);
        tail++;
      }
    }
    long position = h.snapshot.head().feedback().get(StateSnapshot.position(T.fleetEvents(), 0));
    h.events.stream().filter(r -> r.offset() >= position).forEach(n.takeover::feedback);
    n.takeover.finish();
    return tail;
  }

  private static Map<String, Lease> table(Node n) {
    return new TreeMap<>(n.ledger.held());
  }

  private static Map<Long, Long> idKeys(JobIdWindow ids) {
    Map<Long, Long> out = new HashMap<>();
    long[] c = ids.contents();
    for (int i = 0; i < c.length; i += 3) {
      out.put(c[i + 1], c[i]); // key -> bucket
    }
    return out;
  }
}
