package io.promptfleet.simulator;

import static io.promptfleet.simulator.SimulatorHarness.assertChunkEnvelopes;
import static io.promptfleet.simulator.SimulatorHarness.chat;
import static io.promptfleet.simulator.SimulatorHarness.choice;
import static io.promptfleet.simulator.SimulatorHarness.choices;
import static io.promptfleet.simulator.SimulatorHarness.events;
import static io.promptfleet.simulator.SimulatorHarness.finishChoice;
import static io.promptfleet.simulator.SimulatorHarness.streamWithUsage;
import static io.promptfleet.simulator.SimulatorHarness.streamedUsage;
import static io.promptfleet.simulator.SimulatorHarness.usage;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code [[sim:tool_calls]]} and {@code [[sim:function_call]]}: OpenAI's streamed and non-streamed call shapes. */
class ToolCallsTest extends SimulatorTest {

  /** The arguments of call 0 and call 1, as JSON text: escapes, non-ASCII and a character outside the BMP. */
  static final String ARGUMENTS_0 = "{\"call\":0,\"city\":\"Zürich \\\"HQ\\\"\",\"path\":\"a\\\\b\\\\0\","
      + "\"note\":\"line 1\\nline\\t2 \uD83D\uDE80\",\"n\":[0,2.5,true,null]}";
  static final String ARGUMENTS_1 = "{\"call\":1,\"city\":\"São Paulo\",\"path\":\"a\\\\b\\\\1\","
      + "\"note\":\"line 1\\nline\\t2 \uD83D\uDE80\",\"n\":[1,2.5,true,null]}";

  @Test
  void shouldStreamParallelToolCallsExactlyLikeOpenAi() {
    // Given a request with two tools asking for two calls in fragments of at most 7 characters
    JsonObject request = withTools(streamWithUsage("weather and time? [[sim:tool_calls n=2 split=7]]"),
        "get_weather", "get_time");

    // When it is streamed
    String body = sim.post(request).body();

    // Then: call 0's header with the role, its fragments, call 1's header, its fragments, finish, usage, [DONE]
    List<JsonObject> choices = choices(body);
    String id0 = toolCalls(choices.get(0)).getJsonObject(0).getString("id");
    List<String> fragments0 = fragments(ARGUMENTS_0, 7);
    String id1 = toolCalls(choices.get(1 + fragments0.size())).getJsonObject(0).getString("id");
    List<JsonObject> expected = new ArrayList<>();
    expected.add(choice(new JsonObject().put("role", "assistant").putNull("content")
        .put("tool_calls", new JsonArray().add(header(0, id0, "get_weather")))));
    fragments0.forEach(f -> expected.add(choice(argumentsDelta(0, f))));
    expected.add(choice(new JsonObject().put("tool_calls", new JsonArray().add(header(1, id1, "get_time")))));
    fragments(ARGUMENTS_1, 7).forEach(f -> expected.add(choice(argumentsDelta(1, f))));
    expected.add(finishChoice("tool_calls"));
    assertThat(choices).containsExactlyElementsOf(expected);

    assertThat(id0).matches("call_[0-9a-z]{16,}").isNotEqualTo(id1);
    assertThat(id1).matches("call_[0-9a-z]{16,}");
    assertChunkEnvelopes(body, "gpt-test");
    List<String> events = events(body);
    assertThat(events).hasSize(expected.size() + 2);
    assertThat(events.get(events.size() - 1)).isEqualTo("data: [DONE]");
    int answerChunks = expected.size() - 2; // one token per chunk after the role chunk, the finish chunk aside
    assertThat(streamedUsage(body)).isEqualTo(usage(promptTokens(request), answerChunks, 0, 0));
  }

  @Test
  void shouldSendArgumentsThatReassembleIntoValidJsonWithEscapesAndNonAscii() {
    String body = sim.post(chat("args [[sim:tool_calls n=2 split=3]]", true)).body();

    List<StringBuilder> arguments = List.of(new StringBuilder(), new StringBuilder());
    for (JsonObject choice : choices(body)) {
      JsonArray calls = choice.getJsonObject("delta").getJsonArray("tool_calls");
      if (calls != null) {
        JsonObject call = calls.getJsonObject(0);
        String fragment = call.getJsonObject("function").getString("arguments");
        assertThat(fragment.codePointCount(0, fragment.length())).isLessThanOrEqualTo(3);
        arguments.get(call.getInteger("index")).append(fragment);
      }
    }
    assertThat(arguments.get(0).toString()).isEqualTo(ARGUMENTS_0);
    assertThat(arguments.get(1).toString()).isEqualTo(ARGUMENTS_1);
    JsonObject parsed = new JsonObject(arguments.get(0).toString());
    assertThat(parsed.getString("city")).isEqualTo("Zürich \"HQ\"");
    assertThat(parsed.getString("path")).isEqualTo("a\\b\\0");
    assertThat(parsed.getString("note")).isEqualTo("line 1\nline\t2 \uD83D\uDE80");
    assertThat(parsed.getJsonArray("n")).isEqualTo(new JsonArray().add(0).add(2.5).add(true).addNull());
  }

