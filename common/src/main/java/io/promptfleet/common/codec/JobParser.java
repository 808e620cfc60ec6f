package io.promptfleet.common.codec;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.job.ChatMessage;
import io.promptfleet.common.job.Job;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns the bytes of a job record into a {@link Job}, or into a {@link Rejection} whose reason names the bad
 * field. Never throws on bad input. Thread-safe.
 *
 * <p>Where a rejected record still has a readable {@code job_id} (and {@code reply_to}), the rejection carries
 * them so the caller can answer with a {@code rejected} result.
 */
public final class JobParser {
  /** Sampling and tool fields passed through to the provider untouched. */
  public static final Set<String> PASS_THROUGH = Set.of(
      "temperature", "top_p", "stop", "seed", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs",
      "top_logprobs", "user", "response_format", "tools", "tool_choice", "parallel_tool_calls",
      "reasoning_effort", "service_tier", "modalities", "prediction", "top_k", "min_p", "repetition_penalty");
  /** Fields a job must never carry: the fleet owns keys and endpoints. */
  public static final Set<String> FORBIDDEN = Set.of(
      "api_key", "apikey", "key", "secret", "authorization", "base_url", "url", "endpoint", "headers");
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
   */
  public record Rejection(String reason, String jobId, String replyTo, JsonNode metadata) implements Parsed {}

  public Parsed parse(byte[] value) {
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
    for (String f : FORBIDDEN) {
      if (o.has(f)) {
        problems.add(f + " is not allowed in a job: keys and endpoints are configured in the fleet");
      }
    }
    String model = text(o, "model");
    if (model == null || model.isBlank()) {
      problems.add(o.has("model") ? "model must be a non-empty string" : "model is missing");
    }
    List<ChatMessage> messages = messages(o.get("messages"), problems);
    Integer maxTokens = null;
    JsonNode mt = o.has("max_tokens") ? o.get("max_tokens") : o.get("max_completion_tokens");
    if (mt != null && !mt.isNull()) {
      if (!mt.isIntegralNumber() || mt.asLong() <= 0 || mt.asLong() > Integer.MAX_VALUE) {
        problems.add("max_tokens must be a positive integer");
      } else {
        maxTokens = mt.intValue();
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
    if (o.has("stream") && !o.get("stream").isBoolean()) {
      problems.add("stream must be a boolean (the fleet always streams)");
    }
    if (o.has("n") && !(o.get("n").isIntegralNumber() && o.get("n").intValue() == 1)) {
      problems.add("n must be 1: one job is one completion");
    }
    Map<String, JsonNode> params = new LinkedHashMap<>();
    for (String p : PASS_THROUGH) {
      JsonNode v = o.get(p);
      if (v != null && !v.isNull()) {
        params.put(p, v);
      }
    }
    if (!problems.isEmpty()) {
      return new Rejection(String.join("; ", problems), jobId, replyTo, metadata);
    }
    return new Accepted(new Job(jobId, model, messages, maxTokens, replyTo, deadline, ttlMs, tenant, metadata,
        params));
  }

  private static List<ChatMessage> messages(JsonNode node, List<String> problems) {
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
      boolean hasToolCalls = m.has("tool_calls") && m.get("tool_calls").isArray();
      if (content == null || content.isNull()) {
        if (!hasToolCalls) {
          problems.add(at + ".content is missing");
        }
      } else if (!content.isTextual() && !content.isArray()) {
        problems.add(at + ".content must be a string or an array of content parts");
      }
      out.add(new ChatMessage(role, content, text(m, "name"), text(m, "tool_call_id"), m.get("tool_calls")));
    }
    return out;
  }

  private static String text(JsonNode o, String field) {
    JsonNode v = o.get(field);
    return v != null && v.isTextual() ? v.textValue() : null;
  }
}
