package io.promptfleet.common.job;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A prompt job as a producer writes it to a job topic ({@code llm.jobs.high|normal|low}).
 *
 * <p>Immutable and thread-safe. A job never carries an API key or a base URL: the fleet owns both.
 *
 * @param jobId     producer-chosen id, the idempotency key and the key of every reply record
 * @param model     a model (or route) name from the configuration
 * @param messages  the chat messages, at least one
 * @param maxTokens the completion budget; optional (the route's default applies)
 * @param replyTo   the reply topic; optional (the configured default applies); must match the allow-list
 * @param deadline  absolute deadline; optional
 * @param ttlMs     deadline relative to the record's timestamp; optional
 * @param tenant    optional tenant, limits the job to the tenant's key pool
 * @param metadata  anything, echoed back on the result
 * @param params    sampling fields passed through to the provider (temperature, top_p, stop, seed, ...)
 */
public record Job(
    String jobId,
    String model,
    List<ChatMessage> messages,
    Integer maxTokens,
    String replyTo,
    Instant deadline,
    Long ttlMs,
    String tenant,
    JsonNode metadata,
    Map<String, JsonNode> params) {

  public Job {
    messages = messages == null ? List.of() : List.copyOf(messages);
    params = params == null ? Map.of() : Map.copyOf(params);
  }

  /** The deadline of this job given the timestamp of the record that carried it, or null for none. */
  public Instant effectiveDeadline(Instant recordTime) {
    Instant fromTtl = ttlMs == null ? null : recordTime.plusMillis(ttlMs);
    if (deadline == null) {
      return fromTtl;
    }
    return fromTtl == null || deadline.isBefore(fromTtl) ? deadline : fromTtl;
  }

  public Job withReplyTo(String topic) {
    return new Job(jobId, model, messages, maxTokens, topic, deadline, ttlMs, tenant, metadata, params);
  }
}
