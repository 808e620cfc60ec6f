package io.promptfleet.worker.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.config.ProviderProtocol;
import io.promptfleet.common.upstream.EmbeddingsAnswer;
import io.promptfleet.worker.upstream.Failure;
import io.promptfleet.worker.upstream.FailureClass;
import io.promptfleet.worker.upstream.Protocols;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a whole embeddings answer body means for the attempt. */
class EmbeddingsExchangeTest {
  private final List<EmbeddingsAnswer> answers = new ArrayList<>();
  private final List<Failure> failures = new ArrayList<>();

  private EmbeddingsExchange exchange(int expectedVectors) {
    return new EmbeddingsExchange(Protocols.of(ProviderProtocol.OPENAI), expectedVectors, 1 << 20, () -> { },
        () -> false, new EmbeddingsExchange.Listener() {
          @Override
          public void answered(EmbeddingsAnswer answer) {
            answers.add(answer);
          }

          @Override
          public void failure(Failure failure) {
            failures.add(failure);
          }
        });
  }

  private static String answer(int vectors) {
    StringBuilder data = new StringBuilder();
    for (int i = 0; i < vectors; i++) {
      data.append(i == 0 ? "" : ",").append("{\"object\":\"embedding\",\"index\":").append(i)
          .append(",\"embedding\":[0.1,0.2]}");
    }
    return "{\"object\":\"list\",\"data\":[" + data + "],\"model\":\"m\",\"usage\":{\"prompt_tokens\":3,"
        + "\"total_tokens\":3}}";
  }

  @Test
  void shouldAnswerWithOneVectorPerInput() {
    exchange(2).body(answer(2));

    assertThat(failures).isEmpty();
    assertThat(answers).singleElement().satisfies(a -> assertThat(a.data()).hasSize(2));
  }

  @Test
  void shouldRetryAnAnswerWithFewerVectorsThanInputsRatherThanCutIt() {
    exchange(3).body(answer(2));

    assertThat(answers).isEmpty();
    assertThat(failures).singleElement().satisfies(f -> {
      assertThat(f.kind()).isEqualTo(FailureClass.TRANSIENT);
      assertThat(f.code()).isEqualTo("stream_invalid");
      assertThat(f.message()).isEqualTo("the answer has 2 vectors for 3 inputs");
    });
  }

  @Test
  void shouldClassifyAnErrorObjectInA200AndNameAnythingElse() {
    exchange(1).body("{\"error\":{\"message\":\"quota\",\"type\":\"insufficient_quota\"}}");
    exchange(1).body("<html>bad gateway</html>");

    assertThat(answers).isEmpty();
    assertThat(failures).extracting(Failure::code).containsExactly("upstream_quota", "stream_invalid");
    assertThat(failures.get(1).message()).startsWith("the answer is not an embeddings list (");
  }
}
