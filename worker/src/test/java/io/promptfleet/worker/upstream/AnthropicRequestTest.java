package io.promptfleet.worker.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.ProviderProtocol;
import io.promptfleet.common.config.ProviderSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ChatMessage;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Route;
import io.promptfleet.common.upstream.UnsupportedJobException;
import io.vertx.core.http.RequestOptions;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The translation of a job (OpenAI chat format) into an Anthropic Messages request, and its request line. */
class AnthropicRequestTest {
  private static final UpstreamProtocol ANTHROPIC = Protocols.of(ProviderProtocol.ANTHROPIC);
  private static final Route ROUTE = new Route("anthropic/claude", "anthropic", "claude-sonnet-4-5", null, null,
      null, null, null, null, 2_048);

  @Test
  void shouldPostToMessagesWithTheKeyInXApiKeyTheVersionAndTheProvidersHeaders() {
    ProviderSettings provider = new ProviderSettings("https://api.anthropic.com/v1/", 1_000L, null, null, null,
        ProviderProtocol.ANTHROPIC, null, null, null, null);
    ProviderEndpoint endpoint = new ProviderEndpoint(provider, "sk-ant-test", Map.of("anthropic-beta", "b1"), null);

    RequestOptions o = ANTHROPIC.options(endpoint, assignment("[{\"role\":\"user\",\"content\":\"Hi\"}]", Map.of()));

    assertThat(o.getURI()).isEqualTo("/v1/messages");
    assertThat(o.getHeaders().get("x-api-key")).isEqualTo("sk-ant-test");
    assertThat(o.getHeaders().get("authorization")).as("no Bearer header to Anthropic").isNull();
    assertThat(o.getHeaders().get("anthropic-version")).isEqualTo("2023-06-01");
    assertThat(o.getHeaders().get("anthropic-beta")).isEqualTo("b1");
    assertThat(o.getHeaders().get("x-client-request-id")).isEqualTo("job-1/1");
    ProviderSettings dated = new ProviderSettings("https://api.anthropic.com/v1", 1_000L, null, null, null,
        ProviderProtocol.ANTHROPIC, "2024-01-01", null, null, null);
    assertThat(ANTHROPIC.options(new ProviderEndpoint(dated, "k", Map.of(), null),
        assignment("[{\"role\":\"user\",\"content\":\"Hi\"}]", Map.of())).getHeaders().get("anthropic-version"))
        .as("the provider's api_version").isEqualTo("2024-01-01");
  }

  @Test
  void shouldMoveSystemMessagesToSystemAndMergeToolResultsIntoOneUserTurn() {
    ObjectNode body = ANTHROPIC.body(assignment("""
        [{"role":"system","content":"Be brief."},
         {"role":"developer","content":[{"type":"text","text":"Use tools.","cache_control":{"type":"ephemeral"}}]},
         {"role":"user","content":"Weather in Paris and Rome?"},
         {"role":"assistant","content":null,"tool_calls":[
           {"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\\"city\\":\\"Paris\\"}"}},
           {"id":"call_2","type":"function","function":{"name":"weather","arguments":"{\\"city\\":\\"Rome\\"}"}}]},
         {"role":"tool","tool_call_id":"call_1","content":"18C"},
         {"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"24C"}]},
         {"role":"user","content":"Thanks"}]""", Map.of()));

    assertThat(body.get("model").asText()).isEqualTo("claude-sonnet-4-5");
    assertThat(body.get("system")).isEqualTo(json("""
        [{"type":"text","text":"Be brief."},
         {"type":"text","text":"Use tools.","cache_control":{"type":"ephemeral"}}]"""));
    assertThat(body.get("messages")).isEqualTo(json("""
        [{"role":"user","content":[{"type":"text","text":"Weather in Paris and Rome?"}]},
         {"role":"assistant","content":[
           {"type":"tool_use","id":"call_1","name":"weather","input":{"city":"Paris"}},
           {"type":"tool_use","id":"call_2","name":"weather","input":{"city":"Rome"}}]},
         {"role":"user","content":[
           {"type":"tool_result","tool_use_id":"call_1","content":"18C"},
           {"type":"tool_result","tool_use_id":"call_2","content":[{"type":"text","text":"24C"}]},
           {"type":"text","text":"Thanks"}]}]"""));
    assertThat(body.get("max_tokens").asInt()).as("the route's default: Anthropic requires a limit").isEqualTo(2_048);
    assertThat(body.get("stream").asBoolean()).isTrue();
  }

