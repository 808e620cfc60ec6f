package io.promptfleet.simulator;

import static io.promptfleet.simulator.SimulatorHarness.b64;
import static io.promptfleet.simulator.SimulatorHarness.chat;
import static io.promptfleet.simulator.SimulatorHarness.choices;
import static io.promptfleet.simulator.SimulatorHarness.streamWithUsage;
import static io.promptfleet.simulator.SimulatorHarness.streamedUsage;
import static io.promptfleet.simulator.SimulatorHarness.usage;
import static io.promptfleet.simulator.ToolCallsTest.promptTokens;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code logprobs} / {@code top_logprobs}, the usage detail objects and {@code [[sim:cached]]}. */
class LogprobsAndUsageTest extends SimulatorTest {

  @ParameterizedTest(name = "top_logprobs {0}")
  @ValueSource(ints = {0, 1, 3, 20})
  void shouldAttachLogprobsToEveryContentChunk(int top) {
    String body = sim.post(chat("hello", true).put("logprobs", true).put("top_logprobs", top)).body();

    List<JsonObject> choices = choices(body);
    assertThat(choices).hasSize(1 + 5 + 1);
    assertThat(choices.get(0).containsKey("logprobs")).isTrue();
    assertThat(choices.get(0).getValue("logprobs")).as("role chunk").isNull();
    assertThat(choices.get(6).getValue("logprobs")).as("finish chunk").isNull();
    for (JsonObject choice : choices.subList(1, 6)) {
      String token = choice.getJsonObject("delta").getString("content");
      JsonObject logprobs = choice.getJsonObject("logprobs");
      assertThat(logprobs.fieldNames()).containsExactly("content", "refusal");
      assertThat(logprobs.getValue("refusal")).isNull();
      JsonArray content = logprobs.getJsonArray("content");
      assertThat(content).hasSize(1);
      JsonObject entry = content.getJsonObject(0);
      assertThat(entry.fieldNames()).containsExactly("token", "logprob", "bytes", "top_logprobs");
      assertThat(entry.getString("token")).isEqualTo(token);
      assertThat(entry.getDouble("logprob")).isBetween(-0.901, -0.001);
      assertThat(entry.getJsonArray("bytes")).isEqualTo(bytes(token));
      JsonArray topLogprobs = entry.getJsonArray("top_logprobs");
      assertThat(topLogprobs).hasSize(top);
      List<String> tokens = new ArrayList<>();
      double previous = 0;
      for (int i = 0; i < top; i++) {
        JsonObject alternative = topLogprobs.getJsonObject(i);
        assertThat(alternative.fieldNames()).containsExactly("token", "logprob", "bytes");
        assertThat(alternative.getJsonArray("bytes")).isEqualTo(bytes(alternative.getString("token")));
        assertThat(alternative.getDouble("logprob")).isLessThan(previous);
        previous = alternative.getDouble("logprob");
        tokens.add(alternative.getString("token"));
      }
      assertThat(tokens).doesNotHaveDuplicates();
      if (top > 0) {
        assertThat(topLogprobs.getJsonObject(0)).isEqualTo(new JsonObject().put("token", token)
            .put("logprob", entry.getValue("logprob")).put("bytes", bytes(token)));
      }
    }
  }

  @Test
  void shouldListTheSameLogprobsWithoutStreaming() {
    JsonObject request = chat("hello", true).put("logprobs", true).put("top_logprobs", 2);
    JsonArray streamed = new JsonArray();
    for (JsonObject choice : choices(sim.post(request).body())) {
      if (choice.getValue("logprobs") != null) {
        streamed.add(choice.getJsonObject("logprobs").getJsonArray("content").getJsonObject(0));
      }
    }

    JsonObject completion = new JsonObject(sim.post(request.put("stream", false)).body());

    assertThat(streamed).hasSize(5);
    assertThat(completion.getJsonArray("choices").getJsonObject(0).getJsonObject("logprobs"))
        .isEqualTo(new JsonObject().put("content", streamed).putNull("refusal"));
  }

  @Test
  void shouldGiveEveryChunkOfAReplyItsLogprobsWithNonAsciiBytes() {
    String body = sim.post(chat("x [[sim:reply b64=" + b64("Grüße") + " chunk=3]]", true).put("logprobs", true))
        .body();

    List<JsonObject> choices = choices(body);
    JsonObject first = choices.get(1).getJsonObject("logprobs").getJsonArray("content").getJsonObject(0);
    assertThat(first.getString("token")).isEqualTo("Grü");
    assertThat(first.getJsonArray("bytes")).isEqualTo(new JsonArray().add(71).add(114).add(195).add(188));
    assertThat(first.getJsonArray("top_logprobs")).isEmpty();
  }

