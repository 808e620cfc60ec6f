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
 */
public record WorkerSettings(String shareGroup, Integer slots, Integer lanes, Integer maxLineBytes,
    Integer httpPort, Long drainGraceMs, Integer coalesceMs, Integer chunksInFlight, Integer idleLanes,
    Long parkLanesAfterMs) {
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
  }

  public static WorkerSettings defaults() {
    return new WorkerSettings(null, null, null, null, null, null, null, null, null, null);
  }

  public WorkerSettings withHttpPort(int port) {
    return new WorkerSettings(shareGroup, slots, lanes, maxLineBytes, port, drainGraceMs, coalesceMs, chunksInFlight,
        idleLanes, parkLanesAfterMs);
  }
}
