package io.promptfleet.simulator.internal;

import io.promptfleet.simulator.BatchBehaviour;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Function;

/**
 * One simulated OpenAI batch: {@code validating} until its lines are read and {@link BatchBehaviour#validatingMs()}
 * has passed, then {@code failed} (a line was invalid: {@code errors.data}) or {@code in_progress}; then {@code
 * finalizing} and {@code completed}, or {@code expired} at the end of its window, or {@code cancelling} and {@code
 * cancelled} after a cancel. Its state is computed from the clock whenever it is read (no timers); the output and
 * error files are written the first time it is seen ended.
 *
 * <p>Thread-safe: every method is synchronized on the batch; none blocks beyond building its files.
 */
final class OpenAiBatch {

  static final String EXPIRED_MESSAGE = "This request could not be executed before the completion window expired.";
  static final String CANCELLED_MESSAGE = "This request was not executed because the batch was cancelled.";

  final String id;
  private final String endpoint;
  private final String inputFileId;
  private final Object metadata;
  private final long createdMs;
  private final BatchBehaviour behaviour;

  private boolean read;
  private long readMs;
  private String model;
  private JsonArray validationErrors;
  private List<BatchLine> lines = List.of();
  private long cancelMs = Long.MAX_VALUE;
  private boolean filesWritten;
  private String outputFileId;
  private String errorFileId;

  OpenAiBatch(String id, String endpoint, String inputFileId, Object metadata, long createdMs,
      BatchBehaviour behaviour) {
    this.id = id;
    this.endpoint = endpoint;
    this.inputFileId = inputFileId;
    this.metadata = metadata;
    this.createdMs = createdMs;
    this.behaviour = behaviour;
  }

  /** The input file has been read: its lines answered, or the validation errors that fail the batch. */
  synchronized void read(long nowMs, String firstModel, List<BatchLine> answered, JsonArray errors) {
    read = true;
    readMs = nowMs;
    model = firstModel;
    lines = List.copyOf(answered);
    validationErrors = errors == null || errors.isEmpty() ? null : errors;
  }

  /**
   * Asks to cancel at {@code nowMs}: accepted (null) while validating or in progress, and again while cancelling or
   * cancelled; else the status that refuses it.
   */
  synchronized String cancel(long nowMs) {
    String status = status(nowMs);
    if (status.equals("validating") || status.equals("in_progress")) {
      cancelMs = nowMs;
      return null;
    }
    return status.equals("cancelling") || status.equals("cancelled") ? null : status;
  }

  private long validatedMs() {
    return Math.max(createdMs + behaviour.validatingMs(), readMs);
  }

  private boolean cancelledWhileValidating() {
    return cancelMs != Long.MAX_VALUE && (!read || cancelMs < validatedMs());
  }

  private BatchTimeline timeline() {
    return new BatchTimeline(behaviour, validatedMs(), cancelMs);
  }

  /** The status at {@code nowMs}. */
  synchronized String status(long nowMs) {
    if (cancelledWhileValidating()) {
      return nowMs < cancelMs + behaviour.cancellingMs() ? "cancelling" : "cancelled";
    }
    if (!read || nowMs < validatedMs()) {
      return "validating";
    }
    if (validationErrors != null) {
      return "failed";
    }
    BatchTimeline t = timeline();
    long stop = t.stopMs();
    return switch (t.end()) {
      case DONE -> nowMs < stop ? "in_progress" : nowMs < stop + behaviour.finalizingMs() ? "finalizing" : "completed";
      case EXPIRED -> nowMs < stop ? "in_progress" : "expired";
      case CANCELLED -> nowMs < stop ? "in_progress"
          : nowMs < stop + behaviour.cancellingMs() ? "cancelling" : "cancelled";
    };
  }

