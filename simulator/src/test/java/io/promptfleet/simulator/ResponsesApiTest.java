package io.promptfleet.simulator;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * {@code POST /v1/responses}: the answer plan and faults of chat completions, in the OpenAI Responses API's request
 * and semantic event shapes (API reference, "Streaming events").
 */
class ResponsesApiTest extends SimulatorTest {

  /** One event: its {@code event:} type and its data. */
  record Event(String type, JsonObject data) {}

  private static JsonObject request(String userText, boolean stream) {
    JsonObject body = new JsonObject().put("model", "gpt-test").put("store", false)
        .put("input", new JsonArray().add(new JsonObject().put("type", "message").put("role", "user")
            .put("content", new JsonArray().add(new JsonObject().put("type", "input_text").put("text", userText)))));
    return stream ? body.put("stream", true) : body;
  }

  private static HttpResponse<String> post(JsonObject body, String... headers) {
    List<String> all = new ArrayList<>(List.of("Authorization", SimulatorHarness.KEY));
    all.addAll(List.of(headers));
    return sim.send(sim.request("/responses", body.encode(), all.toArray(String[]::new)).build());
  }

  private static List<Event> events(String body) {
    List<Event> out = new ArrayList<>();
    for (String block : SimulatorHarness.events(body)) {
      String[] lines = block.split("\n");
      assertThat(lines).as("event: and data: lines of %s", block).hasSize(2);
      assertThat(lines[0]).startsWith("event: ");
      JsonObject data = new JsonObject(lines[1].substring("data: ".length()));
      assertThat(data.getString("type")).isEqualTo(lines[0].substring("event: ".length()));
      out.add(new Event(data.getString("type"), data));
    }
    return out;
  }

  private static String joined(List<Event> events, String type, String field) {
    return events.stream().filter(e -> e.type().equals(type)).map(e -> e.data().getString(field))
        .collect(Collectors.joining());
  }

  @Test
  void shouldStreamTextAsAMessageItemAndCompleteWithTheOutputAndUsage() {
    List<Event> events = events(post(request("Hello there", true)).body());

    assertThat(events.stream().map(Event::type).distinct().toList()).containsExactly("response.created",
        "response.in_progress", "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.done", "response.content_part.done",
        "response.output_item.done", "response.completed");
    for (int i = 0; i < events.size(); i++) {
      assertThat(events.get(i).data().getInteger("sequence_number")).isEqualTo(i);
    }
    String text = joined(events, "response.output_text.delta", "delta");
    assertThat(text).isNotEmpty().isEqualTo(joined(events, "response.output_text.done", "text"));
    JsonObject response = events.get(events.size() - 1).data().getJsonObject("response");
    assertThat(response.getString("status")).isEqualTo("completed");
    assertThat(response.getJsonArray("output").getJsonObject(0).getJsonArray("content").getJsonObject(0)
        .getString("text")).isEqualTo(text);
    JsonObject usage = response.getJsonObject("usage");
    assertThat(usage.getInteger("output_tokens")).isEqualTo((int) events.stream()
        .filter(e -> e.type().equals("response.output_text.delta")).count());
    assertThat(usage.getInteger("total_tokens"))
        .isEqualTo(usage.getInteger("input_tokens") + usage.getInteger("output_tokens"));
  }

