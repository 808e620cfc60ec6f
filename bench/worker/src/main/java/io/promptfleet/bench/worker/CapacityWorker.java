package io.promptfleet.bench.worker;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.worker.Worker;
import io.promptfleet.worker.WorkerOptions;
import io.vertx.core.Vertx;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;

/**
 * The worker side of the capacity benchmark, in its own JVM (run it with -Xmx1g): writes STREAMS assignments, starts
 * one worker with that many slots, and every 5 s prints streams in flight, heap (used, and old generation after the
 * last GC) and CPU.
 *
 * <p>Env: BOOTSTRAP, PREFIX (shared with the load side), PORT of the load side's upstream (18090), STREAMS, SLOTS
 * (STREAMS), LANES
 * (16), COALESCE_MS (0), DURATION_S (total run, 100).
 */
public final class CapacityWorker {
  private CapacityWorker() {}

  public static void main(String[] args) throws Exception {
    String bootstrap = BenchFleet.env("BOOTSTRAP", null);
    String prefix = BenchFleet.env("PREFIX", null);
    int port = Integer.parseInt(BenchFleet.env("PORT", "18090"));
    int streams = Integer.parseInt(BenchFleet.env("STREAMS", "10000"));
    int lanes = Integer.parseInt(BenchFleet.env("LANES", "16"));
    // SLOTS above STREAMS: lanes start with partial batches (see Lane), so a worker fills its slots only approximately
    int slots = Integer.parseInt(BenchFleet.env("SLOTS", String.valueOf(streams)));
    long coalesceMs = Long.parseLong(BenchFleet.env("COALESCE_MS", "0"));
    long durationS = Long.parseLong(BenchFleet.env("DURATION_S", "100"));
    FleetConfig config = BenchFleet.config(bootstrap, prefix, "http://127.0.0.1:" + port + "/v1", slots, lanes);
    BenchFleet.produceAssignments(config, prefix, 0, streams, "hi");
    Vertx vertx = BenchFleet.vertx();
    Worker worker = new Worker(config, WorkerOptions.defaults().withCoalesceMs(coalesceMs), vertx,
        new SimpleMeterRegistry(), prefix + "-w", Clock.systemUTC());
    worker.start();
    long t0 = System.nanoTime();
    long cpu0 = BenchFleet.processCpuNanos();
    int maxActive = 0;
    long maxOldAfterGc = 0;
    long maxUsed = 0;
    while (System.nanoTime() - t0 < Duration.ofSeconds(durationS).toNanos()) {
      BenchFleet.sleep(Duration.ofSeconds(5));
      long cpu1 = BenchFleet.processCpuNanos();
      long oldAfterGc = oldGenAfterGcMb();
      long used = BenchFleet.heapUsedMb();
      maxActive = Math.max(maxActive, worker.activeStreams());
      maxOldAfterGc = Math.max(maxOldAfterGc, oldAfterGc);
      maxUsed = Math.max(maxUsed, used);
      System.out.printf(Locale.ROOT, "t=%3ds worker: streams in flight=%d, heap used=%d MB, old gen after last "
          + "GC=%d MB, cpu=%.2f cores%n", (System.nanoTime() - t0) / 1_000_000_000L, worker.activeStreams(), used,
          oldAfterGc, (cpu1 - cpu0) / 5e9);
      cpu0 = cpu1;
    }
    System.out.printf(Locale.ROOT, "worker summary: slots=%d lanes=%d max streams in flight=%d, max heap used=%d MB, "
        + "max old gen after GC=%d MB (-Xmx%d MB)%n", slots, lanes, maxActive, maxUsed, maxOldAfterGc,
        Runtime.getRuntime().maxMemory() / (1024 * 1024));
    System.exit(0);
  }

  private static long oldGenAfterGcMb() {
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getName().contains("Old Gen") && p.getCollectionUsage() != null) {
        return p.getCollectionUsage().getUsed() / (1024 * 1024);
      }
    }
    return -1;
  }
}