  /**
   * The {@code batch} object at {@code nowMs}, in OpenAI's shape (every field, null where not reached);
   * {@code store} keeps the output and error files, written when the batch is first seen ended.
   */
  synchronized JsonObject toJson(long nowMs, Function<SimFile, String> store) {
    String status = status(nowMs);
    boolean ended = status.equals("completed") || status.equals("expired") || status.equals("cancelled");
    if (ended && !filesWritten) {
      writeFiles(nowMs, status, store);
    }
    JsonObject json = new JsonObject().put("id", id).put("object", "batch").put("endpoint", endpoint)
        .put("model", model);
    if (validationErrors != null && status.equals("failed")) {
      json.put("errors", new JsonObject().put("object", "list").put("data", validationErrors));
    } else {
      json.putNull("errors");
    }
    json.put("input_file_id", inputFileId).put("completion_window", "24h").put("status", status)
        .put("output_file_id", outputFileId).put("error_file_id", errorFileId)
        .put("created_at", createdMs / 1000);
    boolean validating = !read || nowMs < validatedMs() || cancelledWhileValidating();
    BatchTimeline t = timeline();
    long stop = t.stopMs();
    boolean started = !validating && validationErrors == null;
    put(json, "in_progress_at", started, validatedMs());
    json.put("expires_at", (createdMs + behaviour.windowMs()) / 1000);
    put(json, "finalizing_at", started && t.end() == BatchTimeline.End.DONE && nowMs >= stop, stop);
    put(json, "completed_at", status.equals("completed"), stop + behaviour.finalizingMs());
    put(json, "failed_at", status.equals("failed"), validatedMs());
    put(json, "expired_at", status.equals("expired"), stop);
    long cancelAt = cancelledWhileValidating() ? cancelMs : stop;
    boolean cancelling = status.equals("cancelling") || status.equals("cancelled");
    put(json, "cancelling_at", cancelling, cancelAt);
    put(json, "cancelled_at", status.equals("cancelled"), cancelAt + behaviour.cancellingMs());
    int total = started ? lines.size() : 0;
    int done = started ? t.finished(lines.size(), nowMs) : 0;
    int failedDone = 0;
    long in = 0;
    long cached = 0;
    long out = 0;
    long reasoning = 0;
    for (int i = 0; i < done; i++) {
      BatchLine l = lines.get(i);
      failedDone += l.succeeded() ? 0 : 1;
      in += l.inputTokens();
      cached += l.cachedTokens();
      out += l.outputTokens();
      reasoning += l.reasoningTokens();
    }
    // expired or cancelled requests count as failed once the batch has ended
    int unanswered = ended && !status.equals("completed") ? total - done : 0;
    json.put("request_counts", new JsonObject().put("total", total).put("completed", done - failedDone)
        .put("failed", failedDone + unanswered));
    json.put("usage", new JsonObject().put("input_tokens", in)
        .put("input_tokens_details", new JsonObject().put("cached_tokens", cached)).put("output_tokens", out)
        .put("output_tokens_details", new JsonObject().put("reasoning_tokens", reasoning))
        .put("total_tokens", in + out));
    json.put("metadata", metadata);
    return json;
  }

  private void writeFiles(long nowMs, String status, Function<SimFile, String> store) {
    filesWritten = true;
    int done = timeline().finished(lines.size(), nowMs);
    StringBuilder output = new StringBuilder();
    StringBuilder errors = new StringBuilder();
    for (int i = 0; i < lines.size(); i++) {
      BatchLine l = lines.get(i);
      if (i < done) {
        (l.succeeded() ? output : errors).append(l.line()).append('\n');
      } else {
        boolean expired = status.equals("expired");
        errors.append(new JsonObject().put("id", requestId(i)).put("custom_id", l.customId()).putNull("response")
            .put("error", new JsonObject().put("code", expired ? "batch_expired" : "batch_cancelled")
                .put("message", expired ? EXPIRED_MESSAGE : CANCELLED_MESSAGE)).encode()).append('\n');
      }
    }
    if (!output.isEmpty()) {
      outputFileId = store.apply(new SimFile(null, "batch_output", id + "_output.jsonl",
          output.toString().getBytes(StandardCharsets.UTF_8), nowMs));
    }
    if (!errors.isEmpty()) {
      errorFileId = store.apply(new SimFile(null, "batch_output", id + "_error.jsonl",
          errors.toString().getBytes(StandardCharsets.UTF_8), nowMs));
    }
  }

  /** The {@code id} of line {@code i}'s output line ({@code batch_req_…}). */
  String requestId(int i) {
    return "batch_req_" + id.substring("batch_".length()) + String.format("%06x", i);
  }

  private static void put(JsonObject json, String field, boolean reached, long ms) {
    if (reached) {
      json.put(field, ms / 1000);
    } else {
      json.putNull(field);
    }
  }
}
