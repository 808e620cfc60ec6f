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
  }

  @Test
  void shouldChangeOneFieldPerWither() {
    SimulatorOptions options = SimulatorOptions.defaults().withHost("0.0.0.0").withPort(0).withFirstTokenDelayMs(0)
        .withTokensPerSecond(0).withDefaultCompletionTokens(3).withModels(List.of("a", "b"));

    assertThat(options).isEqualTo(new SimulatorOptions("0.0.0.0", 0, 0, 0, 3, List.of("a", "b")));
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
  }

  @Test
  void shouldCopyTheModelList() {
    List<String> models = new ArrayList<>(List.of("a"));
    SimulatorOptions options = SimulatorOptions.defaults().withModels(models);

    models.add("b");

    assertThat(options.models()).containsExactly("a");
  }
}