  @Test
  void shouldCycleThroughTheRequestsToolNamesOrNameToolsByIndex() {
    List<String> cycled = names(sim.post(withTools(chat("x [[sim:tool_calls n=3]]", true), "a", "b")).body());
    List<String> unnamed = names(sim.post(chat("x [[sim:tool_calls n=3]]", true)).body());
    List<String> ids = ids(sim.post(chat("x [[sim:tool_calls n=3]]", true)).body());

    assertThat(cycled).containsExactly("a", "b", "a");
    assertThat(unnamed).containsExactly("tool_0", "tool_1", "tool_2");
    assertThat(ids).doesNotHaveDuplicates().doesNotContainAnyElementsOf(ids(sim.post(chat("x [[sim:tool_calls n=3]]", true)).body()));
  }

  @Test
  void shouldStreamAContentSentenceBeforeTheCallsWithText() {
    String body = sim.post(withTools(chat("x [[sim:tool_calls text=true split=100]]", true), "search")).body();

    List<JsonObject> choices = choices(body);
    String id = toolCalls(choices.get(8)).getJsonObject(0).getString("id");
    List<JsonObject> expected = new ArrayList<>();
    expected.add(choice(new JsonObject().put("role", "assistant").put("content", "")));
    for (String word : List.of("Let", " me", " look", " that", " up", " for", " you.")) {
      expected.add(choice(new JsonObject().put("content", word)));
    }
    expected.add(choice(new JsonObject().put("tool_calls", new JsonArray().add(header(0, id, "search")))));
    expected.add(choice(argumentsDelta(0, ARGUMENTS_0)));
    expected.add(finishChoice("tool_calls"));
    assertThat(choices).containsExactlyElementsOf(expected);
  }

  @Test
  void shouldAnswerToolCallsWithoutStreamingInTheMessage() {
    JsonObject request = withTools(chat("weather? [[sim:tool_calls n=2 split=7]]", false), "get_weather");

    JsonObject completion = new JsonObject(sim.post(request).body());

    assertThat(completion.getString("object")).isEqualTo("chat.completion");
    JsonObject choice = completion.getJsonArray("choices").getJsonObject(0);
    JsonArray calls = choice.getJsonObject("message").getJsonArray("tool_calls");
    assertThat(choice).isEqualTo(new JsonObject().put("index", 0)
        .put("message", new JsonObject().put("role", "assistant").putNull("content").put("tool_calls", new JsonArray()
            .add(call(calls.getJsonObject(0).getString("id"), "get_weather", ARGUMENTS_0))
            .add(call(calls.getJsonObject(1).getString("id"), "get_weather", ARGUMENTS_1)))
            .putNull("refusal"))
        .putNull("logprobs").put("finish_reason", "tool_calls"));
    int chunks = fragments(ARGUMENTS_0, 7).size() + 1 + fragments(ARGUMENTS_1, 7).size();
    assertThat(completion.getJsonObject("usage")).isEqualTo(usage(promptTokens(request), chunks, 0, 0));
  }

  @Test
  void shouldStreamALegacyFunctionCall() {
    JsonObject request = streamWithUsage("x [[sim:function_call split=30]]").put("functions", new JsonArray()
        .add(new JsonObject().put("name", "lookup")).add(new JsonObject().put("name", "other")));

    String body = sim.post(request).body();

    List<JsonObject> expected = new ArrayList<>();
    expected.add(choice(new JsonObject().put("role", "assistant").putNull("content")
        .put("function_call", new JsonObject().put("name", "lookup").put("arguments", ""))));
    fragments(ARGUMENTS_0, 30).forEach(f -> expected.add(
        choice(new JsonObject().put("function_call", new JsonObject().put("arguments", f)))));
    expected.add(finishChoice("function_call"));
    assertThat(choices(body)).containsExactlyElementsOf(expected);
    assertThat(streamedUsage(body).getInteger("completion_tokens")).isEqualTo(fragments(ARGUMENTS_0, 30).size());
  }

  @Test
  void shouldAnswerALegacyFunctionCallWithoutStreaming() {
    JsonObject completion = new JsonObject(sim.post(chat("x [[sim:function_call]]", false)).body());

    assertThat(completion.getJsonArray("choices").getJsonObject(0)).isEqualTo(new JsonObject().put("index", 0)
        .put("message", new JsonObject().put("role", "assistant").putNull("content")
            .put("function_call", new JsonObject().put("name", "tool_0").put("arguments", ARGUMENTS_0))
            .putNull("refusal"))
        .putNull("logprobs").put("finish_reason", "function_call"));
  }