  @Test
  void shouldTranslateImagesAsBase64OrUrlSources() {
    ObjectNode body = ANTHROPIC.body(assignment("""
        [{"role":"user","content":[{"type":"text","text":"Compare"},
          {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
          {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg","detail":"high"}}]}]""", Map.of()));

    assertThat(body.at("/messages/0/content")).isEqualTo(json("""
        [{"type":"text","text":"Compare"},
         {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
         {"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]"""));
  }

  @Test
  void shouldTranslateToolsChoicesStopLimitsAndUserAndPassAnthropicFieldsThrough() {
    Map<String, JsonNode> params = new LinkedHashMap<>();
    params.put("tools", json("""
        [{"type":"function","function":{"name":"weather","description":"Current weather",
          "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
         {"type":"function","function":{"name":"now"}}]"""));
    params.put("tool_choice", json("{\"type\":\"function\",\"function\":{\"name\":\"weather\"}}"));
    params.put("parallel_tool_calls", json("false"));
    params.put("stop", json("\"END\""));
    params.put("temperature", json("0.3"));
    params.put("top_p", json("0.9"));
    params.put("max_completion_tokens", json("300"));
    params.put("user", json("\"u-42\""));
    params.put("thinking", json("{\"type\":\"enabled\",\"budget_tokens\":1024}"));
    params.put("top_k", json("5"));
    params.put("n", json("1"));

    ObjectNode body = ANTHROPIC.body(assignment("[{\"role\":\"user\",\"content\":\"Hi\"}]", params));

    assertThat(body.get("tools")).isEqualTo(json("""
        [{"name":"weather","description":"Current weather",
          "input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},
         {"name":"now","input_schema":{"type":"object","properties":{}}}]"""));
    assertThat(body.get("tool_choice")).isEqualTo(json(
        "{\"type\":\"tool\",\"name\":\"weather\",\"disable_parallel_tool_use\":true}"));
    assertThat(body.get("stop_sequences")).isEqualTo(json("[\"END\"]"));
    assertThat(body.get("temperature").asDouble()).isEqualTo(0.3);
    assertThat(body.get("top_p").asDouble()).isEqualTo(0.9);
    assertThat(body.get("max_tokens").asInt()).isEqualTo(300);
    assertThat(body.has("max_completion_tokens")).isFalse();
    assertThat(body.get("metadata")).isEqualTo(json("{\"user_id\":\"u-42\"}"));
    assertThat(body.get("thinking")).as("Anthropic's own field, as given")
        .isEqualTo(json("{\"type\":\"enabled\",\"budget_tokens\":1024}"));
    assertThat(body.get("top_k").asInt()).isEqualTo(5);
    assertThat(body.has("n")).as("n = 1 means nothing upstream").isFalse();
    assertThat(body.has("user")).isFalse();
    assertThat(body.has("parallel_tool_calls")).isFalse();
  }

  @Test
  void shouldMapEachToolChoice() {
    assertThat(choice("\"auto\"")).isEqualTo(json("{\"type\":\"auto\"}"));
    assertThat(choice("\"required\"")).isEqualTo(json("{\"type\":\"any\"}"));
    assertThat(choice("\"none\"")).isEqualTo(json("{\"type\":\"none\"}"));
    ObjectNode serial = ANTHROPIC.body(assignment("[{\"role\":\"user\",\"content\":\"Hi\"}]",
        Map.of("parallel_tool_calls", json("false"))));
    assertThat(serial.get("tool_choice")).isEqualTo(json("{\"type\":\"auto\",\"disable_parallel_tool_use\":true}"));
  }

