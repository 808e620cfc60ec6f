package io.promptfleet.bench.worker;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.worker.Worker;
import io.promptfleet.worker.WorkerOptions;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * CPU per completed stream of one real worker: share-group acquisition, HTTP request, SSE parsing, one chunk record
 * per delta (or coalesced), the result record, the fleet event, the ACCEPT. The broker and the upstream run in other
 * processes; all assignments are written before the worker starts, so this process's CPU is the worker's.
 *
 * <p>The warm-up must outlast the JIT: with 3,000 streams (about 1.5 s) C2 was still compiling through the measured
 * rounds and its threads were 40 % of the process's CPU; after 60,000 the compiler threads are down to a few
 * percent. The warm-up's own CPU per stream is printed too, and the measured rounds' CPU by thread group.
 *
 * <p>Env: BOOTSTRAP (required), UPSTREAM (default http://127.0.0.1:18080/v1), STREAMS per round (3000), ROUNDS (5),
 * WARMUP streams (60000), SLOTS (100), LANES (4), COALESCE_MS (0), VERTX ({@code worker}: the worker's own
 * {@code WorkerService.newVertx()}; {@code plain}: {@code Vertx.vertx()}), PROTOCOL ({@code openai}, or
 * {@code anthropic} for an upstream speaking Anthropic Messages, e.g. {@code mock-anthropic.js}).
 */
public final class WorkerCpuBench {
  private WorkerCpuBench() {}

  public static void main(String[] args) throws Exception {
    String bootstrap = BenchFleet.env("BOOTSTRAP", null);
    if (bootstrap == null) {
      throw new IllegalArgumentException("set BOOTSTRAP to the broker (the script starts one)");
    }
    String upstream = BenchFleet.env("UPSTREAM", "http://127.0.0.1:18080/v1");
    int perRound = Integer.parseInt(BenchFleet.env("STREAMS", "3000"));
    int rounds = Integer.parseInt(BenchFleet.env("ROUNDS", "5"));
    int warmup = Integer.parseInt(BenchFleet.env("WARMUP", "60000"));
    int slots = Integer.parseInt(BenchFleet.env("SLOTS", "100"));
    int lanes = Integer.parseInt(BenchFleet.env("LANES", "4"));
    long coalesceMs = Long.parseLong(BenchFleet.env("COALESCE_MS", "0"));
    String prefix = "bench-cpu-" + Long.toHexString(System.nanoTime());
    FleetConfig config = BenchFleet.config(bootstrap, prefix, upstream, slots, lanes);
    // one round more than measured: batches overshoot a round's count, and the last round must still end early
    int total = warmup + perRound * (rounds + 1);
    BenchFleet.produceAssignments(config, prefix, 0, total, "hi");
    System.gc();

    Vertx vertx = BenchFleet.vertx();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Worker worker = new Worker(config, WorkerOptions.defaults().withCoalesceMs(coalesceMs), vertx, registry,
        prefix + "-w", Clock.systemUTC());
    long warmCpu0 = BenchFleet.processCpuNanos();
    worker.start();
    List<Double> cpuPerStream = new ArrayList<>();
    List<Double> rates = new ArrayList<>();
    long chunks0 = 0;
    double warmed = awaitCompleted(registry, warmup, Duration.ofMinutes(10));
    System.out.printf(Locale.ROOT, "warm-up (JIT compiling): %.0f streams, cpu_ms_per_stream=%.3f%n", warmed,
        (BenchFleet.processCpuNanos() - warmCpu0) / 1e6 / warmed);
    Map<String, Long> threads0 = BenchFleet.threadCpuByGroup(prefix + "-w");
    long gc0 = gcMillis();
    long jit0 = java.lang.management.ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
    long cpu0 = BenchFleet.processCpuNanos();
    double measured0 = completed(registry);
    for (int r = 0; r < rounds; r++) {
      long c0 = BenchFleet.processCpuNanos();
      long w0 = System.nanoTime();
      double done0 = completed(registry);
      chunks0 = (long) registry.get("promptfleet.worker.chunks").counter().count();
      double done1 = awaitCompleted(registry, Math.min(total, (int) done0 + perRound), Duration.ofMinutes(5));
      long c1 = BenchFleet.processCpuNanos();
      long w1 = System.nanoTime();
      double n = done1 - done0;
      double ms = (c1 - c0) / 1e6 / n;
      double rate = n / ((w1 - w0) / 1e9);
      long chunks = (long) registry.get("promptfleet.worker.chunks").counter().count() - chunks0;
      cpuPerStream.add(ms);
      rates.add(rate);
      System.out.printf(Locale.ROOT, "round %d: %.0f streams, %.0f streams/s, %.1f chunk records/stream, "
          + "cpu_ms_per_stream=%.3f, cpu_util=%.2f cores, heap_used_mb=%d%n", r + 1, n, rate, chunks / n, ms,
          (c1 - c0) / (double) (w1 - w0), BenchFleet.heapUsedMb());
    }
    double measured = completed(registry) - measured0;
    long cpuAll = BenchFleet.processCpuNanos() - cpu0;
    Map<String, Long> threads1 = BenchFleet.threadCpuByGroup(prefix + "-w");
    long javaThreads = 0;
    StringBuilder by = new StringBuilder();
    for (var e : threads1.entrySet()) {
      long d = e.getValue() - threads0.getOrDefault(e.getKey(), 0L);
      javaThreads += d;
      by.append(String.format(Locale.ROOT, " %s=%.3f", e.getKey(), d / 1e6 / measured));
    }
    System.out.printf(Locale.ROOT, "cpu_ms_per_stream by thread:%s jvm-internal(gc,jit)=%.3f; "
        + "gc pauses %.3f ms/stream, jit %.3f ms/stream%n", by, (cpuAll - javaThreads) / 1e6 / measured,
        (gcMillis() - gc0) / measured,
        (java.lang.management.ManagementFactory.getCompilationMXBean().getTotalCompilationTime() - jit0) / measured);
    double failed = registry.find("promptfleet.worker.attempts").counters().stream()
        .filter(c -> !"succeeded".equals(c.getId().getTag("outcome"))).mapToDouble(Counter::count).sum();
    Collections.sort(cpuPerStream);
    Collections.sort(rates);
    System.out.printf(Locale.ROOT, "promptfleet worker: slots=%d lanes=%d coalesce_ms=%d rounds=%d x %d streams: "
        + "median cpu_ms_per_stream=%.3f (min %.3f, max %.3f), median streams_per_s=%.0f, not succeeded=%.0f%n",
        slots, lanes, coalesceMs, rounds, perRound, cpuPerStream.get(rounds / 2), cpuPerStream.get(0),
        cpuPerStream.get(rounds - 1), rates.get(rounds / 2), failed);
    worker.close();
    vertx.close();
    System.exit(0);
  }

  private static long gcMillis() {
    long ms = 0;
    for (var gc : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
      ms += Math.max(0, gc.getCollectionTime());
    }
    return ms;
  }

  private static double completed(SimpleMeterRegistry registry) {
    return registry.find("promptfleet.worker.attempts").counters().stream().mapToDouble(Counter::count).sum();
  }

  private static double awaitCompleted(SimpleMeterRegistry registry, int n, Duration max) {
    long until = System.nanoTime() + max.toNanos();
    double done;
    while ((done = completed(registry)) < n) {
      if (System.nanoTime() > until) {
        throw new IllegalStateException("only " + done + " of " + n + " streams completed within " + max);
      }
      BenchFleet.sleep(Duration.ofMillis(20));
    }
    return done;
  }
}
