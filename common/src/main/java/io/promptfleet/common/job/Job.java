package io.promptfleet.common.job;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A prompt job as a producer writes it to a job topic ({@code llm.jobs.high|normal|low}).
 *
 * <p>Immutable and thread-safe. A job never carries an API key or a base URL: the fleet owns both.
 *
 * @param jobId     producer-chosen id, the idempotency key and the key of every reply record
 * @param model     a model (or route) name from the configuration
 * @param messages  the chat messages, at least one (none for an embeddings job)
 * @param maxTokens the completion limit the job set ({@code max_completion_tokens} or {@code max_tokens}, the larger
 *                  when both), used for token reservations; the field itself travels in {@code params} as the
 *                  producer wrote it. Optional: then the worker sends the route's default in the route's field
 *                  ({@link Route#defaultMaxTokens()}), and the job stays as written
 * @param replyTo   the reply topic; optional (the configured default applies); must match the allow-list
 * @param deadline  absolute deadline; optional
 * @param ttlMs     deadline relative to the record's timestamp; optional
 * @param tenant    optional tenant, limits the job to the tenant's key pool; with {@code tenants} configured the
 *                  fleet establishes it from the job topic (a job on a tenant's topic may leave it out or must name
 *                  that tenant; a job on the shared topics must leave it out)
 * @param metadata  anything, echoed back on the result
 * @param params    every other request field, passed through to the provider as given (temperature, tools,
 *                  response_format, max_completion_tokens, reasoning_effort, provider extensions, ...; for an
 *                  embeddings job dimensions, encoding_format, user, ...)
 * @param endpoint  the OpenAI endpoint the job is written for; null reads as {@link Endpoint#CHAT_COMPLETIONS}
 * @param input     an {@link Endpoint#EMBEDDINGS} job's input as given: a string, an array of strings, an array of
 *                  token ids or an array of token-id arrays; null for a chat job (whose {@code messages} are then
 *                  empty for an embeddings job)
 * @param batch     {@link BatchPolicy#ALLOW} when the producer lets the job wait for a provider's batch API (the
 *                  job's {@code "batch": "allow"}); null for {@link BatchPolicy#NEVER}, the default, so that a job
 *                  that does not ask for batching is written to Kafka as before
 */
public record Job(
    String jobId,
    String model,
    List<ChatMessage> messages,
    @Nullable Integer maxTokens,
    @Nullable String replyTo,
    @Nullable Instant deadline,
    @Nullable Long ttlMs,
    @Nullable String tenant,
    @Nullable JsonNode metadata,
    Map<String, JsonNode> params,
    Endpoint endpoint,
    @Nullable JsonNode input,
    @Nullable BatchPolicy batch) {

  /** The classic completion limit field; OpenAI's reasoning models reject it. */
  public static final String MAX_TOKENS = "max_tokens";
  /** The completion limit field of OpenAI's current API (reasoning tokens included). */
  public static final String MAX_COMPLETION_TOKENS = "max_completion_tokens";

  public Job {
    messages = messages == null ? List.of() : List.copyOf(messages);
    params = params == null ? Map.of() : Map.copyOf(params);
    endpoint = endpoint == null ? Endpoint.CHAT_COMPLETIONS : endpoint;
    batch = batch == BatchPolicy.NEVER ? null : batch;
  }

  /** A job that runs live (the form before batch policies existed). */
  public Job(String jobId, String model, List<ChatMessage> messages, @Nullable Integer maxTokens,
      @Nullable String replyTo, @Nullable Instant deadline, @Nullable Long ttlMs, @Nullable String tenant,
      @Nullable JsonNode metadata, Map<String, JsonNode> params, Endpoint endpoint, @Nullable JsonNode input) {
    this(jobId, model, messages, maxTokens, replyTo, deadline, ttlMs, tenant, metadata, params, endpoint, input, null);
  }

  /** A chat completions job. */
  public Job(String jobId, String model, List<ChatMessage> messages, @Nullable Integer maxTokens,
      @Nullable String replyTo, @Nullable Instant deadline, @Nullable Long ttlMs, @Nullable String tenant,
      @Nullable JsonNode metadata, Map<String, JsonNode> params) {
    this(jobId, model, messages, maxTokens, replyTo, deadline, ttlMs, tenant, metadata, params,
        Endpoint.CHAT_COMPLETIONS, null, null);
  }

  /** Whether the producer lets this job wait for a provider's batch API ({@code "batch": "allow"}). */
  @JsonIgnore
  public boolean batchAllowed() {
    return batch == BatchPolicy.ALLOW;
  }

  /** Whether this is an embeddings job: one result with the vectors, no chunks, no completion tokens. */
  @JsonIgnore
  public boolean isEmbeddings() {
    return endpoint == Endpoint.EMBEDDINGS;
  }

  /** The deadline of this job given the timestamp of the record that carried it, or null for none. */
  public @Nullable Instant effectiveDeadline(Instant recordTime) {
    Instant fromTtl = ttlMs == null ? null : recordTime.plusMillis(ttlMs);
    if (deadline == null) {
      return fromTtl;
    }
    return fromTtl == null || deadline.isBefore(fromTtl) ? deadline : fromTtl;
  }

  /** Whether the producer set a completion limit in either field. */
  public boolean setsTokenLimit() {
    return params.containsKey(MAX_TOKENS) || params.containsKey(MAX_COMPLETION_TOKENS);
  }

  public Job withReplyTo(@Nullable String topic) {
    return new Job(jobId, model, messages, maxTokens, topic, deadline, ttlMs, tenant, metadata, params, endpoint,
        input, batch);
  }

  /** This job with the tenant the fleet established for it (from the topic it was read from). */
  public Job withTenant(@Nullable String t) {
    return new Job(jobId, model, messages, maxTokens, replyTo, deadline, ttlMs, t, metadata, params, endpoint, input,
        batch);
  }
}
