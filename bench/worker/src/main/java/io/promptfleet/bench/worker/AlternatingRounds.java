package io.promptfleet.bench.worker;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Two ways of doing one thing, timed in rounds that alternate between them on one thread, so the machine's load
 * falls on both alike: the thread's CPU time per unit of work, the first {@value #WARMUP} rounds of each dropped.
 * Not thread-safe.
 */
final class AlternatingRounds {
  /** Rounds of each way run before any is counted. */
  static final int WARMUP = 5;

  /** One unit of work, done the first way ({@code second} false) or the second. */
  @FunctionalInterface
  interface Work {
    void once(boolean second);
  }

  /** µs of thread CPU per unit, one value per counted round, sorted. */
  record Result(List<Double> first, List<Double> second) {
    double median(List<Double> of) {
      return of.get(of.size() / 2);
    }
  }

  private AlternatingRounds() {}

  static Result run(int rounds, int unitsPerRound, Work work) {
    List<Double> first = new ArrayList<>();
    List<Double> second = new ArrayList<>();
    for (int r = 0; r < rounds + WARMUP; r++) {
      for (boolean way : new boolean[] {r % 2 == 0, r % 2 != 0}) {
        long t0 = threadCpu();
        for (int n = 0; n < unitsPerRound; n++) {
          work.once(way);
        }
        double us = (threadCpu() - t0) / 1e3 / unitsPerRound;
        if (r >= WARMUP) {
          (way ? second : first).add(us);
        }
      }
    }
    Collections.sort(first);
    Collections.sort(second);
    return new Result(first, second);
  }

  private static long threadCpu() {
    return ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
  }
}
