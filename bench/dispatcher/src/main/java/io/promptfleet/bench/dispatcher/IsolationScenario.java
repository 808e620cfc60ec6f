package io.promptfleet.bench.dispatcher;

import static io.promptfleet.bench.dispatcher.DispatcherBench.BLOCKED;
import static io.promptfleet.bench.dispatcher.DispatcherBench.config;
import static io.promptfleet.bench.dispatcher.DispatcherBench.consumer;
import static io.promptfleet.bench.dispatcher.DispatcherBench.job;
import static io.promptfleet.bench.dispatcher.DispatcherBench.partitions;
import static io.promptfleet.bench.dispatcher.DispatcherBench.produceBacklog;
import static io.promptfleet.bench.dispatcher.DispatcherBench.producer;
import static io.promptfleet.bench.dispatcher.DispatcherBench.release;

import io.promptfleet.bench.dispatcher.DispatcherBench.Child;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.Assignment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * The {@code isolation} scenario of {@link DispatcherBench}: one blocked model's backlog spilled while nine other
 * models flow; reports per quarter of the run and reads the blocked model's spill topic back.
 */
final class IsolationScenario {
  private IsolationScenario() {}

  /**
   * One blocked model's backlog parked while 9 other models flow. The backlog is queued first on the normal topic,
   * then the dispatcher starts and first has to read past it, copying it to the blocked model's spill topic: the
   * catch-up. The flowing models' jobs are produced at {@code rate}/s over 100 tenants for {@code seconds}, from when
   * the backlog is parked ({@code -DflowFrom=parked}, the default: steady state with the backlog parked), or from
   * when the dispatcher starts ({@code -DflowFrom=start}: the flowing jobs queue behind the backlog in the same
   * partitions, and the run shows how long they wait and how the dispatcher recovers). Returns {flowing
   * assignments/s in the measured window, p50 ms, p99 ms, catch-up s, heap after GC peak MiB}.
   */
  static double[] run(String bootstrap, int backlog, int rate, int seconds) throws Exception {
    List<String> flowing = new ArrayList<>();
    for (int m = 0; m < 9; m++) {
      flowing.add("m" + m);
    }
    int maxBuffered = 2_000;
    int slotCap = maxBuffered / 4; // what Spill keeps in memory per (model, lane)
    FleetConfig config = config(bootstrap, maxBuffered, flowing, BLOCKED);
    String topic = config.topics().jobsNormal();
    String blockedSpill = config.topics().prefix() + ".jobs.spill." + BLOCKED;
    produceBacklog(config, backlog, i -> job("b" + i, BLOCKED, null));

    AtomicBoolean stop = new AtomicBoolean();
    AtomicBoolean stopFlow = new AtomicBoolean();
    AtomicLong produced = new AtomicLong();
    AtomicLong blockedAssigned = new AtomicLong();
    List<long[]> seen = Collections.synchronizedList(new ArrayList<>()); // flowing: {readable ms, record ms}
    Thread releaser = new Thread(() -> release(config, stop, BLOCKED), "bench-releaser");
    Thread reader = new Thread(() -> {
      try (KafkaConsumer<String, byte[]> c = consumer(bootstrap)) {
        List<TopicPartition> parts = partitions(c, config.topics().assignments());
        c.assign(parts);
        c.seekToBeginning(parts);
        while (!stop.get()) {
          for (var r : c.poll(Duration.ofMillis(50))) {
            long now = System.currentTimeMillis();
            Assignment a = Json.read(r.value(), Assignment.class);
            if (BLOCKED.equals(a.job().model())) {
              blockedAssigned.incrementAndGet();
            } else {
              seen.add(new long[] {now, a.enqueuedAt().toEpochMilli()});
            }
          }
        }
      }
    }, "bench-isolation-reader");
    boolean flowFromStart = "start".equals(System.getProperty("flowFrom", "parked"));
    Thread flow = new Thread(() -> {
      try (KafkaProducer<String, byte[]> p = producer(bootstrap, 0)) {
        long start = System.nanoTime();
        for (long i = 0; !stopFlow.get(); i++) {
          long wait = start + i * 1_000_000_000L / rate - System.nanoTime();
          if (wait > 0) {
            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
          }
          String id = "f" + i;
          p.send(new ProducerRecord<>(topic, id, job(id, "m" + (i % 9), "t" + (i / 9 % 100))));
          produced.incrementAndGet();
        }
        p.flush();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "bench-isolation-flow");

    long active;
    long caughtUp;
    long flowStart;
    long parkedSpilled;
    long end;
    boolean complete;
    List<long[]> stats;
    Map<String, Long> spillEnds = new LinkedHashMap<>();
    long[] count;
    try (Child child = Child.start(config, "256m")) {
      active = System.currentTimeMillis();
      releaser.start();
      reader.start();
      if (flowFromStart) {
        flow.start();
      }
      // Catch-up: the backlog is parked once all of it but the running job and the model's in-memory share
      // (slotCap) has been copied to the spill topic.
      long expected = backlog - 1L - slotCap;
      long limit = active + Long.getLong("catchupSeconds", 600) * 1000;
      long lastSpilled = -1;
      long lastChange = active;
      while (true) {
        child.check();
        long now = System.currentTimeMillis();
        long ov = child.last()[4];
        if (ov >= expected) {
          complete = true;
          break;
        }
        if (ov != lastSpilled) {
          lastSpilled = ov;
          lastChange = now;
        }
        if (now - lastChange > 20_000 || now > limit) {
          complete = false;
          System.out.printf(Locale.ROOT, "  catch-up incomplete after %.1f s: spilled %d, expected >= %d%n",
              (now - active) / 1000.0, ov, expected);
          break;
        }
        Thread.sleep(100);
      }
      caughtUp = System.currentTimeMillis();
      parkedSpilled = child.last()[4];
      System.out.printf(Locale.ROOT, "  backlog parked %.1f s after the dispatcher became active (spilled %d); "
          + "measuring %d s %s%n", (caughtUp - active) / 1000.0, child.last()[4], seconds,
          flowFromStart ? "more" : "of flow from now");
      flowStart = flowFromStart ? caughtUp : System.currentTimeMillis();
      if (!flowFromStart) {
        flow.start();
      }
      Thread.sleep(seconds * 1000L);
      stopFlow.set(true);
      flow.join();
      end = System.currentTimeMillis();
      long until = end + 10_000;
      while (seen.size() < produced.get() && System.currentTimeMillis() < until) {
        Thread.sleep(50);
      }
      child.check();
      stats = child.snapshot();
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
        List<String> spillTopics = new ArrayList<>();
        for (String m : flowing) {
          spillTopics.add(config.topics().prefix() + ".jobs.spill." + m);
        }
        spillTopics.add(blockedSpill);
        Map<TopicPartition, OffsetSpec> specs = new HashMap<>();
        for (var d : admin.describeTopics(spillTopics).allTopicNames().get().values()) {
          d.partitions().forEach(pi -> specs.put(new TopicPartition(d.name(), pi.partition()), OffsetSpec.latest()));
        }
        for (var e : admin.listOffsets(specs).all().get().entrySet()) {
          spillEnds.merge(e.getKey().topic(), e.getValue().offset(), Long::sum);
        }
      }
      // Still running (nothing new goes to the blocked model's spill topic): read it back and count its jobs.
      count = countBacklogJobs(bootstrap, blockedSpill, backlog);
    } finally {
      stop.set(true);
      stopFlow.set(true);
      flow.join(); // returns at once for a thread never started
      releaser.join();
      reader.join();
    }

    List<long[]> flows = new ArrayList<>(seen);
    System.out.printf(Locale.ROOT, "isolation run: backlog %d jobs of model %s (1 key, 1 stream, never released), "
        + "then %d/s over 9 models x 100 tenants from %s; dispatcher -Xmx256m, max_buffered_jobs %d%n", backlog,
        BLOCKED, rate, flowFromStart ? "the dispatcher's start" : "when the backlog was parked", maxBuffered);
    System.out.println("  period            | phase     | flowing assignments/s | latency p50 / p99 / max ms | "
        + "heap used peak MiB | heap after GC MiB | spilled (end) | JIT ms");
    // Quarters of the run; with the flow started after the catch-up, quarters of the catch-up and of the flow.
    List<long[]> periods = new ArrayList<>();
    if (flowFromStart) {
      quarters(periods, active, end);
    } else {
      quarters(periods, active, flowStart);
      quarters(periods, flowStart, end);
    }
    double peakAfterGc = 0;
    for (long[] period : periods) {
      long t0 = period[0];
      long t1 = period[1];
      String phase = t1 <= caughtUp ? "catch-up" : t0 >= caughtUp ? "flowing" : "both";
      long[] heap = heap(stats, t0, t1);
      peakAfterGc = Math.max(peakAfterGc, heap[1] / 1048576.0);
      List<Long> lat = latencies(flows, t0, t1);
      System.out.printf(Locale.ROOT, "  %5.1f - %5.1f s   | %-9s | %21.0f | %26s | %18.0f | %17.0f | %16d | %d%n",
          (t0 - active) / 1000.0, (t1 - active) / 1000.0, phase, readIn(flows, t0, t1) * 1000.0 / (t1 - t0),
          lat.isEmpty() ? "-" : pct(lat, 0.5) + " / " + pct(lat, 0.99) + " / " + lat.get(lat.size() - 1),
          heap[0] / 1048576.0, heap[1] / 1048576.0, heap[2], heap[3]);
    }
    List<Long> during = latencies(flows, active, caughtUp);
    List<Long> after = latencies(flows, flowStart, end);
    double afterRate = readIn(flows, flowStart, end) * 1000.0 / Math.max(1, end - flowStart);
    long spilled = stats.isEmpty() ? 0 : stats.get(stats.size() - 1)[4];
    System.out.printf(Locale.ROOT, "  catch-up (%s): %.1f s, %.0f blocked jobs/s read past; flowing jobs produced "
        + "then: p50 %s ms, p99 %s ms, max %s ms%n", complete ? "complete" : "INCOMPLETE", (caughtUp - active) / 1000.0,
        parkedSpilled * 1000.0 / Math.max(1, caughtUp - active), pctOr(during, 0.5), pctOr(during, 0.99),
        during.isEmpty() ? "-" : during.get(during.size() - 1));
    System.out.printf(Locale.ROOT, "  after catch-up (%.1f s at %d/s): %.0f flowing assignments/s, p50 %s ms, p99 %s "
        + "ms, max %s ms%n", (end - flowStart) / 1000.0, rate, afterRate, pctOr(after, 0.5), pctOr(after, 0.99),
        after.isEmpty() ? "-" : after.get(after.size() - 1));
    System.out.printf(Locale.ROOT, "  flowing jobs produced %d, assigned %d; blocked model assigned %d%n",
        produced.get(), flows.size(), blockedAssigned.get());
    long blockedEnd = spillEnds.getOrDefault(blockedSpill, 0L);
    long othersEnd = spillEnds.values().stream().mapToLong(Long::longValue).sum() - blockedEnd;
    System.out.printf(Locale.ROOT, "  spilled (counter) %d, of which after the catch-up %d; end offsets: %s %d "
        + "(transaction markers included), other models' spill topics %d%n", spilled,
        spilled - parkedSpilled, blockedSpill, blockedEnd, othersEnd);
    System.out.printf(Locale.ROOT, "  blocked model's jobs in its spill topic: %d of %d distinct (%d duplicates, "
        + "%d other records); not there: %d (expected %d: its in-memory share %d + the running one)%s%n", count[0],
        backlog, count[1], count[2], backlog - count[0], slotCap + 1, slotCap,
        count[3] == 0 ? "" : "; READ BACK INCOMPLETE");
    return new double[] {afterRate, after.isEmpty() ? Double.NaN : pct(after, 0.5),
        after.isEmpty() ? Double.NaN : pct(after, 0.99), (caughtUp - active) / 1000.0, peakAfterGc};
  }

  /** Adds the four quarters of [t0, t1) to {@code periods}. */
  private static void quarters(List<long[]> periods, long t0, long t1) {
    long q = Math.max(1, (t1 - t0) / 4);
    for (int i = 0; i < 4; i++) {
      periods.add(new long[] {t0 + i * q, i == 3 ? Math.max(t1, t0 + i * q + 1) : t0 + (i + 1) * q});
    }
  }

  /** Reads a spill topic from the start: {distinct backlog jobs, duplicates, other records, 1 if cut short}. */
  private static long[] countBacklogJobs(String bootstrap, String topic, int backlog) {
    BitSet ids = new BitSet(backlog);
    long dup = 0;
    long other = 0;
    long t0 = System.nanoTime();
    try (KafkaConsumer<String, byte[]> c = consumer(bootstrap)) {
      List<TopicPartition> parts = partitions(c, topic);
      c.assign(parts);
      c.seekToBeginning(parts);
      Map<TopicPartition, Long> ends = c.endOffsets(parts);
      long until = System.nanoTime() + Duration.ofSeconds(180).toNanos();
      while (parts.stream().anyMatch(tp -> c.position(tp) < ends.get(tp))) {
        if (System.nanoTime() > until) {
          return new long[] {ids.cardinality(), dup, other, 1};
        }
        for (var r : c.poll(Duration.ofMillis(200))) {
          String k = r.key();
          if (k != null && k.startsWith("b")) {
            int i = Integer.parseInt(k.substring(1));
            if (ids.get(i)) {
              dup++;
            } else {
              ids.set(i);
            }
          } else {
            other++;
          }
        }
      }
    }
    System.out.printf(Locale.ROOT, "  read the blocked model's spill topic back in %.1f s%n",
        (System.nanoTime() - t0) / 1e9);
    return new long[] {ids.cardinality(), dup, other, 0};
  }

  /**
   * {heap used peak, heap after GC peak, spilled at the last sample, JIT compile ms} of the samples in [t0, t1)
   * (the JIT's time from the last sample before t0).
   */
  private static long[] heap(List<long[]> stats, long t0, long t1) {
    long[] h = new long[4];
    long jitFrom = -1;
    for (long[] s : stats) {
      if (s[0] < t0) {
        jitFrom = s[5];
      } else if (s[0] < t1) {
        h[0] = Math.max(h[0], s[2]);
        h[1] = Math.max(h[1], s[3]);
        h[2] = s[4];
        h[3] = s[5] - (jitFrom < 0 ? s[5] : jitFrom);
        if (jitFrom < 0) {
          jitFrom = s[5];
        }
      }
    }
    return h;
  }

  /** Latencies, sorted, of the flowing jobs whose record time is in [t0, t1). */
  private static List<Long> latencies(List<long[]> flows, long t0, long t1) {
    List<Long> l = new ArrayList<>();
    for (long[] f : flows) {
      if (f[1] >= t0 && f[1] < t1) {
        l.add(f[0] - f[1]);
      }
    }
    Collections.sort(l);
    return l;
  }

  /** Flowing assignments that became readable in [t0, t1). */
  private static long readIn(List<long[]> flows, long t0, long t1) {
    return flows.stream().filter(f -> f[0] >= t0 && f[0] < t1).count();
  }

  private static long pct(List<Long> sorted, double q) {
    return sorted.get(Math.min(sorted.size() - 1, (int) (sorted.size() * q)));
  }

  private static String pctOr(List<Long> sorted, double q) {
    return sorted.isEmpty() ? "-" : Long.toString(pct(sorted, q));
  }
}
