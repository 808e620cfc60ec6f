package io.promptfleet.common.codec;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.job.BatchPolicy;
import io.promptfleet.common.job.ChatMessage;
import io.promptfleet.common.job.Endpoint;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.Job;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Turns the bytes of a job record into a {@link Job}, or into a {@link Rejection} whose reason names the bad
 * field. Never throws on bad input. Thread-safe.
 *
 * <p>Where a rejected record still has a readable {@code job_id} (and {@code reply_to}), the rejection carries
 * them so the caller can answer with a {@code rejected} result.
 */
public final class JobParser {
  /** The fleet's own fields of a job: read by the fleet, never sent to a provider as they are. */
  public static final Set<String> OWN_FIELDS = Set.of(
      "job_id", "model", "messages", "reply_to", "deadline", "ttl_ms", "tenant", "metadata", "stream", "endpoint",
      "input", "batch");
  /**
   * Fields a job must never carry, because they would redirect a request, authenticate it or change its
   * transport: the fleet owns keys, endpoints and headers. A job with one is rejected, naming it. Every other field
   * is passed to the provider as given.
   */
  public static final Set<String> FORBIDDEN = Set.of(
      "api_key", "apikey", "key", "secret", "authorization", "base_url", "api_base", "url", "headers",
      "extra_headers", "extra_query", "extra_body", "api_version", "organization", "project");
  private static final Set<String> MESSAGE_FIELDS = Set.of("role", "content", "name", "tool_call_id", "tool_calls");
  private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");
  private static final int MAX_JOB_ID_LENGTH = 256;

  private final int maxRecordBytes;

  /** @param maxRecordBytes records larger than this are rejected before parsing */
  public JobParser(int maxRecordBytes) {
    if (maxRecordBytes <= 0) {
      throw new IllegalArgumentException("maxRecordBytes must be > 0");
    }
    this.maxRecordBytes = maxRecordBytes;
  }

  /** The outcome of parsing one record. */
  public sealed interface Parsed permits Accepted, Rejection {}

  /** A well-formed job. */
  public record Accepted(Job job) implements Parsed {}

  /**
   * A record that is not a valid job.
   *
   * @param reason  what is wrong, naming the field
   * @param jobId   the job_id if one could be read, else null
   * @param replyTo the reply_to if one could be read, else null
   * @param metadata the metadata if it could be read, else null
   * @param code     {@link ErrorCodes#FIELD_NOT_ALLOWED} when the job carries a forbidden field, else
   *                 {@link ErrorCodes#INVALID_JOB}
   */
  public record Rejection(String reason, @Nullable String jobId, @Nullable String replyTo, @Nullable JsonNode metadata,
      String code)
      implements Parsed {
    public Rejection(String reason, @Nullable String jobId, @Nullable String replyTo, @Nullable JsonNode metadata) {
      this(reason, jobId, replyTo, metadata, ErrorCodes.INVALID_JOB);
    }
  }

  public Parsed parse(byte @Nullable [] value) {
    if (value == null || value.length == 0) {
      return new Rejection("empty record: a job is a JSON object", null, null, null);
    }
    if (value.length > maxRecordBytes) {
      return new Rejection("record of " + value.length + " bytes exceeds the limit of " + maxRecordBytes
          + " bytes", null, null, null);
    }
    JsonNode root;
    try {
      root = Json.mapper().readTree(value);
    } catch (JsonProcessingException e) {
      return new Rejection("not JSON: " + e.getOriginalMessage(), null, null, null);
    } catch (IOException e) {
      return new Rejection("not JSON: " + e.getMessage(), null, null, null);
    }
    if (root == null || !root.isObject()) {
      return new Rejection("a job must be a JSON object", null, null, null);
    }
    return parse((ObjectNode) root);
  }

