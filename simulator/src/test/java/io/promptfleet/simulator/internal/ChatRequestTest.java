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
  void shouldHaveNoLastUserTextWithoutAUserMessage() throws Exception {
    assertThat(ChatRequest.parse("{\"messages\":[{\"role\":\"system\",\"content\":\"[[sim:reset]]\"}]}", "sim")
        .lastUserText()).isEmpty();
  }
}
