package io.promptfleet.simulator;

import static io.promptfleet.simulator.SimulatorHarness.chat;
import static io.promptfleet.simulator.SimulatorHarness.choices;
import static io.promptfleet.simulator.SimulatorHarness.streamWithUsage;
import static io.promptfleet.simulator.SimulatorHarness.streamedUsage;
import static io.promptfleet.simulator.SimulatorHarness.usage;
import static io.promptfleet.simulator.ToolCallsTest.promptTokens;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** OpenAI's parameter rules for reasoning models (o-series, gpt-5) and their hidden reasoning tokens. */
class ReasoningModelRulesTest extends SimulatorTest {

  private static final String MAX_TOKENS_ERROR = "{\"error\":{\"message\":\"Unsupported parameter: 'max_tokens' is"
      + " not supported with this model. Use 'max_completion_tokens' instead.\",\"type\":\"invalid_request_error\","
      + "\"param\":\"max_tokens\",\"code\":\"unsupported_parameter\"}}";

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"o1", "o1-mini", "o3", "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini", "sim-reasoning-1"})
  void shouldRejectMaxTokensForAReasoningModelWithOpenAisExactError(String model) {
    HttpResponse<String> response = sim.post(chat("hi", true).put("model", model).put("max_tokens", 64));

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(response.headers().firstValue("content-type")).hasValue("application/json");
    assertThat(response.body()).isEqualTo(MAX_TOKENS_ERROR);
  }

  @Test
  void shouldRejectATemperatureOtherThanOneFormattedAsGiven() {
    HttpResponse<String> decimal = sim.post(chat("hi", false).put("model", "o3").put("temperature", 0.2));
    HttpResponse<String> integer = sim.post(chat("hi", false).put("model", "gpt-5").put("temperature", 0));
    HttpResponse<String> two = sim.post(chat("hi", false).put("model", "gpt-5").put("temperature", 2.0));

    assertThat(decimal.statusCode()).isEqualTo(400);
    assertThat(decimal.body()).isEqualTo("{\"error\":{\"message\":\"Unsupported value: 'temperature' does not"
        + " support 0.2 with this model. Only the default (1) value is supported.\",\"type\":"
        + "\"invalid_request_error\",\"param\":\"temperature\",\"code\":\"unsupported_value\"}}");
    assertThat(new JsonObject(integer.body()).getJsonObject("error").getString("message"))
        .startsWith("Unsupported value: 'temperature' does not support 0 with this model.");
    assertThat(new JsonObject(two.body()).getJsonObject("error").getString("message"))
        .startsWith("Unsupported value: 'temperature' does not support 2.0 with this model.");
  }

  @Test
  void shouldAcceptTheDefaultTemperatureAndMaxCompletionTokens() {
    for (Object temperature : List.of(1, 1.0)) {
      HttpResponse<String> response = sim.post(chat("hi", false).put("model", "o3")
          .put("temperature", temperature).put("max_completion_tokens", 100));

      assertThat(response.statusCode()).as("temperature %s", temperature).isEqualTo(200);
    }
  }

  @Test
  void shouldLetOtherModelsUseMaxTokensAndAnyTemperature() {
    HttpResponse<String> response = sim.post(chat("hi", true).put("model", "gpt-4o").put("max_tokens", 2)
        .put("temperature", 0.2));

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(SimulatorHarness.contentChunks(response.body())).isEqualTo(2);
  }

  @Test
  void shouldReportHiddenReasoningTokensWithoutStreamingThem() {
    JsonObject request = streamWithUsage("hi").put("model", "o4-mini").put("max_completion_tokens", 100);

    String body = sim.post(request).body();
    JsonObject plain = new JsonObject(sim.post(chat("hi", false).put("model", "o4-mini")).body());

    List<JsonObject> choices = choices(body);
    assertThat(choices).hasSize(1 + 5 + 1);
    assertThat(choices.subList(1, 6)).allSatisfy(c -> assertThat(c.getJsonObject("delta").fieldNames())
        .containsExactly("content"));
    assertThat(choices.get(6).getString("finish_reason")).isEqualTo("stop");
    assertThat(streamedUsage(body)).isEqualTo(usage(promptTokens(request), 16 + 5, 0, 16));
    assertThat(plain.getJsonArray("choices").getJsonObject(0).getJsonObject("message").fieldNames())
        .containsExactly("role", "content", "refusal");
    assertThat(plain.getJsonObject("usage").getJsonObject("completion_tokens_details")
        .getInteger("reasoning_tokens")).isEqualTo(16);
  }

  @Test
  void shouldSpendMaxCompletionTokensOnHiddenReasoningFirst() {
    // 16 hidden reasoning tokens leave 2 of 18 for the answer; 10 leave nothing
    JsonObject request = streamWithUsage("hi").put("model", "gpt-5").put("max_completion_tokens", 18);
    String body = sim.post(request).body();
    JsonObject starved = new JsonObject(sim.post(chat("hi", false).put("model", "gpt-5")
        .put("max_completion_tokens", 10)).body());

    assertThat(SimulatorHarness.contentChunks(body)).isEqualTo(2);
    assertThat(choices(body).get(3).getString("finish_reason")).isEqualTo("length");
    assertThat(streamedUsage(body)).isEqualTo(usage(promptTokens(request), 18, 0, 16));
    JsonObject choice = starved.getJsonArray("choices").getJsonObject(0);
    assertThat(choice.getJsonObject("message").getString("content")).isEmpty();
    assertThat(choice.getString("finish_reason")).isEqualTo("length");
    assertThat(starved.getJsonObject("usage")).isEqualTo(usage(1, 10, 0, 10));
  }

  @Test
  void shouldLetAReasoningDirectiveSetTheHiddenReasoningTokens() {
    JsonObject request = streamWithUsage("hi [[sim:reasoning tokens=3 hidden=true]]").put("model", "o3");

    String body = sim.post(request).body();

    assertThat(streamedUsage(body)).isEqualTo(usage(promptTokens(request), 3 + 5, 0, 3));
  }

  @Test
  void shouldTakeTheReasoningModelPrefixesFromTheOptions() throws Exception {
    try (SimulatorHarness custom = SimulatorHarness.start(SimulatorHarness.fastOptions()
        .withReasoningModelPrefixes(List.of("think-")))) {
      assertThat(custom.post(chat("hi", false).put("model", "think-1").put("max_tokens", 5)).body())
          .isEqualTo(MAX_TOKENS_ERROR);
      assertThat(custom.post(chat("hi", false).put("model", "o3").put("max_tokens", 5)).statusCode())
          .isEqualTo(200);
    }
  }
}
