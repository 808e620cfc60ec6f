package io.promptfleet.worker.stream;

import io.promptfleet.worker.upstream.Failures;
import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.json.schema.Draft;
import io.vertx.json.schema.JsonSchema;
import io.vertx.json.schema.JsonSchemaOptions;
import io.vertx.json.schema.OutputFormat;
import io.vertx.json.schema.OutputUnit;
import io.vertx.json.schema.SchemaException;
import io.vertx.json.schema.Validator;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks a strict structured output against the JSON Schema the job asked for: {@code response_format} of type
 * {@code json_schema} whose {@code json_schema.strict} is true. Uses Vert.x's JSON Schema validator (drafts 4 to
 * 2020-12; OpenAI's structured-output schemas are a subset of 2020-12).
 *
 * <p>Stateless and thread-safe. Validation is CPU work proportional to the answer; callers run it off the event
 * loop.
 */
final class OutputValidator {
  private static final Logger LOG = LoggerFactory.getLogger(OutputValidator.class);
  private static final JsonSchemaOptions OPTIONS = new JsonSchemaOptions()
      .setDraft(Draft.DRAFT202012)
      .setBaseUri("urn:promptfleet:job")
      .setOutputFormat(OutputFormat.Basic);
  private static final int MAX_REASONS = 3;

  private OutputValidator() {}

  /** The schema to check the answer against, when the job asked for a strict json_schema output. */
  static Optional<JsonNode> strictSchema(Map<String, JsonNode> params) {
    JsonNode rf = params.get("response_format");
    if (rf == null || !"json_schema".equals(rf.path("type").asText())) {
      return Optional.empty();
    }
    JsonNode js = rf.path("json_schema");
    if (!js.path("strict").asBoolean(false) || !js.path("schema").isObject()) {
      return Optional.empty();
    }
    return Optional.of(js.get("schema"));
  }

  /**
   * Validates {@code answer} (the assistant's text) against {@code schema}.
   *
   * @return empty when valid, else why not (naming the failing locations, at most a few)
   */
  static Optional<String> problems(JsonNode schema, String answer) {
    Object instance;
    try {
      instance = io.vertx.core.json.Json.decodeValue(answer);
    } catch (DecodeException e) {
      return Optional.of("the answer is not JSON: " + Failures.clip(e.getMessage()));
    }
    OutputUnit out;
    try {
      JsonSchema s = JsonSchema.of(new JsonObject(Json.mapper().convertValue(schema, Map.class)));
      out = Validator.create(s, OPTIONS).validate(instance);
    } catch (SchemaException | IllegalArgumentException e) {
      // the provider accepted the schema; one we cannot read is not the answer's fault, but say it was not checked
      LOG.warn("a response_format schema could not be read by the validator, so the answer was not validated: {}",
          Failures.clip(String.valueOf(e.getMessage())));
      return Optional.empty();
    }
    if (Boolean.TRUE.equals(out.getValid())) {
      return Optional.empty();
    }
    StringBuilder why = new StringBuilder("the answer does not match the response_format schema");
    int n = 0;
    if (out.getErrors() != null) {
      for (OutputUnit e : out.getErrors()) {
        if (n++ == MAX_REASONS) {
          why.append("; ...");
          break;
        }
        why.append(n == 1 ? ": " : "; ").append(e.getInstanceLocation().isEmpty() ? "/" : e.getInstanceLocation())
            .append(' ').append(e.getError());
      }
    }
    return Optional.of(why.toString());
  }
}
