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
 */
public record StreamEnv(Vertx vertx, ReplyPublisher publisher, Clock clock, String workerId,
    int maxLineBytes, StreamMeters meters, long coalesceMs) {}
