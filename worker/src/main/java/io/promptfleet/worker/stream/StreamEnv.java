package io.promptfleet.worker.stream;

import io.vertx.core.Vertx;
import java.time.Clock;

/**
 * What every {@link CompletionCall} of one worker shares. Immutable; the parts are thread-safe.
 *
 * @param vertx        timers
 * @param publisher    reply, retry and fleet-event records
 * @param clock        wall-clock times in records
 * @param workerId     this worker's id, on fleet events
 * @param maxLineBytes longest SSE line accepted
 * @param meters       stream meters
 * @param coalesceMs   deltas arriving within this window go out as one chunk record; 0 = one record per delta
 * @param maxResultBytes the largest result record the producer takes ({@link ReplyPublisher#maxResultBytes}); a
 *                     larger one is answered {@code result_too_large}
 * @param chunksInFlight without a window: a stream's text waits while this many of its chunks are unacked, then goes
 *                     out as one chunk (adaptive coalescing, {@link ChunkSink}); 0 = every delta at once
 */
public record StreamEnv(Vertx vertx, ReplyPublisher publisher, Clock clock, String workerId,
    int maxLineBytes, StreamMeters meters, long coalesceMs, int maxResultBytes, int chunksInFlight) {

  /** Without adaptive coalescing. */
  public StreamEnv(Vertx vertx, ReplyPublisher publisher, Clock clock, String workerId, int maxLineBytes,
      StreamMeters meters, long coalesceMs, int maxResultBytes) {
    this(vertx, publisher, clock, workerId, maxLineBytes, meters, coalesceMs, maxResultBytes, 0);
  }

  /** With the bound of a producer of default settings. */
  public StreamEnv(Vertx vertx, ReplyPublisher publisher, Clock clock, String workerId, int maxLineBytes,
      StreamMeters meters, long coalesceMs) {
    this(vertx, publisher, clock, workerId, maxLineBytes, meters, coalesceMs,
        ReplyPublisher.maxResultBytes(java.util.Map.of()));
  }
}