  private Parsed parse(ObjectNode o) {
    String jobId = text(o, "job_id");
    String replyTo = text(o, "reply_to");
    JsonNode metadata = o.get("metadata");
    List<String> problems = new ArrayList<>();

    if (jobId == null) {
      problems.add(o.has("job_id") ? "job_id must be a non-empty string" : "job_id is missing");
    } else if (jobId.isBlank()) {
      problems.add("job_id must be a non-empty string");
      jobId = null;
    } else if (jobId.length() > MAX_JOB_ID_LENGTH) {
      problems.add("job_id is longer than " + MAX_JOB_ID_LENGTH + " characters");
      jobId = null;
    }
    if (o.has("reply_to") && (replyTo == null || replyTo.isBlank())) {
      problems.add("reply_to must be a non-empty string");
      replyTo = null;
    }
    boolean forbidden = false;
    for (String f : new java.util.TreeSet<>(FORBIDDEN)) {
      if (o.has(f)) {
        forbidden = true;
        problems.add(f + " is not allowed in a job: keys, endpoints and headers are configured in the fleet");
      }
    }
    String model = text(o, "model");
    if (model == null || model.isBlank()) {
      problems.add(o.has("model") ? "model must be a non-empty string" : "model is missing");
    }
    Endpoint endpoint = endpoint(o.get("endpoint"), problems);
    boolean embeddings = endpoint == Endpoint.EMBEDDINGS;
    List<ChatMessage> messages = List.of();
    if (embeddings) {
      EmbeddingsFields.check(o, problems);
    } else {
      messages = messages(o.get("messages"), problems);
      if (o.has("input")) {
        problems.add("input is a field of /v1/embeddings jobs: a chat job sends messages (set endpoint to"
            + " /v1/embeddings to embed)");
      }
    }
    Integer maxTokens = null;
    for (String f : List.of(Job.MAX_TOKENS, Job.MAX_COMPLETION_TOKENS)) {
      JsonNode mt = o.get(f);
      if (mt != null && !mt.isNull()) {
        if (!mt.isIntegralNumber() || mt.asLong() <= 0 || mt.asLong() > Integer.MAX_VALUE) {
          problems.add(f + " must be a positive integer");
        } else if (maxTokens == null || mt.intValue() > maxTokens) {
          maxTokens = mt.intValue();
        }
      }
    }
    Instant deadline = null;
    JsonNode d = o.get("deadline");
    if (d != null && !d.isNull()) {
      try {
        deadline = d.isIntegralNumber() ? Instant.ofEpochMilli(d.longValue()) : Instant.parse(d.asText());
        if (!d.isIntegralNumber() && !d.isTextual()) {
          throw new DateTimeParseException("", "", 0);
        }
      } catch (DateTimeParseException e) {
        problems.add("deadline must be an ISO-8601 instant (2026-01-01T00:00:00Z) or epoch milliseconds");
      }
    }
    Long ttlMs = null;
    JsonNode ttl = o.has("ttl_ms") ? o.get("ttl_ms") : null;
    if (ttl != null && !ttl.isNull()) {
      if (!ttl.isIntegralNumber() || ttl.asLong() <= 0) {
        problems.add("ttl_ms must be a positive integer");
      } else {
        ttlMs = ttl.longValue();
      }
    }
    String tenant = null;
    JsonNode t = o.get("tenant");
    if (t != null && !t.isNull()) {
      if (!t.isTextual() || t.asText().isBlank()) {
        problems.add("tenant must be a non-empty string");
      } else {
        tenant = t.asText();
      }
    }
    JsonNode stream = o.get("stream");
    if (!embeddings && stream != null && !stream.isNull() && !(stream.isBoolean() && stream.booleanValue())) {
      problems.add("stream must be true or absent: the fleet streams every answer to the reply topic (a route"
          + " whose model does not stream is configured with stream: false)");
    }
    BatchPolicy batch = batch(o, problems);
    if (o.has("n") && !(o.get("n").isIntegralNumber() && o.get("n").intValue() == 1)) {
      problems.add("n must be 1: one job is one completion");
    }
    Map<String, JsonNode> params = new LinkedHashMap<>();
    o.fields().forEachRemaining(e -> {
      if (!OWN_FIELDS.contains(e.getKey()) && !FORBIDDEN.contains(e.getKey()) && !e.getValue().isNull()) {
        params.put(e.getKey(), e.getValue());
      }
    });
    JsonNode store = o.get("store");
    if (metadata != null && !metadata.isNull() && store != null && store.isBoolean() && store.booleanValue()) {
      // OpenAI's stored completions take metadata only with store: true; the fleet echoes it either way
      params.put("metadata", metadata);
    }
    if (!problems.isEmpty()) {
      return new Rejection(String.join("; ", problems), jobId, replyTo, metadata,
          forbidden ? ErrorCodes.FIELD_NOT_ALLOWED : ErrorCodes.INVALID_JOB);
    }
    return new Accepted(new Job(jobId, model, messages, maxTokens, replyTo, deadline, ttlMs, tenant, metadata,
        params, endpoint, embeddings ? o.get("input") : null, batch));
  }

