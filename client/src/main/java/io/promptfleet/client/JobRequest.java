package io.promptfleet.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Priority;
import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * A job to submit, built fluently: {@code JobRequest.prompt("hello").model("gpt-4o-mini").maxTokens(64)}.
 * Immutable once built; thread-safe.
 */
public final class JobRequest {
  private final String jobId;
  private final Priority priority;
  private final ObjectNode body;

  private JobRequest(String jobId, Priority priority, ObjectNode body) {
    this.jobId = jobId;
    this.priority = priority;
    this.body = body;
  }

  /** A job with one user message and a random job id. */
  public static Builder prompt(String userMessage) {
    Builder b = new Builder();
    b.body.putArray("messages").addObject().put("role", "user").put("content", userMessage);
    return b;
  }

  /** A job with the given OpenAI-style messages array. */
  public static Builder messages(JsonNode messages) {
    Builder b = new Builder();
    b.body.set("messages", messages.deepCopy());
    return b;
  }

  public String jobId() {
    return jobId;
  }

  public Priority priority() {
    return priority;
  }

  /** The job as it goes on the wire, with reply_to set to the client's reply topic. */
  byte[] toBytes(String replyTo, String defaultModel) {
    ObjectNode o = body.deepCopy();
    o.put("job_id", jobId);
    o.put("reply_to", replyTo);
    if (!o.hasNonNull("model")) {
      if (defaultModel == null) {
        throw new IllegalArgumentException("job " + jobId + " has no model and the client has no default model");
      }
      o.put("model", defaultModel);
    }
    return Json.bytes(o);
  }

  /** Builds a {@link JobRequest}. Not thread-safe. */
  public static final class Builder {
    private final ObjectNode body = Json.mapper().createObjectNode();
    private String jobId = UUID.randomUUID().toString();
    private Priority priority = Priority.NORMAL;

    /** The idempotency key; submitting the same id again while it runs returns the same future. */
    public Builder jobId(String id) {
      this.jobId = Objects.requireNonNull(id, "jobId");
      return this;
    }

    public Builder model(String model) {
      body.put("model", model);
      return this;
    }

    public Builder maxTokens(int maxTokens) {
      body.put("max_tokens", maxTokens);
      return this;
    }

    public Builder priority(Priority p) {
      this.priority = Objects.requireNonNull(p, "priority");
      return this;
    }

    public Builder deadline(Instant deadline) {
      body.put("deadline", deadline.toString());
      return this;
    }

    public Builder tenant(String tenant) {
      body.put("tenant", tenant);
      return this;
    }

    public Builder metadata(JsonNode metadata) {
      body.set("metadata", metadata);
      return this;
    }

    /** Any other field passed to the provider: temperature, top_p, stop, seed, response_format, tools, ... */
    public Builder param(String name, JsonNode value) {
      body.set(name, value);
      return this;
    }

    public JobRequest build() {
      return new JobRequest(jobId, priority, body.deepCopy());
    }
  }
}
