package io.promptfleet.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.JobParser;
import io.promptfleet.common.job.Endpoint;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Priority;
import java.time.Duration;
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

  /**
   * An embeddings job ({@code "endpoint": "/v1/embeddings"}) of the given input: a string, an array of strings, an
   * array of token ids or an array of token-id arrays. Its result carries the vectors ({@code Result.data()}), no
   * chunks; {@code dimensions}, {@code encoding_format} and {@code user} go in as {@link Builder#param}.
   */
  public static Builder embeddings(JsonNode input) {
    Builder b = new Builder();
    b.body.put("endpoint", Endpoint.EMBEDDINGS.path());
    b.body.set("input", input.deepCopy());
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
    return Json.bytes(toJson(replyTo, defaultModel));
  }

  /**
   * The job as it goes on the wire, as a copy: the fields set on the builder plus {@code job_id}, {@code reply_to}
   * and, when the job names none, {@code model}.
   *
   * @throws IllegalArgumentException when the job names no model and {@code defaultModel} is null
   */
  public ObjectNode toJson(String replyTo, String defaultModel) {
    ObjectNode o = body.deepCopy();
    o.put("job_id", jobId);
    o.put("reply_to", replyTo);
    if (!o.hasNonNull("model")) {
      if (defaultModel == null) {
        throw new IllegalArgumentException("job " + jobId + " has no model and the client has no default model");
      }
      o.put("model", defaultModel);
    }
    return o;
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

    /** {@code max_tokens}: the classic completion limit (see {@link #maxCompletionTokens}). */
    public Builder maxTokens(int maxTokens) {
      if (maxTokens <= 0) {
        throw new IllegalArgumentException("maxTokens must be > 0");
      }
      body.put("max_tokens", maxTokens);
      return this;
    }

    public Builder priority(Priority p) {
      this.priority = Objects.requireNonNull(p, "priority");
      return this;
    }

    /**
     * An absolute deadline: a job not finished by then ends {@code expired} (queued) or {@code failed} with
     * {@code deadline_exceeded} (running). Written as an ISO-8601 instant.
     */
    public Builder deadline(Instant deadline) {
      body.put("deadline", Objects.requireNonNull(deadline, "deadline").toString());
      return this;
    }

    /**
     * A deadline relative to the time Kafka accepts the job ({@code ttl_ms}); with {@link #deadline} too, the
     * earlier one applies.
     */
    public Builder ttl(Duration ttl) {
      long ms = Objects.requireNonNull(ttl, "ttl").toMillis();
      if (ms <= 0) {
        throw new IllegalArgumentException("ttl must be at least 1 ms, was " + ttl);
      }
      body.put("ttl_ms", ms);
      return this;
    }

    public Builder tenant(String tenant) {
      body.put("tenant", tenant);
      return this;
    }

    /** Anything; echoed on the result (and sent upstream when the job sets {@code store: true}). */
    public Builder metadata(JsonNode metadata) {
      body.set("metadata", metadata);
      return this;
    }

    /**
     * {@code max_completion_tokens}: OpenAI's current completion limit, reasoning tokens included (its reasoning
     * models reject {@code max_tokens}). The fleet reserves tokens for the larger of the two when both are set.
     */
    public Builder maxCompletionTokens(int maxCompletionTokens) {
      if (maxCompletionTokens <= 0) {
        throw new IllegalArgumentException("maxCompletionTokens must be > 0");
      }
      body.put("max_completion_tokens", maxCompletionTokens);
      return this;
    }

    public Builder temperature(double temperature) {
      body.put("temperature", temperature);
      return this;
    }

    /** {@code reasoning_effort} of reasoning models: {@code minimal}, {@code low}, {@code medium}, {@code high}. */
    public Builder reasoningEffort(String effort) {
      body.put("reasoning_effort", Objects.requireNonNull(effort, "effort"));
      return this;
    }

    /** {@code tools}: an array of tool definitions in OpenAI's shape ({@code {"type":"function","function":{...}}}). */
    public Builder tools(JsonNode tools) {
      if (tools == null || !tools.isArray()) {
        throw new IllegalArgumentException("tools must be a JSON array of tool definitions");
      }
      body.set("tools", tools.deepCopy());
      return this;
    }

    /** {@code tool_choice}: {@code auto}, {@code none} or {@code required}. */
    public Builder toolChoice(String choice) {
      body.put("tool_choice", Objects.requireNonNull(choice, "choice"));
      return this;
    }

    /** {@code tool_choice} as an object, e.g. {@code {"type":"function","function":{"name":"get_weather"}}}. */
    public Builder toolChoice(JsonNode choice) {
      body.set("tool_choice", Objects.requireNonNull(choice, "choice").deepCopy());
      return this;
    }

    /** Forces a call of the named function: {@code tool_choice: {"type":"function","function":{"name":...}}}. */
    public Builder toolChoiceFunction(String name) {
      ObjectNode c = body.putObject("tool_choice");
      c.put("type", "function");
      c.putObject("function").put("name", Objects.requireNonNull(name, "name"));
      return this;
    }

    /** {@code response_format} as given, e.g. {@code {"type":"json_object"}}. */
    public Builder responseFormat(JsonNode format) {
      body.set("response_format", Objects.requireNonNull(format, "format").deepCopy());
      return this;
    }

    /**
     * Structured output: {@code response_format: {"type":"json_schema","json_schema":{"name", "schema",
     * "strict"}}}. With {@code strict} on a route that validates, an answer that does not match the schema is
     * retried once, then fails with {@code invalid_output}.
     */
    public Builder responseFormatJsonSchema(String name, JsonNode schema, boolean strict) {
      ObjectNode f = body.putObject("response_format");
      f.put("type", "json_schema");
      ObjectNode js = f.putObject("json_schema");
      js.put("name", Objects.requireNonNull(name, "name"));
      js.set("schema", Objects.requireNonNull(schema, "schema").deepCopy());
      js.put("strict", strict);
      return this;
    }

    /** {@code logprobs: true}, and {@code top_logprobs} when {@code topLogprobs > 0}. */
    public Builder logprobs(int topLogprobs) {
      body.put("logprobs", true);
      if (topLogprobs > 0) {
        body.put("top_logprobs", topLogprobs);
      }
      return this;
    }

    /**
     * Any other request field, passed to the provider as given: top_p, stop, seed, store, user, modalities,
     * prediction, verbosity, provider extensions ({@code chat_template_kwargs}, ...). {@code job_id} and
     * {@code reply_to} are set by the client.
     *
     * @throws IllegalArgumentException for a field the fleet never passes on ({@code api_key}, {@code base_url},
     *     {@code headers}, {@code extra_body}, ...: the fleet would reject the job with {@code field_not_allowed})
     */
    public Builder param(String name, JsonNode value) {
      checkAllowed(name);
      body.set(name, value);
      return this;
    }

    /** {@link #param(String, JsonNode)} with a string, number, boolean, list or map, converted to JSON. */
    public Builder param(String name, Object value) {
      checkAllowed(name);
      body.set(name, Json.mapper().valueToTree(value));
      return this;
    }

    private static void checkAllowed(String name) {
      Objects.requireNonNull(name, "name");
      if (JobParser.FORBIDDEN.contains(name)) {
        throw new IllegalArgumentException(name + " is not allowed in a job: keys, endpoints and headers are"
            + " configured in the fleet");
      }
    }

    public JobRequest build() {
      return new JobRequest(jobId, priority, body.deepCopy());
    }
  }
}
