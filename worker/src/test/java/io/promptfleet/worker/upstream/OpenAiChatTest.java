package io.promptfleet.worker.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.ProviderSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ChatMessage;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Route;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OpenAiChatTest {
  private static final OpenAiChat OPENAI = new OpenAiChat();
  private static final Route STREAMING = new Route("openai/gpt", "openai", "gpt-upstream", null, null);

  @Test
  void shouldSendTheRoutesModelTheMessagesAndEveryFieldTheJobPassedThrough() {
    ObjectNode body = OPENAI.body(assignment(STREAMING, null, Map.of(
        "temperature", Json.mapper().valueToTree(0.2),
        "tools", json("[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]"),
        "max_completion_tokens", Json.mapper().valueToTree(64))));

    assertThat(body.get("model").asText()).isEqualTo("gpt-upstream");
    assertThat(body.get("messages")).isEqualTo(json("[{\"role\":\"user\",\"content\":\"Hi\"}]"));
    assertThat(body.get("temperature").asDouble()).isEqualTo(0.2);
    assertThat(body.get("tools").get(0).path("function").path("name").asText()).isEqualTo("f");
    assertThat(body.get("max_completion_tokens").asInt()).isEqualTo(64);
    assertThat(body.has("max_tokens")).as("the job's own limit, and only it").isFalse();
    assertThat(body.get("stream").asBoolean()).isTrue();
    assertThat(body.get("stream_options")).isEqualTo(json("{\"include_usage\":true}"));
  }

  @Test
  void shouldSendTheRoutesDefaultLimitInTheRoutesFieldWhenTheJobSetsNone() {
    Route reasoning = new Route("openai/o", "openai", "o4", null, null, null, null, null, "max_completion_tokens",
        256);

    ObjectNode body = OPENAI.body(assignment(reasoning, null, Map.of()));

    assertThat(body.get("max_completion_tokens").asInt()).isEqualTo(256);
    assertThat(body.has("max_tokens")).isFalse();
  }

  @Test
  void shouldSendMaxTokensWrittenByADispatcherThatPredatesParamsLimits() {
    Route withDefault = new Route("r", "p", "m", null, null, null, null, null, null, 256);

    ObjectNode body = OPENAI.body(assignment(withDefault, 50, Map.of()));

    assertThat(body.get("max_tokens").asInt()).isEqualTo(50);
  }

  @Test
  void shouldKeepTheJobsOtherStreamOptionsAndNotChangeTheJob() {
    JsonNode given = json("{\"include_obfuscation\":false}");
    Assignment a = assignment(STREAMING, null, Map.of("stream_options", given));

    ObjectNode body = OPENAI.body(a);

    assertThat(body.get("stream_options")).isEqualTo(json("{\"include_obfuscation\":false,\"include_usage\":true}"));
    assertThat(a.job().params().get("stream_options")).isEqualTo(json("{\"include_obfuscation\":false}"));
  }

  @Test
  void shouldSendNeitherStreamNorStreamOptionsForARouteThatDoesNotStream() {
    Route plain = new Route("r", "p", "m", null, null, null, false, null, null, null);

    ObjectNode body = OPENAI.body(assignment(plain, null, Map.of("stream_options",
        json("{\"include_usage\":true}"))));

    assertThat(body.has("stream")).isFalse();
    assertThat(body.has("stream_options")).isFalse();
  }

  @Test
  void shouldPostWithTheKeysAuthorizationAndNameTheAttemptInTheRequestId() {
    ProviderEndpoint endpoint = new ProviderEndpoint(new ProviderSettings("https://api.example/v1/", 1_234L, null,
        null, null), "Bearer sk-test", Map.of("X-Gateway", "gw-1"), null);

    RequestOptions streaming = OPENAI.options(endpoint, assignment(STREAMING, null, Map.of()));
    RequestOptions plain = OPENAI.options(endpoint, assignment(
        new Route("r", "p", "m", null, null, null, false, null, null, null), null, Map.of()));

    assertThat(streaming.getMethod()).isEqualTo(HttpMethod.POST);
    assertThat(streaming.getHost()).isEqualTo("api.example");
    assertThat(streaming.getURI()).isEqualTo("/v1/chat/completions");
    assertThat(streaming.getConnectTimeout()).as("not on the request: it would bound the wait for a pooled"
        + " connection too (ProviderClients)").isEqualTo(RequestOptions.DEFAULT_CONNECT_TIMEOUT);
    assertThat(streaming.getHeaders().get("authorization")).isEqualTo("Bearer sk-test");
    assertThat(streaming.getHeaders().get("x-gateway")).as("the provider's extra header").isEqualTo("gw-1");
    assertThat(streaming.getHeaders().get("content-type")).isEqualTo("application/json");
    assertThat(streaming.getHeaders().get("accept")).isEqualTo("text/event-stream");
    assertThat(streaming.getHeaders().get("x-client-request-id")).isEqualTo("job-1/3");
    assertThat(plain.getHeaders().get("accept")).isEqualTo("application/json");
  }

  private static Assignment assignment(Route route, Integer maxTokens, Map<String, JsonNode> params) {
    Job job = new Job("job-1", "gpt", List.of(new ChatMessage("user", TextNode.valueOf("Hi"), null, null, null)),
        maxTokens, null, null, null, null, null, params);
    return new Assignment("lease-1", job, 3, Priority.NORMAL, route, "k1", Instant.EPOCH, Instant.EPOCH, null,
        "llm.replies");
  }

  private static JsonNode json(String s) {
    return Json.read(s.getBytes(StandardCharsets.UTF_8), JsonNode.class);
  }
}
