package io.promptfleet.bench.dispatcher;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.dispatcher.Dispatcher;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Path;
import io.promptfleet.dispatcher.ha.SingleActiveAssignor;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The dispatcher under test, in its own JVM (so its heap is its own). Prints {@code STARTED}, {@code ASSIGNED} when
 * its job consumer got the partitions (a standby: when the active one died), {@code ACTIVE} when its takeover is done
 * and {@code TAKEOVER} with the takeover's phases, then every 250 ms
 * {@code STAT <epoch ms> <assignments written> <heap used> <heap used after the last GC> <jobs spilled> <JIT ms>}
 * (jobs spilled: copied to a model's spill topic, summed over every spill partition; JIT ms: the JIT
 * compilers' total time so far, to tell whether the JVM had warmed up). With {@code -Dbench.gcAfterMs=N}, also
 * {@code GCHEAP standby <bytes>} N ms after the start (still standing by) and {@code GCHEAP active <bytes>} N ms after
 * becoming active: heap used right after a full GC. {@code -Dbench.instance} names the instance (default bench).
 */
public final class BenchDispatcher {
  private BenchDispatcher() {}

  public static void main(String[] args) throws Exception {
    FleetConfig config = ConfigLoader.load(Path.of(args[0]));
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    String instance = System.getProperty("bench.instance", "bench");
    long gcAfterMs = Long.getLong("bench.gcAfterMs", 0);
    Dispatcher d = new Dispatcher(config, registry, Clock.systemUTC(), instance);
    AtomicBoolean assigned = SingleActiveAssignor.activeFlag("pf-dispatcher-" + instance);
    d.start();
    System.out.println("STARTED " + System.currentTimeMillis());
    long startedAt = System.currentTimeMillis();
    boolean standbyHeap = false;
    boolean sawAssigned = false;
    while (!d.isActive()) {
      if (d.failure() != null) {
        System.out.println("FAILED " + d.failure());
        System.exit(1);
      }
      if (!sawAssigned && assigned.get()) {
        sawAssigned = true;
        System.out.println("ASSIGNED " + System.currentTimeMillis());
      }
      if (gcAfterMs > 0 && !standbyHeap && !sawAssigned && System.currentTimeMillis() - startedAt > gcAfterMs) {
        standbyHeap = true;
        System.out.println("GCHEAP standby " + heapAfterFullGc());
      }
      Thread.sleep(1);
    }
    System.out.println("ACTIVE " + System.currentTimeMillis());
    System.out.println("TAKEOVER " + takeoverTimes(d));
    if (gcAfterMs > 0) {
      Thread gc = new Thread(() -> {
        try {
          Thread.sleep(gcAfterMs);
          System.out.println("GCHEAP active " + heapAfterFullGc());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "bench-gc");
      gc.setDaemon(true);
      gc.start();
    }
    var assignments = registry.get("promptfleet.dispatcher.assignments").counter();
    while (d.failure() == null) {
      long afterGc = 0;
      for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
        if (p.getType() == MemoryType.HEAP && p.getCollectionUsage() != null) {
          afterGc += p.getCollectionUsage().getUsed();
        }
      }
      double spilled = 0;
      for (var c : registry.find("promptfleet.dispatcher.spilled").counters()) {
        spilled += c.count();
      }
      System.out.println("STAT " + System.currentTimeMillis() + " " + (long) assignments.count() + " "
          + ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() + " " + afterGc + " "
          + (long) spilled + " " + ManagementFactory.getCompilationMXBean().getTotalCompilationTime());
      System.out.flush();
      Thread.sleep(250);
    }
    System.out.println("FAILED " + d.failure());
    System.exit(1);
  }

  /** Heap used right after a full collection, in bytes. */
  private static long heapAfterFullGc() {
    System.gc();
    System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  /**
   * The dispatcher's own account of its takeover ({@code Dispatcher.lastTakeover()}), read reflectively so that the
   * same benchmark runs against a dispatcher that does not have it (then "-").
   */
  private static String takeoverTimes(Dispatcher d) {
    try {
      Object t = Dispatcher.class.getMethod("lastTakeover").invoke(d);
      return t == null ? "-" : t.toString();
    } catch (ReflectiveOperationException e) {
      return "-";
    }
  }
}
