package io.promptfleet.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SimulatorOptionsTest {

  @Test
  void shouldDefaultToLoopbackPort18080With50MsTtft50TpsAnd24Tokens() {
    SimulatorOptions options = SimulatorOptions.defaults();

    assertThat(options.host()).isEqualTo("127.0.0.1");
    assertThat(options.port()).isEqualTo(18080);
    assertThat(options.firstTokenDelayMs()).isEqualTo(50);
    assertThat(options.tokensPerSecond()).isEqualTo(50.0);
    assertThat(options.defaultCompletionTokens()).isEqualTo(24);
    assertThat(options.models()).containsExactly("sim");
    assertThat(options.reasoningModelPrefixes()).containsExactly("o1", "o3", "o4", "gpt-5", "sim-reasoning");
  }

  @Test
  void shouldTellReasoningModelsByPrefix() {
    SimulatorOptions options = SimulatorOptions.defaults();

    assertThat(options.isReasoningModel("o3-mini")).isTrue();
    assertThat(options.isReasoningModel("gpt-5-nano")).isTrue();
    assertThat(options.isReasoningModel("sim-reasoning")).isTrue();
    assertThat(options.isReasoningModel("gpt-4o")).isFalse();
    assertThat(options.isReasoningModel("sim")).isFalse();
    assertThat(options.withReasoningModelPrefixes(List.of()).isReasoningModel("o3")).isFalse();
    assertThat(options.withReasoningModelPrefixes(List.of("deepseek-r")).isReasoningModel("deepseek-reasoner")).isTrue();
  }

  @Test
  void shouldChangeOneFieldPerWither() {
    SimulatorOptions options = SimulatorOptions.defaults().withHost("0.0.0.0").withPort(0).withFirstTokenDelayMs(0)
        .withTokensPerSecond(0).withDefaultCompletionTokens(3).withModels(List.of("a", "b"));

    assertThat(options).isEqualTo(new SimulatorOptions("0.0.0.0", 0, 0, 0, 3, List.of("a", "b")));
    assertThat(options.withReasoningModelPrefixes(List.of("x")).reasoningModelPrefixes()).containsExactly("x");
  }

  @Test
  void shouldNameTheFieldWhenValidationFails() {
    SimulatorOptions d = SimulatorOptions.defaults();
    assertThatThrownBy(() -> d.withHost(" ")).hasMessage("host must not be blank");
    assertThatThrownBy(() -> d.withPort(70_000)).hasMessage("port must be between 0 and 65535, was 70000");
    assertThatThrownBy(() -> d.withFirstTokenDelayMs(-1)).hasMessage("firstTokenDelayMs must be >= 0, was -1");
    assertThatThrownBy(() -> d.withTokensPerSecond(Double.NaN)).hasMessageStartingWith("tokensPerSecond must be");
    assertThatThrownBy(() -> d.withTokensPerSecond(-1)).hasMessageStartingWith("tokensPerSecond must be");
    assertThatThrownBy(() -> d.withDefaultCompletionTokens(-1))
        .hasMessage("defaultCompletionTokens must be >= 0, was -1");
    assertThatThrownBy(() -> d.withModels(List.of())).hasMessage("models must name at least one model");
    assertThatThrownBy(() -> d.withModels(null)).hasMessage("models must name at least one model");
    assertThatThrownBy(() -> d.withReasoningModelPrefixes(null)).hasMessageStartingWith("reasoningModelPrefixes must not be null");
    assertThatThrownBy(() -> d.withReasoningModelPrefixes(List.of(" ")))
        .hasMessage("reasoningModelPrefixes must not contain a blank prefix");
  }

  @Test
  void shouldCopyTheModelList() {
    List<String> models = new ArrayList<>(List.of("a"));
    SimulatorOptions options = SimulatorOptions.defaults().withModels(models);

    models.add("b");

    assertThat(options.models()).containsExactly("a");
  }
}