  @Test
  void shouldSendASignedReasoningBackAsAThinkingBlock() {
    ObjectNode body = ANTHROPIC.body(assignment("""
        [{"role":"user","content":"27 * 453?"},
         {"role":"assistant","content":"12,231","reasoning":"27*453 = 12,231","reasoning_signature":"EqQB"}]""",
        Map.of()));

    assertThat(body.at("/messages/1/content")).isEqualTo(json("""
        [{"type":"thinking","thinking":"27*453 = 12,231","signature":"EqQB"},{"type":"text","text":"12,231"}]"""));
  }

  @Test
  void shouldRefuseEveryJobFieldAnthropicCannotExpressNamingIt() {
    String hi = "[{\"role\":\"user\",\"content\":\"Hi\"}]";
    for (String[] c : new String[][] {{"n", "2"}, {"logprobs", "true"}, {"top_logprobs", "3"},
        {"frequency_penalty", "0.5"}, {"presence_penalty", "0.1"}, {"logit_bias", "{\"1\":2}"}, {"seed", "7"},
        {"response_format", "{\"type\":\"json_object\"}"}, {"reasoning_effort", "\"low\""}}) {
      assertThatThrownBy(() -> ANTHROPIC.body(assignment(hi, Map.of(c[0], json(c[1])))))
          .as(c[0]).isInstanceOf(UnsupportedJobException.class).hasMessageContaining(c[0]);
    }
    assertThatThrownBy(() -> ANTHROPIC.body(assignment(
        "[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":{}}]}]", Map.of())))
        .isInstanceOf(UnsupportedJobException.class).hasMessageContaining("messages[0].content[0].type");
    assertThatThrownBy(() -> ANTHROPIC.body(assignment(
        "[{\"role\":\"user\",\"content\":\"Hi\",\"name\":\"bob\"}]", Map.of())))
        .isInstanceOf(UnsupportedJobException.class).hasMessageContaining("messages[0].name");
    assertThatThrownBy(() -> ANTHROPIC.body(assignment(hi,
        Map.of("tools", json("[{\"type\":\"custom\",\"custom\":{\"name\":\"x\"}}]")))))
        .isInstanceOf(UnsupportedJobException.class).hasMessageContaining("tools[0].type");
    assertThatThrownBy(() -> ANTHROPIC.body(assignment("""
        [{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{oops"}}]}]
        """, Map.of())))
        .isInstanceOf(UnsupportedJobException.class).hasMessageContaining("messages[0].tool_calls[0].function.arguments");
    assertThatThrownBy(() -> ANTHROPIC.body(assignment(
        "[{\"role\":\"system\",\"content\":\"A\"},{\"role\":\"user\",\"content\":\"Hi\"}]",
        Map.of("system", json("\"B\"")))))
        .as("a pass-through field never overwrites a translated one").isInstanceOf(UnsupportedJobException.class)
        .hasMessageContaining("system");
  }

  private static JsonNode choice(String toolChoice) {
    return ANTHROPIC.body(assignment("[{\"role\":\"user\",\"content\":\"Hi\"}]",
        Map.of("tool_choice", json(toolChoice)))).get("tool_choice");
  }

  private static Assignment assignment(String messages, Map<String, JsonNode> params) {
    List<ChatMessage> m = Arrays.asList(Json.read(messages.getBytes(StandardCharsets.UTF_8), ChatMessage[].class));
    Job job = new Job("job-1", "claude", m, null, null, null, null, null, null, params);
    return new Assignment("lease-1", job, 1, Priority.NORMAL, ROUTE, "k1", Instant.EPOCH, Instant.EPOCH, null,
        "llm.replies");
  }

  private static JsonNode json(String s) {
    return Json.read(s.getBytes(StandardCharsets.UTF_8), JsonNode.class);
  }
}