  @Test
  void shouldStreamParallelFunctionCallsWithReasoningSummaryAndCachedTokens() {
    JsonObject req = request("weather? [[sim:reasoning tokens=4]] [[sim:tool_calls n=2 split=9]] "
        + "[[sim:cached tokens=2]]", true).put("tools", new JsonArray()
        .add(new JsonObject().put("type", "function").put("name", "get_weather"))
        .add(new JsonObject().put("type", "function").put("name", "get_time")));

    List<Event> events = events(post(req).body());

    List<JsonObject> calls = events.stream().filter(e -> e.type().equals("response.output_item.added"))
        .map(e -> e.data().getJsonObject("item")).filter(i -> "function_call".equals(i.getString("type"))).toList();
    assertThat(calls).extracting(c -> c.getString("name")).containsExactly("get_weather", "get_time");
    assertThat(calls.get(0).getString("call_id")).isNotEqualTo(calls.get(1).getString("call_id"));
    for (int c = 0; c < 2; c++) {
      String item = calls.get(c).getString("id");
      String args = events.stream().filter(e -> e.type().equals("response.function_call_arguments.delta")
          && e.data().getString("item_id").equals(item)).map(e -> e.data().getString("delta"))
          .collect(Collectors.joining());
      assertThat(args).isEqualTo(c == 0 ? ToolCallsTest.ARGUMENTS_0 : ToolCallsTest.ARGUMENTS_1);
    }
    assertThat(joined(events, "response.reasoning_summary_text.delta", "delta")).isNotEmpty()
        .isEqualTo(joined(events, "response.reasoning_summary_text.done", "text"));
    assertThat(events.stream().map(Event::type).toList().indexOf("response.reasoning_summary_text.delta"))
        .isLessThan(events.stream().map(Event::type).toList().indexOf("response.function_call_arguments.delta"));
    JsonObject usage = events.get(events.size() - 1).data().getJsonObject("response").getJsonObject("usage");
    assertThat(usage.getJsonObject("input_tokens_details").getInteger("cached_tokens")).isEqualTo(2);
    assertThat(usage.getJsonObject("output_tokens_details").getInteger("reasoning_tokens")).isEqualTo(4);
  }

  @Test
  void shouldEndAMidStreamErrorWithResponseFailedOrAnErrorEvent() {
    List<Event> failed = events(post(request("x [[sim:error_event after=2]]", true)).body());
    List<Event> error = events(post(request("x [[sim:error_event after=2 form=event]]", true)).body());

    Event last = failed.get(failed.size() - 1);
    assertThat(last.type()).isEqualTo("response.failed");
    assertThat(last.data().getJsonObject("response").getJsonObject("error").getString("code"))
        .isEqualTo("server_error");
    assertThat(error.get(error.size() - 1).type()).isEqualTo("error");
    assertThat(error.get(error.size() - 1).data().getString("code")).isEqualTo("server_error");
    assertThat(failed).extracting(Event::type).doesNotContain("response.completed");
  }

  @Test
  void shouldEndAnAnswerCutByMaxOutputTokensAsIncomplete() {
    List<Event> events = events(post(request("long", true).put("max_output_tokens", 16), "x-simulator-tokens", "40")
        .body());

    JsonObject response = events.get(events.size() - 1).data().getJsonObject("response");
    assertThat(events.get(events.size() - 1).type()).isEqualTo("response.incomplete");
    assertThat(response.getJsonObject("incomplete_details").getString("reason")).isEqualTo("max_output_tokens");
    assertThat(response.getJsonObject("usage").getInteger("output_tokens")).isEqualTo(16);
  }

  @Test
  void shouldAnswerARequestThatDoesNotStreamWithAResponseObjectAndRejectATooSmallLimit() {
    HttpResponse<String> plain = post(request("Hi [[sim:reply b64=" + SimulatorHarness.b64("Hello, world")
        + "]]", false));
    HttpResponse<String> tooSmall = post(request("Hi", true).put("max_output_tokens", 8));
    HttpResponse<String> status = post(request("Hi [[sim:status code=400]]", true));

    JsonObject response = new JsonObject(plain.body());
    assertThat(response.getString("object")).isEqualTo("response");
    assertThat(response.getString("status")).isEqualTo("completed");
    assertThat(response.getJsonArray("output").getJsonObject(0).getJsonArray("content").getJsonObject(0)
        .getString("text")).isEqualTo("Hello, world");
    assertThat(tooSmall.statusCode()).isEqualTo(400);
    assertThat(new JsonObject(tooSmall.body()).getJsonObject("error").getString("param"))
        .isEqualTo("max_output_tokens");
    assertThat(status.statusCode()).isEqualTo(400);
  }
}