  @Test
  void shouldPutRefusalLogprobsUnderRefusal() {
    String body = sim.post(chat("x [[sim:refusal]]", true).put("logprobs", true)).body();
    JsonObject plain = new JsonObject(sim.post(chat("x [[sim:refusal]]", false).put("logprobs", true)).body());

    JsonObject logprobs = choices(body).get(1).getJsonObject("logprobs");
    assertThat(logprobs.getValue("content")).isNull();
    assertThat(logprobs.getJsonArray("refusal").getJsonObject(0).getString("token")).isEqualTo("I'm");
    JsonObject nonStream = plain.getJsonArray("choices").getJsonObject(0).getJsonObject("logprobs");
    assertThat(nonStream.getValue("content")).isNull();
    assertThat(nonStream.getJsonArray("refusal")).hasSize(8);
  }

  @Test
  void shouldSendNullLogprobsWhenNotAsked() {
    String body = sim.post(chat("hello", true).put("logprobs", false)).body();
    JsonObject plain = new JsonObject(sim.post(chat("hello", false)).body());

    assertThat(choices(body)).allSatisfy(c -> {
      assertThat(c.containsKey("logprobs")).isTrue();
      assertThat(c.getValue("logprobs")).isNull();
    });
    assertThat(plain.getJsonArray("choices").getJsonObject(0).getValue("logprobs")).isNull();
  }

  @Test
  void shouldRejectTopLogprobsWithoutLogprobsLikeOpenAi() {
    HttpResponse<String> missing = sim.post(chat("hello", true).put("top_logprobs", 2));
    HttpResponse<String> disabled = sim.post(chat("hello", true).put("logprobs", false).put("top_logprobs", 0));
    HttpResponse<String> tooMany = sim.post(chat("hello", true).put("logprobs", true).put("top_logprobs", 21));
    HttpResponse<String> notBoolean = sim.post(chat("hello", true).put("logprobs", "yes"));

    for (HttpResponse<String> response : List.of(missing, disabled)) {
      assertThat(response.statusCode()).isEqualTo(400);
      assertThat(new JsonObject(response.body())).isEqualTo(new JsonObject().put("error", new JsonObject()
          .put("message", "Invalid value for 'top_logprobs': 'logprobs' must be set to true when 'top_logprobs'"
              + " is used.")
          .put("type", "invalid_request_error").put("param", "top_logprobs").putNull("code")));
    }
    assertThat(tooMany.statusCode()).isEqualTo(400);
    assertThat(error(tooMany).getString("message")).isEqualTo("Invalid 'top_logprobs': integer above maximum"
        + " value. Expected a value <= 20, but got 21 instead.");
    assertThat(notBoolean.statusCode()).isEqualTo(400);
    assertThat(error(notBoolean).getString("param")).isEqualTo("logprobs");
  }

  @Test
  void shouldReportZeroUsageDetailsByDefault() {
    JsonObject request = streamWithUsage("details please");

    JsonObject streamed = streamedUsage(sim.post(request).body());
    JsonObject plain = new JsonObject(sim.post(chat("details please", false)).body()).getJsonObject("usage");

    assertThat(streamed).isEqualTo(usage(promptTokens(request), 5, 0, 0));
    assertThat(plain).isEqualTo(streamed);
  }

  @Test
  void shouldReportCachedPromptTokensCappedAtThePromptTokens() {
    JsonObject small = streamWithUsage("0123456789012345678901234567890123456789 [[sim:cached tokens=3]]");
    JsonObject large = streamWithUsage("cache everything [[sim:cached tokens=1000000]]");

    JsonObject smallUsage = streamedUsage(sim.post(small).body());
    JsonObject largeUsage = new JsonObject(sim.post(large.put("stream", false)).body()).getJsonObject("usage");

    assertThat(smallUsage).isEqualTo(usage(promptTokens(small), 5, 3, 0));
    assertThat(largeUsage).isEqualTo(usage(promptTokens(large), 5, promptTokens(large), 0));
  }

  @Test
  void shouldRejectACachedDirectiveWithoutTokens() {
    HttpResponse<String> response = sim.post(chat("x [[sim:cached]]", true));

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(error(response).getString("message")).contains("cached needs tokens=N");
  }

  private static JsonArray bytes(String token) {
    JsonArray bytes = new JsonArray();
    for (byte b : token.getBytes(StandardCharsets.UTF_8)) {
      bytes.add(b & 0xFF);
    }
    return bytes;
  }

  private static JsonObject error(HttpResponse<String> response) {
    return new JsonObject(response.body()).getJsonObject("error");
  }
}
