package io.promptfleet.common.config;

/**
 * A worker's own settings.
 *
 * @param shareGroup     share group of the assignments topic (default promptfleet-workers)
 * @param slots          concurrent streams at most (default 256)
 * @param lanes          share consumers, each holding at most slots/lanes assignments at a time (default 16, at most
 *                       slots); a lane takes new work only when all it holds is done
 * @param maxLineBytes   longest SSE line accepted from a provider (default 1 MiB)
 * @param httpPort       port of /health and /metrics (default 8081; 0 = any free port)
 * @param drainGraceMs   on SIGTERM, how long streams in flight may run on before they are handed back to the share
 *                       group (default 30,000; the worker command's --grace overrides it)
 * @param coalesceMs     deltas arriving within this window are published as one chunk record (default 0 = one record
 *                       per delta; bench/worker/README.md has the trade-off)
 * @param chunksInFlight without a coalescing window: a stream's text deltas go out at once while fewer than this many
 *                       of its chunks wait for Kafka's ack, else they are held and sent as one chunk at the next ack
 *                       (default 1: adaptive coalescing; 0 = every delta its own record). Slow streams are unaffected;
 *                       a burst costs few records
 * @param idleLanes      lanes a worker keeps in the share group after {@code parkLanesAfterMs} without work; the others
 *                       leave it and rejoin when work comes (default min(2, lanes), 1..lanes; = lanes turns parking off)
 * @param parkLanesAfterMs how long a worker holds no assignment before its lanes beyond idleLanes leave the share
 *                       group (default 30,000; at least 1,000)
 * @param heartbeatMs    how often the worker writes its heartbeat to the fleet events (default 5,000;
 *                       {@value #MIN_HEARTBEAT_MS}..{@value #MAX_HEARTBEAT_MS}). Every worker and the dispatcher read
 *                       every heartbeat (N workers: N / interval events a second, each read N + 1 times); a redelivered
 *                       assignment of a worker that died waits until it has been silent for {@link #heardWithinMs}
 *                       (2 × interval + 1 s), and the dispatcher's {@code successors_listen_ms} defaults to that too.
 *                       One value for the whole fleet: a worker judges the others' silence by its own interval
 */
public record WorkerSettings(String shareGroup, Integer slots, Integer lanes, Integer maxLineBytes,
    Integer httpPort, Long drainGraceMs, Integer coalesceMs, Integer chunksInFlight, Integer idleLanes,
    Long parkLanesAfterMs, Long heartbeatMs) {
  /** Fewest milliseconds between a worker's heartbeats: below it the fleet events are mostly heartbeats. */
  public static final long MIN_HEARTBEAT_MS = 500;
  /**
   * Most milliseconds between a worker's heartbeats: the dispatcher's board forgets a worker after a minute without
   * one, four of these.
   */
  public static final long MAX_HEARTBEAT_MS = 15_000;
  /** Milliseconds between a worker's heartbeats unless {@code worker.heartbeat_ms} says otherwise. */
  public static final long DEFAULT_HEARTBEAT_MS = 5_000;

  public WorkerSettings {
    shareGroup = shareGroup == null ? "promptfleet-workers" : shareGroup;
    slots = slots == null ? 256 : slots;
    lanes = lanes == null ? Math.min(16, slots) : lanes;
    maxLineBytes = maxLineBytes == null ? 1 << 20 : maxLineBytes;
    httpPort = httpPort == null ? 8081 : httpPort;
    drainGraceMs = drainGraceMs == null ? 30_000L : drainGraceMs;
    coalesceMs = coalesceMs == null ? 0 : coalesceMs;
    chunksInFlight = chunksInFlight == null ? 1 : chunksInFlight;
    idleLanes = idleLanes == null ? Math.min(2, lanes) : idleLanes;
    parkLanesAfterMs = parkLanesAfterMs == null ? 30_000L : parkLanesAfterMs;
    heartbeatMs = heartbeatMs == null ? DEFAULT_HEARTBEAT_MS : heartbeatMs;
    ConfigException.require(slots > 0, "worker.slots must be > 0");
    ConfigException.require(lanes > 0 && lanes <= slots, "worker.lanes must be > 0 and <= worker.slots");
    ConfigException.require(maxLineBytes >= 1024, "worker.max_line_bytes must be >= 1024");
    ConfigException.require(httpPort >= 0 && httpPort < 65536, "worker.http_port must be 0..65535");
    ConfigException.require(drainGraceMs >= 0, "worker.drain_grace_ms must be >= 0");
    ConfigException.require(coalesceMs >= 0 && coalesceMs <= 1000, "worker.coalesce_ms must be 0..1000");
    ConfigException.require(chunksInFlight >= 0 && chunksInFlight <= 1000, "worker.chunks_in_flight must be 0..1000");
    ConfigException.require(idleLanes >= 1 && idleLanes <= lanes,
        "worker.idle_lanes must be >= 1 and <= worker.lanes (" + lanes + ")");
    ConfigException.require(parkLanesAfterMs >= 1_000, "worker.park_lanes_after_ms must be >= 1000");
    ConfigException.require(heartbeatMs >= MIN_HEARTBEAT_MS && heartbeatMs <= MAX_HEARTBEAT_MS,
        "worker.heartbeat_ms must be " + MIN_HEARTBEAT_MS + ".." + MAX_HEARTBEAT_MS + " (was " + heartbeatMs + ")");
  }

  /**
   * How lately a worker must have been heard from (any fleet event) for its claim on a lease delivered again to count:
   * two heartbeat intervals and a second (a heartbeat may come late by up to an interval, plus the workers' clocks).
   * Also the shortest {@code dispatcher.successors_listen_ms} that hears every live worker.
   */
  public long heardWithinMs() {
    return heardWithinMs(heartbeatMs);
  }

  /** {@link #heardWithinMs()} for workers beating every {@code heartbeatMs}: the one definition of the rule. */
  public static long heardWithinMs(long heartbeatMs) {
    return 2 * heartbeatMs + 1_000;
  }

  public static WorkerSettings defaults() {
    return new WorkerSettings(null, null, null, null, null, null, null, null, null, null, null);
  }

  public WorkerSettings withHttpPort(int port) {
    return new WorkerSettings(shareGroup, slots, lanes, maxLineBytes, port, drainGraceMs, coalesceMs, chunksInFlight,
        idleLanes, parkLanesAfterMs, heartbeatMs);
  }
}
