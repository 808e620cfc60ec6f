package io.promptfleet.simulator;

import static io.promptfleet.simulator.SimulatorHarness.assertChunkEnvelopes;
import static io.promptfleet.simulator.SimulatorHarness.chat;
import static io.promptfleet.simulator.SimulatorHarness.choice;
import static io.promptfleet.simulator.SimulatorHarness.choices;
import static io.promptfleet.simulator.SimulatorHarness.finishChoice;
import static io.promptfleet.simulator.SimulatorHarness.streamWithUsage;
import static io.promptfleet.simulator.SimulatorHarness.streamedContent;
import static io.promptfleet.simulator.SimulatorHarness.streamedUsage;
import static io.promptfleet.simulator.SimulatorHarness.usage;
import static io.promptfleet.simulator.ToolCallsTest.promptTokens;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code [[sim:reasoning]]}: reasoning deltas (DeepSeek / vLLM) before the answer, and their usage. */
class ReasoningTest extends SimulatorTest {

  private static final List<String> FIRST_WORDS = List.of("Okay,", " let", " me", " think");

  @Test
  void shouldStreamReasoningContentDeltasBeforeTheContent() {
    JsonObject request = streamWithUsage("why? [[sim:reasoning tokens=4]]");

    String body = sim.post(request).body();

    // role chunk, 4 reasoning deltas, 5 content deltas, finish; usage counts the reasoning tokens
    List<JsonObject> choices = choices(body);
    List<JsonObject> expected = new ArrayList<>();
    expected.add(choice(new JsonObject().put("role", "assistant").put("content", "")));
    FIRST_WORDS.forEach(w -> expected.add(choice(new JsonObject().put("reasoning_content", w))));
    for (JsonObject content : choices.subList(5, 10)) {
      expected.add(choice(new JsonObject().put("content", content.getJsonObject("delta").getString("content"))));
    }
    expected.add(finishChoice("stop"));
    assertThat(choices).containsExactlyElementsOf(expected);
    assertThat(streamedContent(body)).matches("\\S+( \\S+){4}");
    assertThat(streamedUsage(body)).isEqualTo(usage(promptTokens(request), 4 + 5, 0, 4));
    assertChunkEnvelopes(body, "gpt-test");
  }

  @Test
  void shouldUseTheReasoningFieldOfNewerVllmWhenAsked() {
    String body = sim.post(chat("why? [[sim:reasoning tokens=4 field=reasoning]]", true)).body();

    List<JsonObject> choices = choices(body);
    for (int i = 0; i < 4; i++) {
      assertThat(choices.get(1 + i).getJsonObject("delta"))
          .isEqualTo(new JsonObject().put("reasoning", FIRST_WORDS.get(i)));
    }
    assertThat(body).doesNotContain("reasoning_content");
  }

  @Test
  void shouldPutTheWholeReasoningInTheMessageWithoutStreaming() {
    String streamed = streamedContent(sim.post(chat("why? [[sim:reasoning tokens=4]]", true)).body());

    JsonObject completion = new JsonObject(sim.post(chat("why? [[sim:reasoning tokens=4]]", false)).body());

    JsonObject choice = completion.getJsonArray("choices").getJsonObject(0);
    assertThat(choice.getJsonObject("message")).isEqualTo(new JsonObject().put("role", "assistant")
        .put("content", streamed).put("reasoning_content", "Okay, let me think").putNull("refusal"));
    assertThat(choice.getString("finish_reason")).isEqualTo("stop");
    assertThat(completion.getJsonObject("usage").getJsonObject("completion_tokens_details")
        .getInteger("reasoning_tokens")).isEqualTo(4);
    JsonObject vllm = new JsonObject(sim.post(chat("why? [[sim:reasoning tokens=2 field=reasoning]]", false)).body());
    assertThat(vllm.getJsonArray("choices").getJsonObject(0).getJsonObject("message").getString("reasoning"))
        .isEqualTo("Okay, let");
  }

  @Test
  void shouldCountButNotStreamHiddenReasoning() {
    JsonObject request = streamWithUsage("why? [[sim:reasoning tokens=4 hidden=true]]");

    String body = sim.post(request).body();

    List<JsonObject> choices = choices(body);
    assertThat(choices).hasSize(1 + 5 + 1);
    assertThat(choices.subList(1, 6)).allSatisfy(c -> assertThat(c.getJsonObject("delta").fieldNames())
        .containsExactly("content"));
    assertThat(body).doesNotContain("reasoning_content\":\"");
    assertThat(streamedUsage(body)).isEqualTo(usage(promptTokens(request), 4 + 5, 0, 4));
  }

  @Test
  void shouldStreamReasoningBeforeToolCalls() {
    String body = sim.post(chat("x [[sim:reasoning tokens=2]] [[sim:tool_calls split=1000]]", true)).body();

    List<JsonObject> choices = choices(body);
    String id = choices.get(3).getJsonObject("delta").getJsonArray("tool_calls").getJsonObject(0).getString("id");
    assertThat(choices).containsExactly(
        choice(new JsonObject().put("role", "assistant").put("content", "")),
        choice(new JsonObject().put("reasoning_content", "Okay,")),
        choice(new JsonObject().put("reasoning_content", " let")),
        choice(new JsonObject().put("tool_calls", new JsonArray().add(new JsonObject().put("index", 0)
            .put("id", id).put("type", "function")
            .put("function", new JsonObject().put("name", "tool_0").put("arguments", ""))))),
        choice(new JsonObject().put("tool_calls", new JsonArray().add(new JsonObject().put("index", 0)
            .put("function", new JsonObject().put("arguments", ToolCallsTest.ARGUMENTS_0))))),
        finishChoice("tool_calls"));
  }

  @Test
  void shouldCountReasoningAgainstTheTokenLimit() {
    JsonObject request = streamWithUsage("x [[sim:reasoning tokens=10]]").put("max_completion_tokens", 6);

    String body = sim.post(request).body();

    List<JsonObject> choices = choices(body);
    assertThat(choices).hasSize(1 + 6 + 1);
    assertThat(choices.subList(1, 7)).allSatisfy(c -> assertThat(c.getJsonObject("delta").fieldNames())
        .containsExactly("reasoning_content"));
    assertThat(choices.get(7)).isEqualTo(finishChoice("length"));
    assertThat(streamedUsage(body)).isEqualTo(usage(promptTokens(request), 6, 0, 6));
  }

  @Test
  void shouldStreamSixteenReasoningTokensByDefaultCyclingThroughItsWords() {
    String body = sim.post(chat("x [[sim:reasoning]]", true)).body();

    List<JsonObject> reasoning = choices(body).stream()
        .filter(c -> c.getJsonObject("delta").containsKey("reasoning_content")).toList();
    assertThat(reasoning).hasSize(Fault.DEFAULT_REASONING_TOKENS);
    StringBuilder text = new StringBuilder();
    reasoning.forEach(c -> text.append(c.getJsonObject("delta").getString("reasoning_content")));
    assertThat(text.toString()).startsWith("Okay, let me think about this step by step.");
  }
}
