package io.promptfleet.simulator;

import static io.promptfleet.simulator.SimulatorHarness.chat;
import static io.promptfleet.simulator.SimulatorHarness.dataJson;
import static io.promptfleet.simulator.SimulatorHarness.events;
import static io.promptfleet.simulator.SimulatorHarness.streamWithUsage;
import static io.promptfleet.simulator.SimulatorHarness.streamedContent;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The normal (fault-free) behaviour of the endpoints, against a real server on a loopback port. */
class ChatCompletionsTest extends SimulatorTest {

  @Test
  void shouldStreamRoleContentFinishUsageAndDoneInOpenAiFraming() {
    // Given a streaming request asking for usage
    // When it is sent
    HttpResponse<String> response = sim.post(streamWithUsage("Say hello"));

    // Then the body is LF-framed SSE: role chunk, 5 content chunks, finish chunk, usage chunk, [DONE]
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("content-type")).hasValue("text/event-stream");
    assertThat(response.headers().firstValue("x-request-id")).hasValueSatisfying(id -> assertThat(id).isNotBlank());
    String body = response.body();
    assertThat(body).endsWith("data: [DONE]\n\n").doesNotContain("\r");
    List<String> events = events(body);
    assertThat(events).hasSize(1 + 5 + 1 + 1 + 1).allSatisfy(e -> assertThat(e).startsWith("data: ").doesNotContain("\n"));

    List<JsonObject> chunks = dataJson(body);
    assertThat(chunks).hasSize(8);
    String id = chunks.get(0).getString("id");
    assertThat(id).startsWith("chatcmpl-");
    assertThat(chunks).allSatisfy(c -> {
      assertThat(c.getString("id")).isEqualTo(id);
      assertThat(c.getString("object")).isEqualTo("chat.completion.chunk");
      assertThat(c.getString("model")).isEqualTo("gpt-test");
      assertThat(c.getLong("created")).isPositive();
      assertThat(c.containsKey("usage")).isTrue();
    });

    JsonObject role = chunks.get(0).getJsonArray("choices").getJsonObject(0);
    assertThat(role.getInteger("index")).isZero();
    assertThat(role.getJsonObject("delta")).isEqualTo(new JsonObject().put("role", "assistant").put("content", ""));
    assertThat(role.containsKey("finish_reason")).isTrue();
    assertThat(role.getValue("finish_reason")).isNull();

    for (JsonObject content : chunks.subList(1, 6)) {
      JsonObject choice = content.getJsonArray("choices").getJsonObject(0);
      assertThat(choice.getJsonObject("delta").fieldNames()).containsExactly("content");
      assertThat(choice.getJsonObject("delta").getString("content")).isNotEmpty();
      assertThat(choice.getValue("finish_reason")).isNull();
      assertThat(content.getValue("usage")).isNull();
    }

    JsonObject finish = chunks.get(6).getJsonArray("choices").getJsonObject(0);
    assertThat(finish.getJsonObject("delta")).isEqualTo(new JsonObject());
    assertThat(finish.getString("finish_reason")).isEqualTo("stop");
    assertThat(chunks.get(6).getValue("usage")).isNull();

