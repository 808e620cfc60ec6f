package io.promptfleet.worker.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.ProviderSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ChatMessage;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Route;
import io.promptfleet.common.upstream.UnsupportedJobException;
import io.vertx.core.http.RequestOptions;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The Responses API protocol: the request a job becomes, and a plain answer read back. */
class OpenAiResponsesTest {
  private static final OpenAiResponses RESPONSES = new OpenAiResponses();
  private static final Route STREAMING = new Route("r", "p", "gpt-5-upstream", null, null, null, null, null, null,
      512);

  @Test
  void shouldPostToResponsesWithTheBearerKeyAndTheProvidersHeaders() {
    ProviderEndpoint endpoint = new ProviderEndpoint(new ProviderSettings("https://api.example/v1", 1_000L, null,
        null, null), "sk-test", Map.of("OpenAI-Project", "proj_1"), null);

    RequestOptions o = RESPONSES.options(endpoint, assignment(List.of(ChatMessage.of("user", "Hi")), Map.of()));

    assertThat(o.getURI()).isEqualTo("/v1/responses");
    assertThat(o.getHeaders().get("authorization")).isEqualTo("Bearer sk-test");
    assertThat(o.getHeaders().get("openai-project")).isEqualTo("proj_1");
    assertThat(o.getHeaders().get("accept")).isEqualTo("text/event-stream");
    assertThat(o.getHeaders().get("x-client-request-id")).isEqualTo("job-1/1");
  }