  @Test
  void shouldStopWithLengthWhenTheTokenLimitCutsTheArguments() {
    String streamed = sim.post(chat("x [[sim:tool_calls split=5]]", true).put("max_completion_tokens", 3)).body();
    JsonObject plain = new JsonObject(sim.post(chat("x [[sim:tool_calls split=5]]", false).put("max_tokens", 3)).body());

    List<JsonObject> choices = choices(streamed);
    assertThat(choices).hasSize(1 + 3 + 1);
    assertThat(choices.get(4)).isEqualTo(finishChoice("length"));
    JsonObject call = plain.getJsonArray("choices").getJsonObject(0).getJsonObject("message")
        .getJsonArray("tool_calls").getJsonObject(0);
    assertThat(call.getJsonObject("function").getString("arguments")).isEqualTo(ARGUMENTS_0.substring(0, 15));
    assertThat(plain.getJsonArray("choices").getJsonObject(0).getString("finish_reason")).isEqualTo("length");
  }

  @Test
  void shouldCombineAToolCallAnswerWithACutAfterTwoChunks() throws Exception {
    try (StreamCapture stream = sim.openStream(chat("x [[sim:tool_calls]] [[sim:cut after=2]]", true))) {
      String body = stream.readToEnd();

      assertThat(stream.failure()).isInstanceOf(IOException.class);
      List<JsonObject> choices = choices(body);
      assertThat(choices).hasSize(1 + 2);
      assertThat(choices.get(2).getJsonObject("delta").getJsonArray("tool_calls").getJsonObject(0)
          .getJsonObject("function").getString("arguments")).isEqualTo(fragments(ARGUMENTS_0, 8).get(1));
      assertThat(body).doesNotContain("finish_reason\":\"").doesNotContain("[DONE]");
    }
  }

  @Test
  void shouldNotCountAnswerShapesAsFaults() {
    sim.post(chat("x [[sim:tool_calls]]", true));
    sim.provider.faults().forAll(Fault.toolCalls(1));
    String registered = sim.post(chat("plain", true)).body();

    assertThat(registered).contains("\"finish_reason\":\"tool_calls\"");
    assertThat(sim.provider.stats().faultedRequests()).isZero();
  }

  // ------------------------------------------------------------------ helpers

  static JsonObject withTools(JsonObject request, String... names) {
    JsonArray tools = new JsonArray();
    for (String name : names) {
      tools.add(new JsonObject().put("type", "function").put("function", new JsonObject().put("name", name)
          .put("parameters", new JsonObject().put("type", "object"))));
    }
    return request.put("tools", tools);
  }

  /** {@code text} in pieces of at most {@code max} code points. */
  static List<String> fragments(String text, int max) {
    List<String> pieces = new ArrayList<>();
    int[] codePoints = text.codePoints().toArray();
    for (int i = 0; i < codePoints.length; i += max) {
      pieces.add(new String(codePoints, i, Math.min(max, codePoints.length - i)));
    }
    return pieces;
  }

  /** The simulator's estimate for a one-message request: characters / 4, rounded up. */
  static int promptTokens(JsonObject request) {
    String text = request.getJsonArray("messages").getJsonObject(0).getString("content");
    return Math.max(1, (text.length() + 3) / 4);
  }

  private static JsonArray toolCalls(JsonObject choice) {
    return choice.getJsonObject("delta").getJsonArray("tool_calls");
  }

  private static JsonObject header(int index, String id, String name) {
    return new JsonObject().put("index", index).put("id", id).put("type", "function")
        .put("function", new JsonObject().put("name", name).put("arguments", ""));
  }

  private static JsonObject argumentsDelta(int index, String fragment) {
    return new JsonObject().put("tool_calls", new JsonArray().add(new JsonObject().put("index", index)
        .put("function", new JsonObject().put("arguments", fragment))));
  }

  private static JsonObject call(String id, String name, String arguments) {
    return new JsonObject().put("id", id).put("type", "function")
        .put("function", new JsonObject().put("name", name).put("arguments", arguments));
  }

  private static List<String> names(String body) {
    List<String> names = new ArrayList<>();
    for (JsonObject choice : choices(body)) {
      JsonArray calls = toolCalls(choice);
      if (calls != null && calls.getJsonObject(0).containsKey("id")) {
        names.add(calls.getJsonObject(0).getJsonObject("function").getString("name"));
      }
    }
    return names;
  }

  private static List<String> ids(String body) {
    List<String> ids = new ArrayList<>();
    for (JsonObject choice : choices(body)) {
      JsonArray calls = toolCalls(choice);
      if (calls != null && calls.getJsonObject(0).containsKey("id")) {
        ids.add(calls.getJsonObject(0).getString("id"));
      }
    }
    return ids;
  }
}
