package io.promptfleet.bench.dispatcher;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.dispatcher.Dispatcher;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Path;
import java.time.Clock;

/**
 * The dispatcher under test, in its own JVM (so its heap is its own). Prints {@code ACTIVE}, then every 250 ms
 * {@code STAT <epoch ms> <assignments written> <heap used> <heap used after the last GC> <jobs spilled> <JIT ms>}
 * (jobs spilled: copied to a model's spill topic, summed over every spill partition; JIT ms: the JIT
 * compilers' total time so far, to tell whether the JVM had warmed up).
 */
public final class BenchDispatcher {
  private BenchDispatcher() {}

  public static void main(String[] args) throws Exception {
    FleetConfig config = ConfigLoader.load(Path.of(args[0]));
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Dispatcher d = new Dispatcher(config, registry, Clock.systemUTC(), "bench");
    d.start();
    while (!d.isActive()) {
      if (d.failure() != null) {
        System.out.println("FAILED " + d.failure());
        System.exit(1);
      }
      Thread.sleep(10);
    }
    System.out.println("ACTIVE " + System.currentTimeMillis());
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
}
