package io.promptfleet.bench.worker;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.worker.Worker;
import io.promptfleet.worker.WorkerOptions;
import io.vertx.core.Vertx;
import java.lang.management.ManagementFactory;
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
 * processes, and so does the producer of the assignments when the script passes {@code PREFIX} ({@link
 * #produce}): all assignments are written before the worker starts, so this process's CPU is the worker's from
 * its JVM's start.
 *
 * <p>The warm-up really ends before the rounds are measured: after {@code WARMUP} streams it goes on, window by
 * window, until the JIT compiler threads used less than {@value #SETTLED} of a window's CPU in two windows in a row
 * (at most {@code WARMUP_MAX} streams; the report says whether it settled), and each round reports the compiler
 * threads' CPU and the JIT's compile time in it. Besides the steady state it reports the warm-up itself: CPU and JIT
 * CPU per stream in windows of {@code WINDOW} streams from the first, how many streams it took to reach steady state
 * (the first window from which every later window costs at most {@value #STEADY_FACTOR} times the measured median),
 * the process's CPU in its first minute (from JVM start, start-up included) and the times from JVM start to the
 * worker started and to its first completed stream.
 *
 * <p>Env: BOOTSTRAP (required), UPSTREAM (default http://127.0.0.1:18080/v1), PREFIX (topics of assignments
 * written by {@code produce}; without it they are written here first), STREAMS per round (3000), ROUNDS (5),
 * WARMUP streams at least (10000), WARMUP_MAX streams at most (150000), WINDOW (1000), SLOTS (100), LANES (4),
 * COALESCE_MS (0), CHUNKS_IN_FLIGHT (the worker's default, 1: adaptive coalescing, {@code
 * worker.chunks_in_flight}; 0: every delta its own chunk record), VERTX ({@code worker}: the worker's own {@code
 * WorkerService.newVertx()}; {@code plain}: {@code Vertx.vertx()}), PROTOCOL ({@code openai}, or {@code anthropic} for an upstream speaking Anthropic
 * Messages, e.g. {@code mock-anthropic.js}).
 */
public final class WorkerCpuBench {
  private static final double STEADY_FACTOR = 1.25;
  /** The share of a window's CPU below which the JIT counts as settled. */
  private static final double SETTLED = 0.05;

  private WorkerCpuBench() {}

  /** The assignments of one run: {@code produce} writes them, the bench reads them. */
  private record Plan(String bootstrap, String upstream, int perRound, int rounds, int warmup, int warmupMax,
      int slots, int lanes) {
    static Plan fromEnv() {
      String bootstrap = BenchFleet.env("BOOTSTRAP", null);
      if (bootstrap == null) {
        throw new IllegalArgumentException("set BOOTSTRAP to the broker (the script starts one)");
      }
      return new Plan(bootstrap, BenchFleet.env("UPSTREAM", "http://127.0.0.1:18080/v1"),
          Integer.parseInt(BenchFleet.env("STREAMS", "3000")), Integer.parseInt(BenchFleet.env("ROUNDS", "5")),
          Integer.parseInt(BenchFleet.env("WARMUP", "10000")), Integer.parseInt(BenchFleet.env("WARMUP_MAX", "150000")),
          Integer.parseInt(BenchFleet.env("SLOTS", "100")), Integer.parseInt(BenchFleet.env("LANES", "4")));
    }

    /** One round more than measured: batches overshoot a round's count, and the last round must still end early. */
    int total() {
      return Math.max(warmup, warmupMax) + perRound * (rounds + 1);
    }

    FleetConfig config(String prefix) {
      return BenchFleet.config(bootstrap, prefix, upstream, slots, lanes);
    }
  }

  /** Writes a run's assignments in a JVM of its own and prints {@code PREFIX <prefix>} (run-cpu.sh). */
  public static final class Produce {
    private Produce() {}

    public static void main(String[] args) {
      Plan plan = Plan.fromEnv();
      String prefix = "bench-cpu-" + Long.toHexString(System.nanoTime());
      BenchFleet.produceAssignments(plan.config(prefix), prefix, 0, plan.total(), "hi");
      System.out.println("PREFIX " + prefix);
    }
  }

  public static void main(String[] args) throws Exception {
    Plan plan = Plan.fromEnv();
    int perRound = plan.perRound();
    int rounds = plan.rounds();
    int window = Integer.parseInt(BenchFleet.env("WINDOW", "1000"));
    long coalesceMs = Long.parseLong(BenchFleet.env("COALESCE_MS", "0"));
    int chunksInFlight = Integer.parseInt(BenchFleet.env("CHUNKS_IN_FLIGHT",
        String.valueOf(WorkerOptions.defaults().chunksInFlight())));
    String prefix = BenchFleet.env("PREFIX", null);
    FleetConfig config;
    if (prefix == null) {
      prefix = "bench-cpu-" + Long.toHexString(System.nanoTime());
      config = plan.config(prefix);
      BenchFleet.produceAssignments(config, prefix, 0, plan.total(), "hi");
      System.gc();
      System.out.println("(assignments written in this JVM: the warm-up figures include the producer's)");
    } else {
      config = plan.config(prefix);
    }
    int total = plan.total();

    Vertx vertx = BenchFleet.vertx();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Worker worker = new Worker(config, WorkerOptions.defaults().withCoalesceMs(coalesceMs)
        .withChunksInFlight(chunksInFlight), vertx, registry,
        prefix + "-w", Clock.systemUTC());
    long warmCpu0 = BenchFleet.processCpuNanos();
    worker.start();
    long startedMs = uptimeMs();
    Curve curve = new Curve(registry, window);
    double warmed = curve.follow(plan.warmup(), plan.warmupMax(), Duration.ofMinutes(20));
    System.out.printf(Locale.ROOT, "start-up: worker started %d ms after JVM start (process CPU then %.0f ms), "
        + "first stream completed at %d ms%n", startedMs, warmCpu0 / 1e6, curve.firstAtMs);
    System.out.printf(Locale.ROOT, "warm-up: %.0f streams, cpu_ms_per_stream=%.3f, JIT %s%n", warmed,
        (BenchFleet.processCpuNanos() - warmCpu0) / 1e6 / warmed, curve.settled
            ? "settled (compiler threads < " + Math.round(100 * SETTLED) + " % of the CPU in the last two windows)"
            : "NOT settled within WARMUP_MAX");
    jdk.jfr.Recording jfr = startJfr();
    Map<String, Long> threads0 = BenchFleet.threadCpuByGroup(prefix + "-w");
    long gc0 = gcMillis();
    long jit0 = jitMillis();
    long jitCpu0 = BenchFleet.jitCpuNanos();
    long cpu0 = BenchFleet.processCpuNanos();
    double measured0 = completed(registry);
    List<Double> cpuPerStream = new ArrayList<>();
    List<Double> rates = new ArrayList<>();
    for (int r = 0; r < rounds; r++) {
      long c0 = BenchFleet.processCpuNanos();
      long w0 = System.nanoTime();
      long j0 = jitMillis();
      long jc0 = BenchFleet.jitCpuNanos();
      double done0 = completed(registry);
      long chunks0 = (long) registry.get("promptfleet.worker.chunks").counter().count();
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
          + "cpu_ms_per_stream=%.3f, of it JIT compiler threads %.3f (compile time %.3f ms per stream), "
          + "cpu_util=%.2f cores, heap_used_mb=%d%n", r + 1, n, rate, chunks / n, ms,
          Math.max(0, BenchFleet.jitCpuNanos() - jc0) / 1e6 / n, (jitMillis() - j0) / n,
          (c1 - c0) / (double) (w1 - w0), BenchFleet.heapUsedMb());
    }
    double measured = completed(registry) - measured0;
    stopJfr(jfr);
    long cpuAll = BenchFleet.processCpuNanos() - cpu0;
    Map<String, Long> threads1 = BenchFleet.threadCpuByGroup(prefix + "-w");
    long javaThreads = 0;
    StringBuilder by = new StringBuilder();
    for (var e : threads1.entrySet()) {
      long d = e.getValue() - threads0.getOrDefault(e.getKey(), 0L);
      javaThreads += d;
      if (d / 1e6 / measured >= 0.0005) {
        by.append(String.format(Locale.ROOT, " %s=%.3f", e.getKey(), d / 1e6 / measured));
      }
    }
    long jitCpu = Math.max(0, BenchFleet.jitCpuNanos() - jitCpu0);
    System.out.printf(Locale.ROOT, "cpu_ms_per_stream by thread:%s jit-compiler-threads=%.3f jvm-other(gc,vm)=%.3f; "
        + "gc pauses %.3f ms/stream, jit compile time %.3f ms/stream%n", by, jitCpu / 1e6 / measured,
        (cpuAll - javaThreads - jitCpu) / 1e6 / measured, (gcMillis() - gc0) / measured,
        (jitMillis() - jit0) / measured);
    double failed = registry.find("promptfleet.worker.attempts").counters().stream()
        .filter(c -> !"succeeded".equals(c.getId().getTag("outcome"))).mapToDouble(Counter::count).sum();
    Collections.sort(cpuPerStream);
    Collections.sort(rates);
    double median = cpuPerStream.get(rounds / 2);
    curve.print(median);
    System.out.printf(Locale.ROOT, "promptfleet worker: slots=%d lanes=%d coalesce_ms=%d chunks_in_flight=%d rounds=%d x %d streams: "
        + "median cpu_ms_per_stream=%.3f (min %.3f, max %.3f), median streams_per_s=%.0f, not succeeded=%.0f%n",
        plan.slots(), plan.lanes(), coalesceMs, chunksInFlight, rounds, perRound, median, cpuPerStream.get(0),
        cpuPerStream.get(rounds - 1), rates.get(rounds / 2), failed);
    worker.close();
    vertx.close();
    System.exit(0);
  }

  /** The warm-up, window by window: process CPU and JIT compile time per stream, and the first minute's CPU. */
  private static final class Curve {
    private final SimpleMeterRegistry registry;
    private final int window;
    private final List<double[]> windows = new ArrayList<>(); // {cpu ms per stream, JIT threads' cpu ms per stream}
    long firstAtMs = -1;
    boolean settled;
    private double minuteStreams = -1;
    private long minuteCpuNanos;

    Curve(SimpleMeterRegistry registry, int window) {
      this.registry = registry;
      this.window = window;
    }

    /**
     * Waits for {@code n} streams, and then for the JIT to settle (or {@code max} streams), sampling every 20 ms;
     * returns how many completed.
     */
    double follow(int n, int most, Duration max) {
      long until = System.nanoTime() + max.toNanos();
      long cpu0 = BenchFleet.processCpuNanos();
      long jit0 = BenchFleet.jitCpuNanos();
      double next = window;
      double done;
      int quiet = 0;
      while ((done = completed(registry)) < n || (!settled && done < most)) {
        if (System.nanoTime() > until) {
          throw new IllegalStateException("only " + done + " of " + n + " streams completed within " + max);
        }
        if (done > 0 && firstAtMs < 0) {
          firstAtMs = uptimeMs();
        }
        if (minuteStreams < 0 && uptimeMs() >= 60_000) {
          minuteStreams = done;
          minuteCpuNanos = BenchFleet.processCpuNanos();
        }
        if (done >= next) {
          long cpu = BenchFleet.processCpuNanos();
          long jit = BenchFleet.jitCpuNanos();
          double streams = done - (next - window);
          windows.add(new double[] {(cpu - cpu0) / 1e6 / streams, Math.max(0, jit - jit0) / 1e6 / streams});
          quiet = jit - jit0 < SETTLED * (cpu - cpu0) ? quiet + 1 : 0;
          settled = quiet >= 2;
          cpu0 = cpu;
          jit0 = jit;
          next = Math.floor(done / window) * window + window;
        }
        BenchFleet.sleep(Duration.ofMillis(20));
      }
      return done;
    }

    void print(double steady) {
      StringBuilder s = new StringBuilder();
      int steadyFrom = windows.size();
      for (int i = windows.size() - 1; i >= 0 && windows.get(i)[0] <= STEADY_FACTOR * steady; i--) {
        steadyFrom = i;
      }
      for (int i = 0; i < windows.size(); i++) {
        if (i < 10 || i % 5 == 4 || i == windows.size() - 1) {
          s.append(String.format(Locale.ROOT, " %d:%.2f/%.2f", (i + 1) * window / 1000, windows.get(i)[0],
              windows.get(i)[1]));
        }
      }
      System.out.println("warm-up curve (thousand streams:cpu/JIT threads' cpu, ms per stream):" + s);
      System.out.printf(Locale.ROOT, "steady state (every later window <= %.2f x %.3f ms) from stream %d%s%n",
          STEADY_FACTOR, steady, steadyFrom * window,
          steadyFrom == windows.size() ? " (not within the warm-up)" : "");
      if (minuteStreams > 0) {
        System.out.printf(Locale.ROOT, "first minute (JVM start + 60 s): %.1f s of CPU, %.0f streams, "
            + "%.3f ms per stream%n", minuteCpuNanos / 1e9, minuteStreams, minuteCpuNanos / 1e6 / minuteStreams);
      } else {
        System.out.println("first minute: the warm-up ended before the JVM's first minute");
      }
    }
  }

  /** With env JFR=file: a flight recording of the measured rounds (execution samples every 10 ms), else null. */
  private static jdk.jfr.Recording startJfr() throws java.io.IOException, java.text.ParseException {
    String file = BenchFleet.env("JFR", null);
    if (file == null) {
      return null;
    }
    jdk.jfr.Recording r = new jdk.jfr.Recording(jdk.jfr.Configuration.getConfiguration("profile"));
    r.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(10));
    r.setDestination(java.nio.file.Path.of(file));
    r.start();
    return r;
  }

  private static void stopJfr(jdk.jfr.Recording r) {
    if (r != null) {
      r.stop();
      r.close();
      System.out.println("flight recording of the measured rounds: " + BenchFleet.env("JFR", null));
    }
  }

  static long uptimeMs() {
    return ManagementFactory.getRuntimeMXBean().getUptime();
  }

  private static long jitMillis() {
    return ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
  }

  private static long gcMillis() {
    long ms = 0;
    for (var gc : ManagementFactory.getGarbageCollectorMXBeans()) {
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
