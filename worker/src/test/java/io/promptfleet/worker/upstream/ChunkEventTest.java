package io.promptfleet.worker.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import org.junit.jupiter.api.Test;

class ChunkEventTest {

  @Test
  void shouldReadTheFirstChoicesDeltaAndSkipEverythingElse() throws IOException {
    ChunkEvent e = ChunkEvent.parse("{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,"
        + "\"model\":\"gpt-x\",\"system_fingerprint\":null,\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
        + "\"content\":\"Hel\\u006co\",\"tool_calls\":[{\"x\":[1,2]}]},\"logprobs\":null,\"finish_reason\":null},"
        + "{\"index\":1,\"delta\":{\"content\":\"other\"},\"finish_reason\":\"stop\"}],\"usage\":null}");

    assertThat(e.content).isEqualTo("Hello");
    assertThat(e.toolCalls).singleElement().satisfies(c -> {
      assertThat(c.index()).isZero();
      assertThat(c.function()).isNull();
    });
    assertThat(e.model).isEqualTo("gpt-x");
    assertThat(e.id).isEqualTo("c");
    assertThat(e.finishReason).isNull();
    assertThat(e.usage).isNull();
    assertThat(e.hasError).isFalse();
  }

  @Test
  void shouldReadTheFinalUsageChunkWithNoChoices() throws IOException {
    ChunkEvent e = ChunkEvent.parse("{\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":12,"
        + "\"total_tokens\":21,\"completion_tokens_details\":{\"reasoning_tokens\":0}}}");

    assertThat(e.usage.promptTokens()).isEqualTo(9);
    assertThat(e.usage.completionTokens()).isEqualTo(12);
    assertThat(e.usage.totalTokens()).isEqualTo(21);
    assertThat(e.usage.completionTokensDetails()).hasToString("{\"reasoning_tokens\":0}");
    assertThat(e.usage.promptTokensDetails()).isNull();
    assertThat(e.content).isNull();
  }

  @Test
  void shouldReadTheFinishReason() throws IOException {
    assertThat(ChunkEvent.parse("{\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}]}").finishReason)
        .isEqualTo("length");
  }

  @Test
  void shouldNoticeAnErrorObject() throws IOException {
    assertThat(ChunkEvent.parse("{\"error\":{\"message\":\"boom\"}}").hasError).isTrue();
    assertThat(ChunkEvent.parse("{\"error\":null,\"choices\":[]}").hasError).isFalse();
  }

  @Test
  void shouldRejectWhatIsNotAJsonObject() {
    assertThatThrownBy(() -> ChunkEvent.parse("{not json")).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> ChunkEvent.parse("[1,2]")).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> ChunkEvent.parse("{\"choices\":[{\"delta\":")).isInstanceOf(IOException.class);
  }
}