  /**
   * The job's {@code batch} policy: {@code "allow"} or {@code "never"}, absent (or null) meaning never. A {@code
   * service_tier} of {@code "batch"} is named as a mistake: it is no live tier of any provider, and the fleet's own
   * field says the same thing.
   */
  private static @Nullable BatchPolicy batch(ObjectNode o, List<String> problems) {
    JsonNode tier = o.get("service_tier");
    if (tier != null && tier.isTextual() && tier.textValue().equals("batch")) {
      problems.add("service_tier \"batch\" is not a live service tier: set \"batch\": \"allow\" to let the fleet"
          + " send the job through a provider's batch API when its deadline allows");
    }
    JsonNode b = o.get("batch");
    if (b == null || b.isNull()) {
      return null;
    }
    BatchPolicy policy = b.isTextual() ? BatchPolicy.ofWire(b.textValue()) : null;
    if (policy == null) {
      problems.add("batch must be \"allow\" (the job may wait for a provider's batch API) or \"never\" (the"
          + " default), got " + b);
    }
    return policy;
  }

  /** The job's endpoint: chat completions when absent; a path the fleet does not serve is named. */
  private static @Nullable Endpoint endpoint(@Nullable JsonNode node, List<String> problems) {
    if (node == null || node.isNull()) {
      return Endpoint.CHAT_COMPLETIONS;
    }
    Endpoint e = node.isTextual() ? Endpoint.ofPath(node.textValue()) : null;
    if (e == null) {
      problems.add("endpoint " + node + " is not served by the fleet: one of " + Endpoint.paths()
          + " (absent: /v1/chat/completions)");
    }
    return e;
  }

  private static List<ChatMessage> messages(@Nullable JsonNode node, List<String> problems) {
    if (node == null || node.isNull()) {
      problems.add("messages is missing");
      return List.of();
    }
    if (!node.isArray() || node.isEmpty()) {
      problems.add("messages must be a non-empty array");
      return List.of();
    }
    List<ChatMessage> out = new ArrayList<>(node.size());
    for (int i = 0; i < node.size(); i++) {
      JsonNode m = node.get(i);
      String at = "messages[" + i + "]";
      if (!m.isObject()) {
        problems.add(at + " must be an object");
        continue;
      }
      String role = text(m, "role");
      if (role == null || !ROLES.contains(role)) {
        problems.add(at + ".role must be one of " + new java.util.TreeSet<>(ROLES));
      }
      JsonNode content = m.get("content");
      boolean answersWithoutContent = "assistant".equals(role) && (m.has("tool_calls") || m.has("function_call")
          || m.has("refusal") || m.has("audio"));
      if (content == null || content.isNull()) {
        if (!answersWithoutContent) {
          problems.add(at + ".content is missing");
        }
      } else if (content.isArray()) {
        for (int j = 0; j < content.size(); j++) {
          JsonNode part = content.get(j);
          if (!part.isObject() || !part.path("type").isTextual()) {
            problems.add(at + ".content[" + j + "] must be a content part: an object with a string type (text,"
                + " image_url, input_audio, file, ...)");
          }
        }
      } else if (!content.isTextual()) {
        problems.add(at + ".content must be a string or an array of content parts");
      }
      java.util.Map<String, JsonNode> extra = new LinkedHashMap<>();
      m.fields().forEachRemaining(e -> {
        if (!MESSAGE_FIELDS.contains(e.getKey())) {
          extra.put(e.getKey(), e.getValue());
        }
      });
      out.add(new ChatMessage(role, content, text(m, "name"), text(m, "tool_call_id"), m.get("tool_calls"), extra));
    }
    return out;
  }

  private static @Nullable String text(JsonNode o, String field) {
    JsonNode v = o.get(field);
    return v != null && v.isTextual() ? v.textValue() : null;
  }
}
