package io.promptfleet.common.job;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ToolCallAssemblerTest {

  @Test
  void shouldCompleteACallWhenTheNextIndexStartsAndTheRestOnFinish() {
    ToolCallAssembler a = new ToolCallAssembler();
    assertThat(a.add(new ToolCallDelta(0, "call_1", "function", new FunctionCall("get_weather", "")))).isEmpty();
    assertThat(a.add(new ToolCallDelta(0, null, null, new FunctionCall(null, "{\"city\":")))).isEmpty();
    assertThat(a.add(new ToolCallDelta(0, null, null, new FunctionCall(null, "\"Paris\"}")))).isEmpty();
    assertThat(a.add(new ToolCallDelta(1, "call_2", "function", new FunctionCall("get_time", "{}"))))
        .containsExactly(new ToolCall("call_1", "function", new FunctionCall("get_weather", "{\"city\":\"Paris\"}")));
    assertThat(a.finish())
        .containsExactly(new ToolCall("call_2", "function", new FunctionCall("get_time", "{}")));
    assertThat(a.finish()).isEmpty();
    assertThat(a.calls()).hasSize(2);
  }

  @Test
  void shouldDefaultTheTypeToFunctionAndForgetEverythingOnReset() {
    ToolCallAssembler a = new ToolCallAssembler();
    a.add(new ToolCallDelta(0, "c", null, new FunctionCall("f", "{}")));
    a.reset();
    assertThat(a.finish()).isEmpty();
    a.add(new ToolCallDelta(0, "c2", null, new FunctionCall("g", "[]")));
    assertThat(a.finish()).containsExactly(new ToolCall("c2", "function", new FunctionCall("g", "[]")));
  }

  @Test
  void shouldKeepTheFirstIdAndNameWhenAProviderRepeatsOrBlanksThem() {
    ToolCallAssembler a = new ToolCallAssembler();
    a.add(new ToolCallDelta(1, "c1", "function", new FunctionCall("f", "")));
    a.add(new ToolCallDelta(1, "c1", "function", new FunctionCall("", "{\"a\":")));
    a.add(new ToolCallDelta(1, "", null, new FunctionCall(null, "1}")));
    assertThat(a.calls()).containsExactly(new ToolCall("c1", "function", new FunctionCall("f", "{\"a\":1}")));
  }
}
