package io.promptfleet.bench.dispatcher;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.FleetEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.TopicPartition;

/**
 * The {@code takeover} scenario: a standby dispatcher takes over from an active one killed with SIGKILL while
 * {@code inFlight} streams run, after a long released history.
 *
 * <p>Four keys, each with {@code max_concurrency} = its share of {@code inFlight} + 500 and
 * {@code requests_per_minute} = its share of history + inFlight + 300 (the whole run fits in a minute or two, so
 * the windows the standby must rebuild are full). The active dispatcher (child JVM {@code a}) dispatches
 * {@code history} jobs of model {@code sim}, which a stand-in for workers releases at once (usage reported), then
 * {@code inFlight} jobs of model {@code held}, never released. The standby (child JVM {@code b}) joins, stands by for
 * a few seconds (its heap measured), the active is killed with SIGKILL and 4,000 more {@code held} jobs are produced
 * at once. Measured: from the kill to the standby's first new assignment ({@code dispatched_at}), when its job
 * consumer got the partitions (the session timeout, 3 s here, and the rebalance), when its takeover was done, its own
 * account of the phases, its heap after a full GC standing by and 3 s after taking over. Checked at the end, from the
 * topics: no key holds more unreleased assignments than its {@code max_concurrency} and no key got more assignments
 * in any 60 s than its {@code requests_per_minute}.
 */
final class TakeoverScenario {
  private static final int KEYS = 4;
  private static final int POST = 4_000;
  private static final int CONCURRENCY_HEADROOM = 500;
  private static final int RATE_HEADROOM = 300;

  private TakeoverScenario() {}

  /** Returns {ms kill to first assignment, ms to assigned, ms to active, standby heap MiB, active heap MiB, over}. */
  static double[] run(String bootstrap, int history, int inFlight) throws Exception {
    int concurrency = inFlight / KEYS + CONCURRENCY_HEADROOM;
    long rpm = (long) (history + inFlight) / KEYS + RATE_HEADROOM;
    FleetConfig config = config(bootstrap, concurrency, rpm);
    AtomicBoolean stopReleaser = new AtomicBoolean();
    Thread releaser = new Thread(() -> DispatcherBench.release(config, stopReleaser, "held"), "bench-releaser");
    DispatcherBench.Child a = DispatcherBench.Child.start(config, "1g", "-Dbench.instance=a");
    DispatcherBench.Child b = null;
    AtomicBoolean stopWatch = new AtomicBoolean();
    try {
      releaser.start();
      DispatcherBench.produceBacklog(config, history, i -> DispatcherBench.job("h" + i, "sim", null));
      a.awaitCount(history, Duration.ofMinutes(10));
      DispatcherBench.produceBacklog(config, inFlight, i -> DispatcherBench.job("f" + i, "held", null));
      a.awaitCount(history + inFlight, Duration.ofMinutes(5));
      b = DispatcherBench.Child.launch(config, "1g", "-Dbench.instance=b", "-Dbench.gcAfterMs=3000",
          "-Dlog4j2.level=" + System.getProperty("bench.standbyLog", "WARN"));
      long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (b.report("GCHEAP standby") == null && System.nanoTime() < until) {
        b.check();
        Thread.sleep(50);
      }
      awaitStandby(config, until);
      // Past a state snapshot written after the last held assignment, and the standby's warm-up (after 5 s of
      // standing by): a standby of a real fleet has stood by for minutes.
      Thread.sleep(Long.getLong("standbyMs", 15_000));
      List<long[]> fresh = Collections.synchronizedList(new ArrayList<>());
      Thread watch = watchAssignments(config, stopWatch, fresh);
      long killMs = System.currentTimeMillis();
      a.kill();
      produce(config, POST);
      until = System.nanoTime() + Duration.ofSeconds(120).toNanos();
      while (firstAfter(fresh, killMs) < 0 && System.nanoTime() < until) {
        b.check();
        Thread.sleep(5);
      }
      long first = firstAfter(fresh, killMs);
      if (first < 0) {
        throw new IllegalStateException("the standby wrote no assignment within 120 s of the kill");
      }
      long stable = fresh.size();
      do { // until the standby writes nothing more for 3 s: the keys are full, the rest waits
        stable = fresh.size();
        Thread.sleep(3_000);
      } while (fresh.size() != stable);
      long assignedMs = Long.parseLong(b.report("ASSIGNED")) - killMs;
      long activeMs = Long.parseLong(b.report("ACTIVE")) - killMs;
      while (b.report("GCHEAP active") == null && System.nanoTime() < until) {
        Thread.sleep(50);
      }
      double standbyHeap = Long.parseLong(b.report("GCHEAP standby")) / 1048576.0;
      String activeReport = b.report("GCHEAP active");
      double activeHeap = activeReport == null ? Double.NaN : Long.parseLong(activeReport) / 1048576.0;
      stopWatch.set(true);
      watch.join();
      stopReleaser.set(true);
      releaser.join();
      String over = check(config, concurrency, rpm);
      long[] jit = b.last();
      System.out.printf(Locale.ROOT, "takeover run: %d released + %d in flight; kill -> first new assignment %d ms "
          + "(partitions assigned %d ms, takeover done %d ms; the standby's account: %s); %d new assignments of %d "
          + "jobs; heap after full GC standing by %.1f MiB, after taking over %.1f MiB; JIT %d ms so far; %s%n",
          history, inFlight, first - killMs, assignedMs, activeMs, b.report("TAKEOVER"), fresh.size(), POST,
          standbyHeap, activeHeap, jit[5], over.isEmpty() ? "no key over a limit" : "OVER: " + over);
      return new double[] {first - killMs, assignedMs, activeMs, standbyHeap, activeHeap, over.isEmpty() ? 0 : 1};
    } finally {
      stopWatch.set(true);
      stopReleaser.set(true);
      a.close();
      if (b != null) {
        b.close();
      }
    }
  }

