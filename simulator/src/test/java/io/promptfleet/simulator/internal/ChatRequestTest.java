package io.promptfleet.simulator.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class ChatRequestTest {

  @Test
  void shouldReadTheFieldsTheSimulatorUsesAndIgnoreTheRest() throws Exception {
    ChatRequest request = ChatRequest.parse("""
        {"model":"gpt-4o","temperature":0.2,"stream":true,"stream_options":{"include_usage":true},
         "max_tokens":9,"max_completion_tokens":7,"tools":[],
         "messages":[{"role":"system","content":"be brief"},{"role":"user","content":"first"},
                     {"role":"assistant","content":null},{"role":"user","content":[{"type":"text","text":"last"}]}]}
        """, "sim");

    assertThat(request.model()).isEqualTo("gpt-4o");
    assertThat(request.stream()).isTrue();
    assertThat(request.includeUsage()).isTrue();
    assertThat(request.maxTokens()).isEqualTo(OptionalInt.of(7)); // max_completion_tokens wins
    assertThat(request.lastUserText()).isEqualTo("last");
    assertThat(request.allText()).isEqualTo("be brieffirstlast");
    assertThat(request.promptTokens()).isEqualTo(2 + 2 + 1 + 1);
  }

  @Test
  void shouldRejectWrongTypesNamingTheParameter() {
    assertThatThrownBy(() -> ChatRequest.parse("{\"messages\":\"hi\"}", "sim"))
        .hasMessageContaining("'messages'").extracting("param").isEqualTo("messages");
    assertThatThrownBy(() -> ChatRequest.parse("{\"messages\":[{\"content\":\"hi\"}]}", "sim"))
        .hasMessageContaining("messages[0].role");
    assertThatThrownBy(() -> ChatRequest.parse("{\"messages\":[{\"role\":\"user\"}],\"stream\":\"yes\"}", "sim"))
        .hasMessageContaining("'stream'");
    assertThatThrownBy(() -> ChatRequest.parse("{\"messages\":[{\"role\":\"user\"}],\"max_tokens\":1.5}", "sim"))
        .hasMessageContaining("'max_tokens'");
    assertThatThrownBy(() -> ChatRequest.parse("{\"messages\":[{\"role\":\"user\",\"content\":5}]}", "sim"))
        .hasMessageContaining("messages[0].content");
  }

  @Test
  void shouldReadToolNamesLogprobsTemperatureAndWhetherMaxTokensWasGiven() throws Exception {
    ChatRequest request = ChatRequest.parse("""
        {"messages":[{"role":"user","content":"hi"}],"temperature":0.2,"max_tokens":9,
         "logprobs":true,"top_logprobs":3,
         "tools":[{"type":"function","function":{"name":"a"}},{"type":"custom","custom":{"name":"x"}},
                  {"type":"function","function":{"name":"b","parameters":{}}}],
         "functions":[{"name":"legacy"}],"chat_template_kwargs":{"enable_thinking":true}}
        """, "sim");

    assertThat(request.toolNames()).containsExactly("a", "b");
    assertThat(request.functionNames()).containsExactly("legacy");
    assertThat(request.logprobs()).isTrue();
    assertThat(request.topLogprobs()).isEqualTo(3);
    assertThat(request.temperature()).isEqualTo(0.2);
    assertThat(request.legacyMaxTokens()).isTrue();
  }

  @Test
  void shouldDefaultTheOptionalFields() throws Exception {
    ChatRequest request = ChatRequest.parse("{\"messages\":[{\"role\":\"user\"}],\"max_completion_tokens\":4,"
        + "\"max_tokens\":null,\"top_logprobs\":null}", "sim");

    assertThat(request.toolNames()).isEmpty();
    assertThat(request.functionNames()).isEmpty();
    assertThat(request.logprobs()).isFalse();
    assertThat(request.topLogprobs()).isZero();
    assertThat(request.temperature()).isNull();
    assertThat(request.legacyMaxTokens()).isFalse();
    assertThat(request.maxTokens()).isEqualTo(OptionalInt.of(4));
  }

  @Test
  void shouldRejectMalformedNewFieldsNamingTheParameter() {
    assertThatThrownBy(() -> ChatRequest.parse("{\"messages\":[{\"role\":\"user\"}],\"tools\":{}}", "sim"))
        .hasMessage("Invalid type for 'tools': expected an array, but got an object instead.");
    assertThatThrownBy(() -> ChatRequest.parse("{\"messages\":[{\"role\":\"user\"}],\"tools\":[1]}", "sim"))
        .extracting("param").isEqualTo("tools[0]");
    assertThatThrownBy(() -> ChatRequest.parse("{\"messages\":[{\"role\":\"user\"}],\"temperature\":\"hot\"}", "sim"))
        .hasMessage("Invalid type for 'temperature': expected a decimal, but got a string instead.");
    assertThatThrownBy(() -> ChatRequest.parse(
            "{\"messages\":[{\"role\":\"user\"}],\"logprobs\":true,\"top_logprobs\":-1}", "sim"))
        .hasMessageContaining("Expected a value >= 0, but got -1 instead.").extracting("param").isEqualTo("top_logprobs");
    assertThatThrownBy(() -> ChatRequest.parse(
            "{\"messages\":[{\"role\":\"user\"}],\"logprobs\":true,\"top_logprobs\":2.5}", "sim"))
        .hasMessageContaining("'top_logprobs'");
  }

  @Test
  void shouldFormatATemperatureAsTheClientWroteIt() {
    assertThat(ReasoningModelRules.format(0.2)).isEqualTo("0.2");
    assertThat(ReasoningModelRules.format(0)).isEqualTo("0");
    assertThat(ReasoningModelRules.format(2.0)).isEqualTo("2.0");
    assertThat(ReasoningModelRules.format(1e-7)).isEqualTo("0.0000001");
    assertThat(ReasoningModelRules.format(new java.math.BigDecimal("0.70"))).isEqualTo("0.70");
  }

  @Test
  void shouldHaveNoLastUserTextWithoutAUserMessage() throws Exception {
    assertThat(ChatRequest.parse("{\"messages\":[{\"role\":\"system\",\"content\":\"[[sim:reset]]\"}]}", "sim")
        .lastUserText()).isEmpty();
  }
}
