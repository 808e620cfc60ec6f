package io.promptfleet.worker.stream;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.AssistantMessage;
import io.promptfleet.common.job.FunctionCall;
import io.promptfleet.common.job.ToolCallDelta;
import java.util.List;
import org.junit.jupiter.api.Test;

class MessageAssemblerTest {

  @Test
  void shouldMergeParallelToolCallFragmentsByIndexByteForByte() {
    MessageAssembler a = new MessageAssembler(1 << 20);
    a.toolCalls(List.of(new ToolCallDelta(0, "call_a", "function", new FunctionCall("get_weather", ""))));
    a.toolCalls(List.of(new ToolCallDelta(0, null, null, new FunctionCall(null, "{\"city\":\"Z\\u00fc"))));
    a.toolCalls(List.of(new ToolCallDelta(1, "call_b", "function", new FunctionCall("get_time", "{"))));
    a.toolCalls(List.of(new ToolCallDelta(0, null, null, new FunctionCall(null, "rich\"}"))));
    a.toolCalls(List.of(new ToolCallDelta(1, null, null, new FunctionCall(null, "}"))));

    AssistantMessage m = a.message();

    assertThat(m.content()).isNull();
    assertThat(m.toolCalls()).hasSize(2);
    assertThat(m.toolCalls().get(0).id()).isEqualTo("call_a");
    assertThat(m.toolCalls().get(0).function().arguments()).isEqualTo("{\"city\":\"Z\\u00fcrich\"}");
    assertThat(m.toolCalls().get(1).function().name()).isEqualTo("get_time");
    assertThat(m.toolCalls().get(1).function().arguments()).isEqualTo("{}");
    assertThat(a.calledTools()).isTrue();
  }

  @Test
  void shouldKeepTheFirstNameWhenAProviderRepeatsOrBlanksIt() {
    MessageAssembler a = new MessageAssembler(1 << 20);
    a.toolCalls(List.of(new ToolCallDelta(0, "c1", "function", new FunctionCall("f", ""))));
    a.toolCalls(List.of(new ToolCallDelta(0, "c1", "function", new FunctionCall("", "{}"))));
    a.toolCalls(List.of(new ToolCallDelta(0, "c1", null, new FunctionCall("f", ""))));

    assertThat(a.message().toolCalls()).singleElement().satisfies(c -> {
      assertThat(c.function().name()).isEqualTo("f");
      assertThat(c.function().arguments()).isEqualTo("{}");
    });
  }

  @Test
  void shouldKeepTextReasoningAndRefusalApart() {
    MessageAssembler a = new MessageAssembler(1 << 20);
    a.reasoning("Let me ");
    a.reasoning("think.");
    a.content("Hi");
    a.content("!");

    AssistantMessage m = a.message();
    assertThat(m.reasoning()).isEqualTo("Let me think.");
    assertThat(m.content()).isEqualTo("Hi!");
    assertThat(m.refusal()).isNull();

    MessageAssembler r = new MessageAssembler(1 << 20);
    r.refusal("I can't ");
    r.refusal("help with that.");
    assertThat(r.message().refusal()).isEqualTo("I can't help with that.");
    assertThat(r.message().content()).isNull();
    assertThat(r.refused()).isTrue();
  }

  @Test
  void shouldAnswerAnEmptyStringForAnAnswerWithNothingInIt() {
    assertThat(new MessageAssembler(1).message().content()).isEmpty();
  }

  @Test
  void shouldMergeOtherDeltaFieldsByTheSdkRule() throws Exception {
    MessageAssembler a = new MessageAssembler(1 << 20);
    a.extra((ObjectNode) Json.mapper().readTree("{\"audio\":{\"id\":\"au_1\",\"transcript\":\"Hel\"}}"));
    a.extra((ObjectNode) Json.mapper().readTree("{\"audio\":{\"transcript\":\"lo\",\"data\":\"AAA\"}}"));
    a.extra((ObjectNode) Json.mapper().readTree("{\"annotations\":[{\"index\":0,\"url\":\"u1\"}]}"));
    a.extra((ObjectNode) Json.mapper().readTree("{\"annotations\":[{\"index\":1,\"url\":\"u2\"}]}"));

    AssistantMessage m = a.message();
    assertThat(m.extra().get("audio").toString())
        .isEqualTo("{\"id\":\"au_1\",\"transcript\":\"Hello\",\"data\":\"AAA\"}");
    assertThat(m.extra().get("annotations")).hasSize(2);
    assertThat(Json.string(m)).contains("\"audio\":{").contains("\"annotations\":[");
  }

  @Test
  void shouldKeepLogprobsUpToTheBoundAndSaySoBeyondIt() throws Exception {
    MessageAssembler a = new MessageAssembler(120);
    for (int i = 0; i < 5; i++) {
      a.logprobs(Json.mapper().readTree("{\"content\":[{\"token\":\"t" + i + "\",\"logprob\":-0.5,\"bytes\":[116]}]}"));
    }

    assertThat(a.logprobs().path("content").size()).isBetween(1, 4);
    assertThat(a.logprobsTruncated()).isTrue();
    assertThat(a.logprobs().path("refusal").isNull()).isTrue();

    MessageAssembler all = new MessageAssembler(1 << 20);
    all.logprobs(Json.mapper().readTree("{\"content\":[{\"token\":\"a\",\"logprob\":0}],\"refusal\":null}"));
    assertThat(all.logprobsTruncated()).isFalse();
    assertThat(all.logprobs().path("content")).hasSize(1);
  }
}
