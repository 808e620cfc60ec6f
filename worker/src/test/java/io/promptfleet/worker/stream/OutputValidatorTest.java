package io.promptfleet.worker.stream;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OutputValidatorTest {
  private static final String SCHEMA = """
      {"type":"object","properties":{"city":{"type":"string"},"temp_c":{"type":"number"},
       "tags":{"type":"array","items":{"type":"string"}}},
       "required":["city","temp_c","tags"],"additionalProperties":false}""";

  private static Map<String, JsonNode> params(boolean strict) throws Exception {
    return Map.of("response_format", Json.mapper().readTree("""
        {"type":"json_schema","json_schema":{"name":"weather","strict":%s,"schema":%s}}""".formatted(strict, SCHEMA)));
  }

  @Test
  void shouldFindTheSchemaOnlyOfAStrictJsonSchemaFormat() throws Exception {
    assertThat(OutputValidator.strictSchema(params(true))).hasValueSatisfying(s ->
        assertThat(s.path("required")).hasSize(3));
    assertThat(OutputValidator.strictSchema(params(false))).isEmpty();
    assertThat(OutputValidator.strictSchema(Map.of("response_format",
        Json.mapper().readTree("{\"type\":\"json_object\"}")))).isEmpty();
    assertThat(OutputValidator.strictSchema(Map.of())).isEmpty();
  }

  @Test
  void shouldAcceptAnAnswerThatMatches() throws Exception {
    JsonNode schema = OutputValidator.strictSchema(params(true)).orElseThrow();
    assertThat(OutputValidator.problems(schema, "{\"city\":\"Zürich\",\"temp_c\":3.5,\"tags\":[\"cold\"]}"))
        .isEmpty();
  }

  @Test
  void shouldNameWhatDoesNotMatch() throws Exception {
    JsonNode schema = OutputValidator.strictSchema(params(true)).orElseThrow();

    assertThat(OutputValidator.problems(schema, "{\"city\":\"Bern\",\"temp_c\":\"warm\",\"tags\":[]}"))
        .hasValueSatisfying(why -> assertThat(why).contains("does not match").contains("/temp_c"));
    assertThat(OutputValidator.problems(schema, "{\"city\":\"Bern\",\"temp_c\":1,\"tags\":[],\"extra\":1}"))
        .isPresent();
    assertThat(OutputValidator.problems(schema, "{\"city\":\"Bern\"}")).isPresent();
  }

  @Test
  void shouldSayWhenTheAnswerIsNotJsonAtAll() throws Exception {
    JsonNode schema = OutputValidator.strictSchema(params(true)).orElseThrow();
    assertThat(OutputValidator.problems(schema, "Sure! Here is the weather: {\"city\":")).hasValueSatisfying(why ->
        assertThat(why).startsWith("the answer is not JSON"));
  }
}
