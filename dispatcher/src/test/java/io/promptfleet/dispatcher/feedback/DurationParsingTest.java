package io.promptfleet.dispatcher.feedback;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DurationParsingTest {
  @Test
  void shouldReadTheResetDurationsProvidersSend() {
    assertThat(KeyFeedback.durationMs("1s", 0)).isEqualTo(1_000);
    assertThat(KeyFeedback.durationMs("6m0s", 0)).isEqualTo(360_000);
    assertThat(KeyFeedback.durationMs("20ms", 0)).isEqualTo(20);
    assertThat(KeyFeedback.durationMs("1h2m3.5s", 0)).isEqualTo(3_723_500);
    assertThat(KeyFeedback.durationMs("2", 0)).isEqualTo(2_000);
    assertThat(KeyFeedback.durationMs("soon", 7)).isEqualTo(7);
    assertThat(KeyFeedback.durationMs(null, 7)).isEqualTo(7);
  }
}
