package io.promptfleet.client;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.vertx.core.json.JsonObject;
import io.vertx.json.schema.Draft;
import io.vertx.json.schema.JsonSchema;
import io.vertx.json.schema.JsonSchemaOptions;
import io.vertx.json.schema.OutputFormat;
import io.vertx.json.schema.OutputUnit;
import io.vertx.json.schema.Validator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One of the contract's JSON Schemas (draft 2020-12), checked with Vert.x's JSON Schema validator — the library the
 * worker validates structured outputs with.
 */
final class ContractSchema {
  private final Validator validator;

  ContractSchema(JsonNode schema) {
    JsonSchemaOptions options = new JsonSchemaOptions().setDraft(Draft.DRAFT202012)
        .setBaseUri(schema.path("$id").asText("urn:promptfleet:schema")).setOutputFormat(OutputFormat.Basic);
    validator = Validator.create(JsonSchema.of(new JsonObject(Json.mapper().convertValue(schema, Map.class))),
        options);
  }

  /** What makes {@code value} invalid, one line per failing location; empty when valid. */
  List<String> problems(JsonNode value) {
    Object instance = io.vertx.core.json.Json.decodeValue(value.toString());
    OutputUnit out = validator.validate(instance);
    List<String> problems = new ArrayList<>();
    if (!Boolean.TRUE.equals(out.getValid())) {
      if (out.getErrors() == null || out.getErrors().isEmpty()) {
        problems.add(String.valueOf(out.getError()));
      } else {
        out.getErrors().forEach(e -> problems.add(e.getInstanceLocation() + " " + e.getError()));
      }
    }
    return problems;
  }
}
