package io.promptfleet.simulator;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code POST /v1/messages}: the simulator's answers and faults in Anthropic's Messages format. */
class AnthropicMessagesTest extends SimulatorTest {

  private static JsonObject messages(String user, boolean stream) {
    return new JsonObject().put("model", "claude-test").put("max_tokens", 64).put("stream", stream)
        .put("system", new JsonArray().add(new JsonObject().put("type", "text").put("text", "You are terse, always.")
            .put("cache_control", new JsonObject().put("type", "ephemeral"))))
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", user)));
  }

  private static HttpResponse<String> post(JsonObject body, String... headers) {
    return sim.send(sim.request("/messages", body.encode(), headers).build());
  }

  /** Each event as {name, data}. */
  private static List<JsonObject> events(String body) {
    List<JsonObject> out = new ArrayList<>();
    for (String block : body.split("\n\n")) {
      String[] lines = block.split("\n");
      if (lines.length == 2 && lines[0].startsWith("event: ") && lines[1].startsWith("data: ")) {
        JsonObject data = new JsonObject(lines[1].substring(6));
        assertThat(data.getString("type")).as("the event name is the data's type").isEqualTo(lines[0].substring(7));
        out.add(data);
      }
    }
    return out;
  }

  @Test
  void shouldStreamThinkingTextAndToolUseWithCacheUsageCountingTheKeyFromXApiKey() {
    String prompt = "Weather? " + Fault.reasoning(3).toDirective() + " " + Fault.toolCalls(1).toDirective() + " "
        + Fault.cached(4).toDirective();

    HttpResponse<String> r = post(messages(prompt, true), "x-api-key", "sk-ant-1", "anthropic-version", "2023-06-01");

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("anthropic-ratelimit-requests-remaining")).isPresent();
    assertThat(r.headers().firstValue("anthropic-ratelimit-tokens-reset")).hasValueSatisfying(v ->
        assertThat(java.time.Instant.parse(v)).isNotNull());
    List<JsonObject> ev = events(r.body());
    assertThat(ev.get(0).getString("type")).isEqualTo("message_start");
    JsonObject usage = ev.get(0).getJsonObject("message").getJsonObject("usage");
    assertThat(usage.getInteger("cache_read_input_tokens")).isEqualTo(4);
    assertThat(usage.getInteger("cache_creation_input_tokens")).as("the cacheable system prefix not read")
        .isEqualTo(6 - 4);
    assertThat(ev.stream().map(e -> e.getString("type")).toList()).contains("content_block_start",
        "content_block_stop", "message_delta").last().isEqualTo("message_stop");
    List<String> blocks = ev.stream().filter(e -> e.getString("type").equals("content_block_start"))
        .map(e -> e.getJsonObject("content_block").getString("type")).toList();
    assertThat(blocks).containsExactly("thinking", "tool_use");
    assertThat(ev.stream().filter(e -> e.getString("type").equals("content_block_delta"))
        .map(e -> e.getJsonObject("delta").getString("type")).distinct().toList())
        .containsExactly("thinking_delta", "signature_delta", "input_json_delta");
    JsonObject delta = ev.get(ev.size() - 2);
    assertThat(delta.getJsonObject("delta").getString("stop_reason")).isEqualTo("tool_use");
    assertThat(delta.getJsonObject("usage").getInteger("output_tokens")).isPositive();
    assertThat(sim.provider.stats().maxConcurrentRequests("Bearer sk-ant-1"))
        .as("the key, counted from x-api-key").isEqualTo(1);
  }

  @Test
  void shouldAnswerAWholeMessageWhenNotStreaming() {
    HttpResponse<String> r = post(messages("Say hi", false), "x-api-key", "sk-ant-1");

    JsonObject m = new JsonObject(r.body());
    assertThat(m.getString("type")).isEqualTo("message");
    assertThat(m.getJsonArray("content").getJsonObject(0).getString("type")).isEqualTo("text");
    assertThat(m.getString("stop_reason")).isEqualTo("end_turn");
    assertThat(m.getJsonObject("usage").getInteger("output_tokens")).isPositive();
  }

  @Test
  void shouldSpeakAnthropicErrors() {
    HttpResponse<String> overloaded = post(messages("x " + Fault.status(529).toDirective(), true),
        "x-api-key", "sk-ant-1");
    assertThat(overloaded.statusCode()).isEqualTo(529);
    assertThat(new JsonObject(overloaded.body())).isEqualTo(new JsonObject().put("type", "error").put("error",
        new JsonObject().put("type", "overloaded_error").put("message", "Overloaded (simulated).")));

    HttpResponse<String> midStream = post(messages("x " + Fault.errorEvent(2).toDirective(), true),
        "x-api-key", "sk-ant-1");
    assertThat(midStream.body()).endsWith("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
        + "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n");

    assertThat(post(messages("x", true)).statusCode()).as("no x-api-key").isEqualTo(401);
    HttpResponse<String> noLimit = post(messages("x", true).copy().put("max_tokens", (Object) null),
        "x-api-key", "sk-ant-1");
    assertThat(noLimit.statusCode()).isEqualTo(400);
    assertThat(noLimit.body()).contains("invalid_request_error").contains("max_tokens");
  }
}
