package io.promptfleet.worker;

import io.promptfleet.common.config.WorkerSettings;
import java.time.Duration;

/**
 * A worker's tuning; {@link #from(WorkerSettings)} takes the part that is in the fleet's YAML configuration
 * ({@code worker.drain_grace_ms}, {@code worker.coalesce_ms}, {@code worker.chunks_in_flight},
 * {@code worker.park_lanes_after_ms}, {@code worker.heartbeat_ms}), the rest keeps its defaults. Immutable; the compact constructor validates every field with a message that names it.
 *
 * @param drainGrace         how long in-flight streams may run on after a drain starts (default 30 s); the rest
 *                           are handed back to the share group
 * @param renewAfterMax      renew a held assignment at most this long after acquisition or its last renewal
 *                           (default 10 s; sooner when the group's lock is shorter: at half the lock)
 * @param coalesceMs         deltas arriving within this window are published as one chunk record (default 0 = one
 *                           record per delta; see bench/worker/README.md for the trade-off)
 * @param chunksInFlight     without a window: text waits while this many of a stream's chunks are unacked, then
 *                           goes out as one chunk (default 1, the fleet's {@code worker.chunks_in_flight}: adaptive
 *                           coalescing; 0 = every delta its own record; see {@code ChunkSink})
 * @param cancelMemory       how many recent cancels are remembered (default 100,000)
 * @param cancelTtl          how long a cancel is remembered for assignments that arrive after it (default 15 min)
 * @param kafkaSilenceLimit  not ready when no broker acknowledged a heartbeat for this long (default 20 s, or four
 *                           heartbeat intervals if that is longer; at least two: one heartbeat's ack may come an
 *                           interval late without the worker reporting itself cut off)
 * @param heartbeatInterval  fleet heartbeats (the fleet's {@code worker.heartbeat_ms}, default 5 s); a worker's claim on
 *                           a lease delivered again counts while it was heard from within two of these and a second
 *                           ({@link WorkerSettings#heardWithinMs()})
 * @param parkLanesAfter     an idle worker parks its lanes beyond {@code worker.idle_lanes} after holding no
 *                           assignment for this long (the fleet's {@code worker.park_lanes_after_ms}, default 30 s;
 *                           see {@code LaneParking})
 */
public record WorkerOptions(Duration drainGrace, Duration renewAfterMax, long coalesceMs, int chunksInFlight,
    int cancelMemory,
    Duration cancelTtl, Duration kafkaSilenceLimit, Duration heartbeatInterval, Duration parkLanesAfter) {

  public WorkerOptions {
    require(!drainGrace.isNegative(), "drainGrace must be >= 0");
    require(renewAfterMax.toMillis() >= 100, "renewAfterMax must be >= 100 ms");
    require(coalesceMs >= 0 && coalesceMs <= 1000, "coalesceMs must be 0..1000");
    require(chunksInFlight >= 0 && chunksInFlight <= 1000, "chunksInFlight must be 0..1000");
    require(cancelMemory > 0, "cancelMemory must be > 0");
    require(cancelTtl.toMillis() > 0, "cancelTtl must be > 0");
    require(heartbeatInterval.toMillis() >= 100, "heartbeatInterval must be >= 100 ms");
    require(kafkaSilenceLimit.compareTo(heartbeatInterval.multipliedBy(2)) >= 0,
        "kafkaSilenceLimit must be at least twice heartbeatInterval");
    require(!parkLanesAfter.isNegative(), "parkLanesAfter must be >= 0");
  }

  /** The defaults; those of the fields the YAML configuration has are {@link WorkerSettings#defaults()}'s. */
  public static WorkerOptions defaults() {
    return from(WorkerSettings.defaults());
  }

  /**
   * The fleet's {@code worker} settings (drain grace, both kinds of coalescing, the lanes' parking, the heartbeat
   * interval), the rest at their defaults (the Kafka silence limit at least four heartbeat intervals).
   */
  public static WorkerOptions from(WorkerSettings w) {
    return new WorkerOptions(Duration.ofMillis(w.drainGraceMs()), Duration.ofSeconds(10), w.coalesceMs(),
        w.chunksInFlight(), 100_000, Duration.ofMinutes(15), Duration.ofMillis(Math.max(20_000, 4 * w.heartbeatMs())),
        Duration.ofMillis(w.heartbeatMs()),
        Duration.ofMillis(w.parkLanesAfterMs()));
  }

  public WorkerOptions withDrainGrace(Duration d) {
    return new WorkerOptions(d, renewAfterMax, coalesceMs, chunksInFlight, cancelMemory, cancelTtl,
        kafkaSilenceLimit, heartbeatInterval, parkLanesAfter);
  }

  public WorkerOptions withRenewAfterMax(Duration d) {
    return new WorkerOptions(drainGrace, d, coalesceMs, chunksInFlight, cancelMemory, cancelTtl,
        kafkaSilenceLimit, heartbeatInterval, parkLanesAfter);
  }

  public WorkerOptions withCoalesceMs(long ms) {
    return new WorkerOptions(drainGrace, renewAfterMax, ms, chunksInFlight, cancelMemory, cancelTtl,
        kafkaSilenceLimit, heartbeatInterval, parkLanesAfter);
  }

  public WorkerOptions withChunksInFlight(int n) {
    return new WorkerOptions(drainGrace, renewAfterMax, coalesceMs, n, cancelMemory, cancelTtl,
        kafkaSilenceLimit, heartbeatInterval, parkLanesAfter);
  }

  public WorkerOptions withParkLanesAfter(Duration d) {
    return new WorkerOptions(drainGrace, renewAfterMax, coalesceMs, chunksInFlight, cancelMemory, cancelTtl,
        kafkaSilenceLimit, heartbeatInterval, d);
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException("worker options: " + message);
    }
  }
}