  /** Waits until the dispatchers' group is stable with both members: the standby stands by. */
  private static void awaitStandby(FleetConfig config, long untilNanos) throws Exception {
    String group = config.dispatcher().groupId();
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", config.kafka().bootstrapServers()))) {
      while (System.nanoTime() < untilNanos) {
        ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
        if (d.members().size() == 2 && d.groupState() == GroupState.STABLE) {
          return;
        }
        Thread.sleep(100);
      }
    }
    throw new IllegalStateException("the standby did not join group " + group);
  }

  private static FleetConfig config(String bootstrap, int concurrency, long rpm) throws Exception {
    String prefix = DispatcherBench.prefix();
    StringBuilder keys = new StringBuilder();
    for (int i = 1; i <= KEYS; i++) {
      keys.append("  k").append(i).append(": {provider: sim, secret_env: BENCH_KEY, max_concurrency: ")
          .append(concurrency).append(", requests_per_minute: ").append(rpm)
          .append(", tokens_per_minute: 1000000000000}\n");
    }
    String models = "  sim:\n    routes:\n      - {provider: sim, model: sim, max_tokens_cap: 4096}\n"
        + "  held:\n    routes:\n      - {provider: sim, model: held, max_tokens_cap: 4096}\n";
    return DispatcherBench.register(DispatcherBench.fleetYaml(bootstrap, prefix, keys, models,
        "max_buffered_jobs: 20000, session_timeout_ms: 3000"));
  }

  private static void produce(FleetConfig config, int n) {
    try (KafkaProducer<String, byte[]> p = DispatcherBench.producer(config.kafka().bootstrapServers(), 5)) {
      for (int i = 0; i < n; i++) {
        p.send(new ProducerRecord<>(config.topics().jobsNormal(), "n" + i, DispatcherBench.job("n" + i, "held", null)));
      }
      p.flush();
    }
  }

  /** Collects {dispatched_at, read at} of every assignment written from now on. */
  private static Thread watchAssignments(FleetConfig config, AtomicBoolean stop, List<long[]> out)
      throws InterruptedException {
    AtomicLong ready = new AtomicLong();
    Thread t = new Thread(() -> {
      try (KafkaConsumer<String, byte[]> c = DispatcherBench.consumer(config.kafka().bootstrapServers())) {
        List<TopicPartition> parts = DispatcherBench.partitions(c, config.topics().assignments());
        c.assign(parts);
        c.seekToEnd(parts);
        parts.forEach(c::position);
        ready.set(1);
        while (!stop.get()) {
          for (var r : c.poll(Duration.ofMillis(20))) {
            Assignment a = Json.read(r.value(), Assignment.class);
            out.add(new long[] {a.dispatchedAt().toEpochMilli(), System.currentTimeMillis()});
          }
        }
      }
    }, "bench-takeover-watch");
    t.start();
    while (ready.get() == 0) {
      Thread.sleep(5);
    }
    return t;
  }

  private static long firstAfter(List<long[]> fresh, long killMs) {
    synchronized (fresh) {
      long first = -1;
      for (long[] x : fresh) {
        if (x[0] >= killMs && (first < 0 || x[0] < first)) {
          first = x[0];
        }
      }
      return first;
    }
  }

  /**
   * Reads every assignment and release back: a key holding more unreleased assignments than its max_concurrency,
   * or with more assignments in some 60 s than its requests_per_minute, is named (empty: none).
   */
  private static String check(FleetConfig config, int concurrency, long rpm) {
    Map<String, List<Long>> times = new TreeMap<>();
    Map<String, String> keyOfLease = new HashMap<>();
    Set<String> released = new HashSet<>();
    String bootstrap = config.kafka().bootstrapServers();
    try (KafkaConsumer<String, byte[]> c = DispatcherBench.consumer(bootstrap)) {
      readAll(c, config.topics().assignments(), v -> {
        Assignment a = Json.read(v, Assignment.class);
        times.computeIfAbsent(a.keyId(), k -> new ArrayList<>()).add(a.dispatchedAt().toEpochMilli());
        keyOfLease.put(a.leaseId(), a.keyId());
      });
    }
    try (KafkaConsumer<String, byte[]> c = DispatcherBench.consumer(bootstrap)) {
      readAll(c, config.topics().fleetEvents(), v -> {
        try {
          FleetEvent e = Json.read(v, FleetEvent.class);
          if (e.leaseId() != null) {
            released.add(e.leaseId());
          }
        } catch (RuntimeException ignored) {
          // a dispatcher's spend snapshot: not a fleet event
        }
      });
    }
    Map<String, Integer> open = new TreeMap<>();
    keyOfLease.forEach((lease, key) -> {
      if (!released.contains(lease)) {
        open.merge(key, 1, Integer::sum);
      }
    });
    StringBuilder over = new StringBuilder();
    open.forEach((key, n) -> {
      if (n > concurrency) {
        over.append(key).append(" holds ").append(n).append(" > max_concurrency ").append(concurrency).append("; ");
      }
    });
    times.forEach((key, ts) -> {
      Collections.sort(ts);
      int peak = 0;
      for (int i = 0, j = 0; i < ts.size(); i++) {
        while (ts.get(i) - ts.get(j) >= 60_000) {
          j++;
        }
        peak = Math.max(peak, i - j + 1);
      }
      if (peak > rpm) {
        over.append(key).append(" took ").append(peak).append(" requests in 60 s > ").append(rpm).append("; ");
      }
    });
    System.out.printf(Locale.ROOT, "  checked %d assignments: unreleased per key %s (max_concurrency %d)%n",
        keyOfLease.size(), open, concurrency);
    return over.toString();
  }

  private static void readAll(KafkaConsumer<String, byte[]> c, String topic,
      java.util.function.Consumer<byte[]> each) {
    List<TopicPartition> parts = DispatcherBench.partitions(c, topic);
    c.assign(parts);
    c.seekToBeginning(parts);
    Map<TopicPartition, Long> end = c.endOffsets(parts);
    while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
      for (var r : c.poll(Duration.ofMillis(200))) {
        each.accept(r.value());
      }
    }
  }
}