    JsonObject usageChunk = chunks.get(7);
    assertThat(usageChunk.getJsonArray("choices")).isEqualTo(new JsonArray());
    JsonObject usage = usageChunk.getJsonObject("usage");
    assertThat(usage.getInteger("prompt_tokens")).isEqualTo(3); // "Say hello": 9 chars / 4, rounded up
    assertThat(usage.getInteger("completion_tokens")).isEqualTo(5);
    assertThat(usage.getInteger("total_tokens")).isEqualTo(8);
    // OpenAI's detail objects are always there
    assertThat(usage).isEqualTo(SimulatorHarness.usage(3, 5, 0, 0));
    assertThat(usage.getJsonObject("prompt_tokens_details").fieldNames())
        .containsExactly("cached_tokens", "audio_tokens");
    assertThat(usage.getJsonObject("completion_tokens_details").fieldNames()).containsExactly(
        "reasoning_tokens", "audio_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens");
  }

  @Test
  void shouldAcceptAndRecordFieldsItDoesNotKnow() {
    // Given a request with fields the simulator does not use (vLLM, gpt-5 and OpenAI extras)
    JsonObject request = streamWithUsage("hello").put("chat_template_kwargs", new JsonObject()
            .put("enable_thinking", false).put("nested", new JsonArray().add(1).add("two")))
        .put("verbosity", "low").put("reasoning_effort", "minimal")
        .put("prediction", new JsonObject().put("type", "content").put("content", "predicted text"))
        .put("parallel_tool_calls", false).put("seed", 7).put("metadata", new JsonObject().put("k", "v"))
        .put("response_format", new JsonObject().put("type", "json_schema")).put("x_vendor_field", 1.5);

    // When it is sent
    HttpResponse<String> response = sim.post(request);

    // Then it is answered normally and recorded with its whole body
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).endsWith("data: [DONE]\n\n");
    List<RecordedRequest> recorded = sim.provider.recentRequests();
    assertThat(new JsonObject(recorded.get(recorded.size() - 1).body())).isEqualTo(request);
  }

  @Test
  void shouldOmitUsageChunkAndUsageFieldWhenUsageIsNotRequested() {
    String body = sim.post(chat("Say hello", true)).body();

    List<JsonObject> chunks = dataJson(body);
    assertThat(chunks).hasSize(1 + 5 + 1);
    assertThat(chunks).allSatisfy(c -> assertThat(c.containsKey("usage")).isFalse());
    assertThat(body).endsWith("data: [DONE]\n\n");
  }

  @Test
  void shouldStreamExactlyTheContentOfTheNonStreamResponse() {
    // Given the same prompt sent streamed and not streamed
    String streamed = streamedContent(sim.post(streamWithUsage("What is Kafka?")).body());
    HttpResponse<String> plain = sim.post(chat("What is Kafka?", false));

    // Then the concatenated deltas equal message.content
    assertThat(plain.statusCode()).isEqualTo(200);
    assertThat(plain.headers().firstValue("content-type")).hasValue("application/json");
    JsonObject completion = new JsonObject(plain.body());
    assertThat(completion.getString("object")).isEqualTo("chat.completion");
    assertThat(completion.getString("id")).startsWith("chatcmpl-");
    assertThat(completion.getString("model")).isEqualTo("gpt-test");
    JsonObject choice = completion.getJsonArray("choices").getJsonObject(0);
    assertThat(choice.getJsonObject("message").getString("role")).isEqualTo("assistant");
    assertThat(choice.getJsonObject("message").getString("content")).isEqualTo(streamed);
    assertThat(choice.getString("finish_reason")).isEqualTo("stop");
    assertThat(completion.getJsonObject("usage")).isEqualTo(SimulatorHarness.usage(4, 5, 0, 0));
    // one word per token, the first without a leading space
    assertThat(streamed).doesNotStartWith(" ").matches("\\S+( \\S+){4}");
  }

  @Test
  void shouldAnswerTheSamePromptWithTheSameWords() {
    String first = streamedContent(sim.post(chat("deterministic?", true)).body());
    String second = streamedContent(sim.post(chat("deterministic?", true)).body());

    assertThat(first).isEqualTo(second);
  }

  @Test
  void shouldStopWithFinishReasonLengthWhenMaxTokensIsBelowTheCompletionLength() {
    String streamed = sim.post(chat("hi", true).put("max_tokens", 2)).body();
    JsonObject plain = new JsonObject(sim.post(chat("hi", false).put("max_completion_tokens", 3)).body());

    assertThat(SimulatorHarness.contentChunks(streamed)).isEqualTo(2);
    assertThat(streamed).contains("\"finish_reason\":\"length\"");
    assertThat(plain.getJsonArray("choices").getJsonObject(0).getString("finish_reason")).isEqualTo("length");
    assertThat(plain.getJsonObject("usage").getInteger("completion_tokens")).isEqualTo(3);
  }

  @Test
  void shouldStopNormallyWhenMaxTokensIsAtLeastTheCompletionLength() {
    JsonObject plain = new JsonObject(sim.post(chat("hi", false).put("max_tokens", 5)).body());

    assertThat(plain.getJsonArray("choices").getJsonObject(0).getString("finish_reason")).isEqualTo("stop");
    assertThat(plain.getJsonObject("usage").getInteger("completion_tokens")).isEqualTo(5);
  }

  @Test
  void shouldUseTheSimulatorTokensHeaderAsCompletionLength() {
    String body = sim.post(chat("hi", true), "x-simulator-tokens", "12").body();
    String empty = sim.post(chat("hi", true), "x-simulator-tokens", "0").body();

    assertThat(SimulatorHarness.contentChunks(body)).isEqualTo(12);
    assertThat(body).contains("\"finish_reason\":\"stop\"");
    assertThat(SimulatorHarness.contentChunks(empty)).isZero();
    assertThat(empty).contains("\"finish_reason\":\"stop\"").endsWith("data: [DONE]\n\n");
  }

  @Test
  void shouldEstimateAtLeastOnePromptTokenPerMessageAndReadContentParts() {
    JsonObject body = new JsonObject().put("messages", new JsonArray()
        .add(new JsonObject().put("role", "system").put("content", "abcdefghi")) // 3
        .add(new JsonObject().put("role", "assistant").putNull("content")) // 1
        .add(new JsonObject().put("role", "user").put("content", new JsonArray()
            .add(new JsonObject().put("type", "text").put("text", "abcd"))
            .add(new JsonObject().put("type", "image_url").put("image_url", new JsonObject()))))); // 1

    JsonObject completion = new JsonObject(sim.post(body).body());

    assertThat(completion.getJsonObject("usage").getInteger("prompt_tokens")).isEqualTo(5);
    assertThat(completion.getString("model")).isEqualTo("sim"); // no model: the first configured one
  }

  @Test
  void shouldCarryRateLimitHeadersOnSuccess() {
    HttpResponse<String> response = sim.post(chat("hi", true));

    assertThat(response.headers().map()).containsKeys("x-ratelimit-limit-requests",
        "x-ratelimit-remaining-requests", "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens");
    long limit = Long.parseLong(response.headers().firstValue("x-ratelimit-limit-requests").orElseThrow());
    long remaining = Long.parseLong(response.headers().firstValue("x-ratelimit-remaining-requests").orElseThrow());
    assertThat(remaining).isBetween(0L, limit - 1);
    assertThat(response.headers().firstValue("x-ratelimit-reset-requests").orElseThrow()).matches("[0-9.ms]+");
  }

  @Test
  void shouldRejectARequestWithoutBearerTokenWith401() {
    HttpResponse<String> missing = sim.send(sim.request("/chat/completions", chat("hi", true).encode()).build());
    HttpResponse<String> basic = sim.post(chat("hi", true), "Authorization", "Basic dXNlcjpwdw==");

    for (HttpResponse<String> response : List.of(missing, basic)) {
      assertThat(response.statusCode()).isEqualTo(401);
      JsonObject error = new JsonObject(response.body()).getJsonObject("error");
      assertThat(error.getString("code")).isEqualTo("invalid_api_key");
      assertThat(error.getString("type")).isEqualTo("invalid_request_error");
      assertThat(error.getString("message")).isNotBlank();
      assertThat(error.containsKey("param")).isTrue();
    }
    assertThat(sim.provider.stats().totalRequests()).isEqualTo(2);
    assertThat(sim.provider.stats().maxConcurrentRequestsByKey()).isEmpty();
  }

  @Test
  void shouldRejectMalformedJsonWith400() {
    for (String body : List.of("{not json", "", "[1,2]", "null")) {
      HttpResponse<String> response = sim.send(sim.request("/chat/completions", body,
          "Authorization", SimulatorHarness.KEY).build());

      assertThat(response.statusCode()).as("body %s", body).isEqualTo(400);
      assertThat(new JsonObject(response.body())).isEqualTo(new JsonObject().put("error", new JsonObject()
          .put("message", new JsonObject(response.body()).getJsonObject("error").getString("message"))
          .put("type", "invalid_request_error").putNull("param").putNull("code")));
    }
  }

  @Test
  void shouldRejectMissingOrEmptyMessagesWith400() {
    HttpResponse<String> missing = sim.post(new JsonObject().put("model", "m"));
    HttpResponse<String> empty = sim.post(new JsonObject().put("messages", new JsonArray()));
    HttpResponse<String> badMax = sim.post(chat("hi", false).put("max_tokens", 0));

    assertThat(missing.statusCode()).isEqualTo(400);
    assertThat(new JsonObject(missing.body()).getJsonObject("error").getString("message")).contains("messages");
    assertThat(empty.statusCode()).isEqualTo(400);
    assertThat(badMax.statusCode()).isEqualTo(400);
    assertThat(new JsonObject(badMax.body()).getJsonObject("error").getString("param")).isEqualTo("max_tokens");
  }

  @Test
  void shouldRejectAMalformedDirectiveWith400() {
    HttpResponse<String> unknown = sim.post(chat("hi [[sim:explode]]", true));
    HttpResponse<String> badParam = sim.post(chat("hi [[sim:cut after=soon]]", true));

    assertThat(unknown.statusCode()).isEqualTo(400);
    assertThat(unknown.body()).contains("unknown fault 'explode'");
    assertThat(badParam.statusCode()).isEqualTo(400);
    assertThat(badParam.body()).contains("after must be an integer");
  }

  @Test
  void shouldListTheConfiguredModels() {
    HttpResponse<String> response = sim.send(sim.request("/models", null, "Authorization", SimulatorHarness.KEY).build());

    JsonObject list = new JsonObject(response.body());
    assertThat(list.getString("object")).isEqualTo("list");
    JsonObject model = list.getJsonArray("data").getJsonObject(0);
    assertThat(model.getString("id")).isEqualTo("sim");
    assertThat(model.getString("object")).isEqualTo("model");
    assertThat(model.getString("owned_by")).isEqualTo("promptfleet-simulator");
    assertThat(model.getLong("created")).isPositive();
    assertThat(sim.send(sim.request("/models", null).build()).statusCode()).isEqualTo(401);
  }

  @Test
  void shouldAnswerUnknownPathsWithAnOpenAiStyle404() {
    HttpResponse<String> response = sim.send(sim.request("/completions", "{}", "Authorization", SimulatorHarness.KEY)
        .build());

    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(new JsonObject(response.body()).getJsonObject("error").getString("message"))
        .isEqualTo("Invalid URL (POST /v1/completions)");
  }

  @Test
  void shouldReportItsBaseUrlOnLoopback() {
    assertThat(sim.provider.baseUrl()).isEqualTo("http://127.0.0.1:" + sim.provider.port() + "/v1");
    assertThat(sim.provider.port()).isPositive();
    HttpRequest health = HttpRequest.newBuilder(java.net.URI.create(
        "http://127.0.0.1:" + sim.provider.port() + "/health")).build();
    assertThat(sim.send(health).statusCode()).isEqualTo(200);
  }
}