  @Test
  void shouldTranslateAConversationWithToolCallsIntoInputItemsInOrder() {
    List<ChatMessage> messages = List.of(
        ChatMessage.of("system", "Be brief."),
        new ChatMessage("user", json("[{\"type\":\"text\",\"text\":\"Weather here?\"},{\"type\":\"image_url\","
            + "\"image_url\":{\"url\":\"https://x/p.png\",\"detail\":\"low\"}}]"), null, null, null),
        new ChatMessage("assistant", null, null, null, json("[{\"id\":\"call_1\",\"type\":\"function\",\"function\":"
            + "{\"name\":\"weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]")),
        new ChatMessage("tool", json("\"12C\""), null, "call_1", null),
        ChatMessage.of("developer", "Answer in French."),
        ChatMessage.of("assistant", "Il fait 12C."));

    ObjectNode body = RESPONSES.body(assignment(messages, Map.of()));

    assertThat(body.get("model").asText()).isEqualTo("gpt-5-upstream");
    assertThat(body.get("input")).isEqualTo(json("["
        + "{\"type\":\"message\",\"role\":\"system\",\"content\":\"Be brief.\"},"
        + "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"Weather here?\"},"
        + "{\"type\":\"input_image\",\"image_url\":\"https://x/p.png\",\"detail\":\"low\"}]},"
        + "{\"type\":\"function_call\",\"call_id\":\"call_1\",\"name\":\"weather\","
        + "\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"},"
        + "{\"type\":\"function_call_output\",\"call_id\":\"call_1\",\"output\":\"12C\"},"
        + "{\"type\":\"message\",\"role\":\"developer\",\"content\":\"Answer in French.\"},"
        + "{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\","
        + "\"text\":\"Il fait 12C.\"}]}]"));
    assertThat(body.has("instructions")).isFalse();
  }

  @Test
  void shouldTranslateTheRequestFields() {
    ObjectNode body = RESPONSES.body(assignment(List.of(ChatMessage.of("user", "Hi")), Map.of(
        "tools", json("[{\"type\":\"function\",\"function\":{\"name\":\"weather\",\"description\":\"d\","
            + "\"parameters\":{\"type\":\"object\"}}},{\"type\":\"function\",\"function\":{\"name\":\"s\","
            + "\"strict\":true}}]"),
        "tool_choice", json("{\"type\":\"function\",\"function\":{\"name\":\"weather\"}}"),
        "parallel_tool_calls", json("false"),
        "max_completion_tokens", json("300"),
        "temperature", json("0.2"),
        "top_p", json("0.9"),
        "response_format", json("{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{},"
            + "\"strict\":true}}"),
        "reasoning_effort", json("\"low\""),
        "stream_options", json("{\"include_usage\":true}"))));

    assertThat(body.get("tools")).isEqualTo(json("[{\"type\":\"function\",\"name\":\"weather\",\"description\":\"d\","
        + "\"parameters\":{\"type\":\"object\"},\"strict\":false},{\"type\":\"function\",\"name\":\"s\","
        + "\"strict\":true}]"));
    assertThat(body.get("tool_choice")).isEqualTo(json("{\"type\":\"function\",\"name\":\"weather\"}"));
    assertThat(body.get("parallel_tool_calls").asBoolean()).isFalse();
    assertThat(body.get("max_output_tokens").asInt()).isEqualTo(300);
    assertThat(body.get("temperature").asDouble()).isEqualTo(0.2);
    assertThat(body.get("top_p").asDouble()).isEqualTo(0.9);
    assertThat(body.get("text")).isEqualTo(json("{\"format\":{\"type\":\"json_schema\",\"name\":\"x\",\"schema\":{},"
        + "\"strict\":true}}"));
    assertThat(body.get("reasoning")).isEqualTo(json("{\"effort\":\"low\",\"summary\":\"auto\"}"));
    assertThat(body.get("store").asBoolean()).as("not stored unless the job asks").isFalse();
    assertThat(body.get("stream").asBoolean()).isTrue();
    assertThat(body.has("stream_options")).isFalse();
    assertThat(body.has("max_completion_tokens")).isFalse();
  }

  @Test
  void shouldSendTheRoutesDefaultLimitAndTheJobsStoreAndNoStreamForAPlainRoute() {
    ObjectNode defaulted = RESPONSES.body(assignment(List.of(ChatMessage.of("user", "Hi")), Map.of("store",
        json("true"))));
    Route plain = new Route("r", "p", "m", null, null, null, false, null, null, null);
    ObjectNode unstreamed = RESPONSES.body(new Assignment("l", job(List.of(ChatMessage.of("user", "Hi")),
        Map.of("max_tokens", json("40"))), 1, Priority.NORMAL, plain, "k", null, null, null, "t"));

    assertThat(defaulted.get("max_output_tokens").asInt()).isEqualTo(512);
    assertThat(defaulted.get("store").asBoolean()).isTrue();
    assertThat(unstreamed.get("max_output_tokens").asInt()).isEqualTo(40);
    assertThat(unstreamed.has("stream")).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {"{\"n\":2}", "{\"stop\":[\"END\"]}", "{\"logprobs\":true}", "{\"top_logprobs\":2}",
      "{\"seed\":7}", "{\"logit_bias\":{\"50256\":-100}}", "{\"presence_penalty\":0.5}", "{\"functions\":[]}",
      "{\"tools\":[{\"type\":\"custom\",\"custom\":{\"name\":\"x\"}}]}", "{\"response_format\":{\"type\":\"xml\"}}"})
  void shouldRefuseAFieldTheResponsesApiCannotExpressNamingIt(String params) {
    Map<String, JsonNode> p = Json.mapper().convertValue(json(params), Json.mapper().getTypeFactory()
        .constructMapType(Map.class, String.class, JsonNode.class));
    String field = p.keySet().iterator().next();

    assertThatThrownBy(() -> RESPONSES.body(assignment(List.of(ChatMessage.of("user", "Hi")), p)))
        .isInstanceOf(UnsupportedJobException.class).hasMessageContaining(field)
        .hasMessageContaining("openai-responses");
  }

  @Test
  void shouldAcceptDefaultsThatMeanNothingAndRefuseAMessageName() {
    ObjectNode body = RESPONSES.body(assignment(List.of(ChatMessage.of("user", "Hi")), Map.of("n", json("1"),
        "logprobs", json("false"), "frequency_penalty", json("0"))));
    List<ChatMessage> named = List.of(new ChatMessage("user", json("\"Hi\""), "alice", null, null));

    assertThat(body.has("n")).isFalse();
    assertThatThrownBy(() -> RESPONSES.body(assignment(named, Map.of())))
        .isInstanceOf(UnsupportedJobException.class).hasMessageContaining("messages[0].name");
  }

  /** The live gpt-4o-mini Response of openai/openai-python tests/lib/responses/test_responses.py::test_output_text. */
  @Test
  void shouldReadAPlainResponseObject() throws Exception {
    ChunkEvent e = RESPONSES.plainAnswer("{\"id\": \"resp_689a0b2545288193953c892439b42e2800b2e36c65a1fd4b\", "
        + "\"object\": \"response\", \"created_at\": 1754925861, \"status\": \"completed\", \"background\": false, "
        + "\"error\": null, \"incomplete_details\": null, \"instructions\": null, \"max_output_tokens\": null, "
        + "\"max_tool_calls\": null, \"model\": \"gpt-4o-mini-2024-07-18\", \"output\": [{\"id\": "
        + "\"msg_689a0b2637b08193ac478e568f49e3f900b2e36c65a1fd4b\", \"type\": \"message\", \"status\": "
        + "\"completed\", \"content\": [{\"type\": \"output_text\", \"annotations\": [], \"logprobs\": [], \"text\": "
        + "\"I can't provide real-time updates, but you can easily check the current weather in San Francisco using"
        + " a weather website or app. Typically, San Francisco has cool, foggy summers and mild winters, so it's "
        + "good to be prepared for variable weather!\"}], \"role\": \"assistant\"}], \"parallel_tool_calls\": true,"
        + " \"previous_response_id\": null, \"prompt_cache_key\": null, \"reasoning\": {\"effort\": null, "
        + "\"summary\": null}, \"safety_identifier\": null, \"service_tier\": \"default\", \"store\": true, "
        + "\"temperature\": 1.0, \"text\": {\"format\": {\"type\": \"text\"}, \"verbosity\": \"medium\"}, "
        + "\"tool_choice\": \"auto\", \"tools\": [], \"top_logprobs\": 0, \"top_p\": 1.0, \"truncation\": "
        + "\"disabled\", \"usage\": {\"input_tokens\": 14, \"input_tokens_details\": {\"cached_tokens\": 0}, "
        + "\"output_tokens\": 50, \"output_tokens_details\": {\"reasoning_tokens\": 0}, \"total_tokens\": 64}, "
        + "\"user\": null, \"metadata\": {}}");

    assertThat(e.hasError()).isFalse();
    assertThat(e.id()).isEqualTo("resp_689a0b2545288193953c892439b42e2800b2e36c65a1fd4b");
    assertThat(e.model()).isEqualTo("gpt-4o-mini-2024-07-18");
    assertThat(e.content()).startsWith("I can't provide real-time updates").endsWith("variable weather!");
    assertThat(e.finishReason()).isEqualTo("stop");
    assertThat(e.usage().promptTokens()).isEqualTo(14);
    assertThat(e.usage().completionTokens()).isEqualTo(50);
    assertThat(e.usage().totalTokens()).isEqualTo(64);
  }

  @Test
  void shouldReadFunctionCallsAndReasoningOfAPlainResponseAndRefuseOneThatIsNotFinished() throws Exception {
    ChunkEvent e = RESPONSES.plainAnswer("{\"id\":\"resp_1\",\"status\":\"completed\",\"model\":\"m\",\"output\":["
        + "{\"type\":\"reasoning\",\"summary\":[{\"type\":\"summary_text\",\"text\":\"**A**\"},{\"type\":"
        + "\"summary_text\",\"text\":\"**B**\"}]},"
        + "{\"type\":\"function_call\",\"call_id\":\"call_1\",\"name\":\"f\",\"arguments\":\"{}\"},"
        + "{\"type\":\"function_call\",\"call_id\":\"call_2\",\"name\":\"g\",\"arguments\":\"{\\\"x\\\":1}\"}],"
        + "\"usage\":{\"input_tokens\":5,\"output_tokens\":6,\"total_tokens\":11}}");

    assertThat(e.reasoning()).isEqualTo("**A**\n\n**B**");
    assertThat(e.content()).isNull();
    assertThat(e.toolCalls()).hasSize(2);
    assertThat(e.toolCalls().get(1).index()).isEqualTo(1);
    assertThat(e.toolCalls().get(1).id()).isEqualTo("call_2");
    assertThat(e.toolCalls().get(1).function().arguments()).isEqualTo("{\"x\":1}");
    assertThat(e.finishReason()).isEqualTo("tool_calls");
    assertThatThrownBy(() -> RESPONSES.plainAnswer("{\"id\":\"r\",\"status\":\"in_progress\",\"output\":[]}"))
        .hasMessageContaining("in_progress");
  }

  @Test
  void shouldClassifyAFailedPlainResponseLikeTheStreamsResponseFailed() throws Exception {
    String invalid = "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"failed\",\"error\":{\"code\":"
        + "\"invalid_image_url\",\"message\":\"Error while downloading https://example.com/x.png.\"},\"output\":[],"
        + "\"usage\":null}";
    String limited = "{\"id\":\"resp_2\",\"status\":\"failed\",\"error\":{\"code\":\"rate_limit_exceeded\","
        + "\"message\":\"Rate limit reached\"},\"output\":[]}";

    for (String response : List.of(invalid, limited)) {
      assertThat(RESPONSES.plainAnswer(response).hasError()).as(response).isTrue();
      DecodedEvents streamed = new DecodedEvents();
      new ResponsesEventDecoder().decode("response.failed", "{\"type\":\"response.failed\",\"response\":"
          + response + "}", streamed);
      assertThat(RESPONSES.answerFailure(response)).as(response).isEqualTo(streamed.failures.get(0));
    }
    Failure rejected = RESPONSES.answerFailure(invalid);
    assertThat(rejected.kind()).isEqualTo(FailureClass.PERMANENT);
    assertThat(rejected.code()).isEqualTo(ErrorCodes.UPSTREAM_REJECTED);
    assertThat(rejected.message()).contains("invalid_image_url");
    assertThat(RESPONSES.answerFailure(limited).kind()).isEqualTo(FailureClass.TRANSIENT);
    assertThat(RESPONSES.answerFailure(limited).code()).isEqualTo(ErrorCodes.UPSTREAM_RATE_LIMITED);
    assertThat(RESPONSES.answerFailure("{\"status\":\"failed\",\"output\":[]}").kind())
        .as("failed without an error object").isEqualTo(FailureClass.TRANSIENT);
  }

  private static Assignment assignment(List<ChatMessage> messages, Map<String, JsonNode> params) {
    return new Assignment("lease-1", job(messages, params), 1, Priority.NORMAL, STREAMING, "k1", Instant.EPOCH,
        Instant.EPOCH, null, "llm.replies");
  }

  private static Job job(List<ChatMessage> messages, Map<String, JsonNode> params) {
    return new Job("job-1", "gpt", messages, null, null, null, null, null, null, params);
  }

  private static JsonNode json(String s) {
    return Json.read(s.getBytes(StandardCharsets.UTF_8), JsonNode.class);
  }
}
