package io.promptfleet.bench.fleet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The CPU of named processes from Linux's {@code /proc}: each one's user + system time since it started, and the part
 * of it its JIT compiler threads ({@code C1/C2 CompilerThread}) spent, in ms. The JVM starts and ends compiler
 * threads as its queues grow and drain ({@code UseDynamicNumberOfCompilerThreads}): a sum over the live ones alone
 * drops when one ends, and a window in which one did would show too little JIT (or less than none), so an ended
 * thread's CPU counts as last read (as in bench/worker's {@code BenchFleet.jitCpuNanos}). Thread-safe.
 */
final class ProcessCpu {
  /** One reading: when ({@link System#nanoTime}), and each process's CPU and its compiler threads' CPU in ms. */
  record Reading(long atNs, Map<String, Double> ms, Map<String, Double> jitMs) {}

  /** The last CPU ticks read of each compiler thread seen, by process, thread id and the thread's start time. */
  private final Map<String, Long> compilerTicks = new ConcurrentHashMap<>();

  /** Reads every process of {@code pids} (by name, in their order). */
  Reading read(Map<String, Long> pids) throws IOException {
    Map<String, Double> ms = new LinkedHashMap<>();
    Map<String, Double> jit = new LinkedHashMap<>();
    for (var p : pids.entrySet()) {
      ms.put(p.getKey(), ticks(Path.of("/proc", Long.toString(p.getValue()), "stat")) * 10.0);
      jit.put(p.getKey(), compilerMs(p.getValue()));
    }
    return new Reading(System.nanoTime(), ms, jit);
  }

  private double compilerMs(long pid) throws IOException {
    try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
      for (Path task : (Iterable<Path>) tasks::iterator) {
        try {
          String comm = Files.readString(task.resolve("comm")).trim();
          if (comm.startsWith("C1 Compiler") || comm.startsWith("C2 Compiler")) {
            String[] f = fields(task.resolve("stat"));
            // the start time (field 22 of stat) tells a reused thread id apart
            compilerTicks.merge(pid + "/" + task.getFileName() + "@" + f[19],
                Long.parseLong(f[11]) + Long.parseLong(f[12]), Math::max);
          }
        } catch (IOException | RuntimeException e) {
          // the thread ended meanwhile: its last reading stands
        }
      }
    }
    String prefix = pid + "/";
    double ms = 0;
    for (var e : compilerTicks.entrySet()) {
      if (e.getKey().startsWith(prefix)) {
        ms += e.getValue() * 10.0;
      }
    }
    return ms;
  }

  /** utime + stime (fields 14 and 15) of a /proc stat file, in clock ticks (1/100 s). */
  static long ticks(Path stat) throws IOException {
    String[] f = fields(stat);
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  /** The fields of a /proc stat file after the command name, from field 3 (index 0). */
  private static String[] fields(Path stat) throws IOException {
    String s = Files.readString(stat);
    return s.substring(s.lastIndexOf(')') + 2).split(" ");
  }
}
