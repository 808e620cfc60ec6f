package io.promptfleet.simulator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.simulator.Fault;
import io.promptfleet.simulator.SimulatorOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The chunk sequence of each answer shape, its token accounting and its non-stream view. */
class AnswerBuilderTest {

  private static final SimulatorOptions OPTIONS = SimulatorOptions.defaults();

  @Test
  void shouldKeepThePlainAnswerAsItsTokensWithoutStepKinds() throws Exception {
    ChatRequest request = request("{\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}],\"max_tokens\":3}");

    Answer answer = build(request, List.of(), 5, false);

    Completion lorem = Completion.of(request.allText(), 5, request.maxTokens(), request.promptTokens());
    assertThat(answer.allContent()).isTrue();
    assertThat(answer.size()).isEqualTo(3);
    assertThat(answer.opening()).isEqualTo(Answer.Opening.TEXT);
    assertThat(answer.content()).isEqualTo(lorem.content());
    assertThat(answer.finishReason()).isEqualTo("length");
    assertThat(answer.usage()).isEqualTo(new Usage(2, 3, 0, 0));
    assertThat(answer.reasoning()).isNull();
    assertThat(answer.refusal()).isNull();
    assertThat(answer.sentCalls()).isEmpty();
  }

  @Test
  void shouldMergeTheFirstCallsHeaderIntoTheRoleChunkAndCountEveryOtherChunkAsAToken() throws Exception {
    Answer answer = build(request(user("x")), List.of(Fault.toolCalls(2).split(40)), 5, false);

    assertThat(answer.opening()).isEqualTo(Answer.Opening.CALL);
    assertThat(answer.step(0)).isEqualTo(Answer.Step.ARGUMENTS);
    int firstCallFragments = (AnswerBuilder.arguments(0).codePointCount(0, AnswerBuilder.arguments(0).length()) + 39) / 40;
    assertThat(answer.step(firstCallFragments)).isEqualTo(Answer.Step.CALL);
    assertThat(answer.callIndex(firstCallFragments)).isEqualTo(1);
    assertThat(answer.usage().completionTokens()).isEqualTo(answer.size());
    assertThat(answer.finishReason()).isEqualTo("tool_calls");
    assertThat(answer.content()).isNull();
    assertThat(answer.sentCalls()).extracting(Answer.Call::arguments)
        .containsExactly(AnswerBuilder.arguments(0), AnswerBuilder.arguments(1));
    assertThat(answer.sentCalls()).extracting(Answer.Call::id).containsExactly("call_abc00", "call_abc01");
  }

  @Test
  void shouldSpendTheLimitOnHiddenReasoningFirst() throws Exception {
    ChatRequest request = request("{\"model\":\"o3\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
        + "\"max_completion_tokens\":20}");

    Answer answer = build(request, List.of(), 10, true);
    Answer starved = build(request, List.of(Fault.reasoning(30).hidden()), 10, true);

    assertThat(answer.size()).isEqualTo(4);
    assertThat(answer.usage()).isEqualTo(new Usage(1, 20, 0, 16));
    assertThat(answer.finishReason()).isEqualTo("length");
    assertThat(starved.size()).isZero();
    assertThat(starved.usage()).isEqualTo(new Usage(1, 20, 0, 20));
    assertThat(starved.content()).isEmpty();
  }

  @Test
  void shouldCapCachedTokensAtThePrompt() throws Exception {
    ChatRequest request = request(user("0123456789abcdef")); // 4 prompt tokens

    assertThat(build(request, List.of(Fault.cached(3)), 1, false).usage().cachedTokens()).isEqualTo(3);
    assertThat(build(request, List.of(Fault.cached(99)), 1, false).usage().cachedTokens()).isEqualTo(4);
  }

  @Test
  void shouldWriteArgumentsThatAreValidJsonWithEscapesNonAsciiAndEveryValueType() {
    for (int i = 0; i < 7; i++) {
      JsonObject arguments = new JsonObject(AnswerBuilder.arguments(i));

      assertThat(arguments.getInteger("call")).isEqualTo(i);
      assertThat(arguments.getString("path")).isEqualTo("a\\b\\" + i);
      assertThat(arguments.getString("note")).isEqualTo("line 1\nline\t2 \uD83D\uDE80");
      assertThat(arguments.getJsonArray("n")).isEqualTo(new JsonArray().add(i).add(2.5).add(true).addNull());
    }
    assertThat(new JsonObject(AnswerBuilder.arguments(0)).getString("city")).isEqualTo("Zürich \"HQ\"");
    assertThat(AnswerBuilder.arguments(1)).isNotEqualTo(AnswerBuilder.arguments(0));
  }

  @Test
  void shouldSplitByCodePointsWithoutBreakingASurrogatePair() {
    assertThat(AnswerBuilder.split("ab\uD83D\uDE80cd", 3)).containsExactly("ab\uD83D\uDE80", "cd");
    assertThat(AnswerBuilder.split("\uD83D\uDE80\uD83D\uDE80", 1)).containsExactly("\uD83D\uDE80", "\uD83D\uDE80");
    assertThat(AnswerBuilder.split("abc", 10)).containsExactly("abc");
    assertThat(AnswerBuilder.split("", 4)).isEmpty();
  }

  private static Answer build(ChatRequest request, List<Fault> faults, int naturalLength, boolean reasoningModel) {
    return AnswerBuilder.build(request, ResponsePlan.of(faults, OPTIONS), naturalLength, reasoningModel, "abc");
  }

  private static ChatRequest request(String body) throws InvalidRequestException {
    return ChatRequest.parse(body, "sim");
  }

  private static String user(String content) {
    return "{\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}";
  }
}
