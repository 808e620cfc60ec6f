package io.promptfleet.simulator.internal;

import io.promptfleet.simulator.BatchBehaviour;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.List;

/**
 * One simulated Anthropic Message Batch: {@code in_progress} for {@link BatchBehaviour#inProgressMs()} (counted
 * from creation, as Anthropic validates a batch when it is created), then {@code ended}; after a cancel {@code
 * canceling} for {@link BatchBehaviour#cancellingMs()}, then {@code ended} with the unanswered requests {@code
 * canceled}; requests still unanswered at the end of the window end {@code expired}. Request counts stay at {@code
 * processing} until the batch has ended, as Anthropic documents. State is computed from the clock when read.
 *
 * <p>Thread-safe: every method is synchronized on the batch.
 */
final class MessageBatch {

  final String id;
  private final long createdMs;
  private final BatchBehaviour behaviour;
  private final List<BatchLine> lines;
  private long cancelMs = Long.MAX_VALUE;

  MessageBatch(String id, long createdMs, BatchBehaviour behaviour, List<BatchLine> lines) {
    this.id = id;
    this.createdMs = createdMs;
    this.behaviour = behaviour;
    this.lines = List.copyOf(lines);
  }

  private BatchTimeline timeline() {
    return new BatchTimeline(behaviour, createdMs, cancelMs);
  }

  /** When the batch ends: when processing stops, plus the time a cancel takes. */
  private long endedMs() {
    BatchTimeline t = timeline();
    return t.stopMs() + (t.end() == BatchTimeline.End.CANCELLED ? behaviour.cancellingMs() : 0);
  }

  synchronized String status(long nowMs) {
    if (nowMs >= endedMs()) {
      return "ended";
    }
    return cancelMs <= nowMs ? "canceling" : "in_progress";
  }

  /** Asks to cancel: accepted (true) while in progress or already canceling; false once ended. */
  synchronized boolean cancel(long nowMs) {
    String status = status(nowMs);
    if (status.equals("in_progress")) {
      cancelMs = nowMs;
    }
    return !status.equals("ended");
  }

  /** The {@code message_batch} object at {@code nowMs}; {@code resultsUrl} once it has ended. */
  synchronized JsonObject toJson(long nowMs, String resultsUrl) {
    boolean ended = status(nowMs).equals("ended");
    JsonObject counts = new JsonObject().put("processing", ended ? 0 : lines.size());
    int succeeded = 0;
    int errored = 0;
    int unanswered = 0;
    if (ended) {
      int done = timeline().finished(lines.size(), nowMs);
      for (int i = 0; i < done; i++) {
        if (lines.get(i).succeeded()) {
          succeeded++;
        } else {
          errored++;
        }
      }
      unanswered = lines.size() - done;
    }
    boolean cancelled = timeline().end() == BatchTimeline.End.CANCELLED;
    counts.put("succeeded", succeeded).put("errored", errored).put("canceled", cancelled ? unanswered : 0)
        .put("expired", cancelled ? 0 : unanswered);
    return new JsonObject().put("id", id).put("type", "message_batch").put("processing_status", status(nowMs))
        .put("request_counts", counts)
        .put("ended_at", ended ? time(endedMs()) : null)
        .put("created_at", time(createdMs))
        .put("expires_at", time(createdMs + behaviour.windowMs()))
        .putNull("archived_at")
        .put("cancel_initiated_at", cancelMs == Long.MAX_VALUE ? null : time(cancelMs))
        .put("results_url", ended ? resultsUrl : null);
  }

  /** The results file once ended ({@code null} before): one line per request, in input order. */
  synchronized String results(long nowMs) {
    if (!status(nowMs).equals("ended")) {
      return null;
    }
    BatchTimeline t = timeline();
    int done = t.finished(lines.size(), nowMs);
    String unanswered = t.end() == BatchTimeline.End.CANCELLED ? "canceled" : "expired";
    StringBuilder out = new StringBuilder(lines.size() * 256);
    for (int i = 0; i < lines.size(); i++) {
      BatchLine l = lines.get(i);
      if (i < done) {
        out.append(l.line());
      } else {
        out.append(new JsonObject().put("custom_id", l.customId())
            .put("result", new JsonObject().put("type", unanswered)).encode());
      }
      out.append('\n');
    }
    return out.toString();
  }

  /** RFC 3339 with microseconds, as Anthropic writes its times (e.g. {@code 2024-08-20T18:37:24.100435Z}). */
  private static String time(long ms) {
    Instant i = Instant.ofEpochMilli(ms);
    return String.format("%s.%06dZ", i.toString().substring(0, 19), (ms % 1000) * 1000);
  }
}
