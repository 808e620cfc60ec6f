package io.promptfleet.dispatcher;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DurationParsingTest {
  @Test
  void shouldReadTheResetDurationsProvidersSend() {
    assertThat(Dispatcher.durationMs("1s", 0)).isEqualTo(1_000);
    assertThat(Dispatcher.durationMs("6m0s", 0)).isEqualTo(360_000);
    assertThat(Dispatcher.durationMs("20ms", 0)).isEqualTo(20);
    assertThat(Dispatcher.durationMs("1h2m3.5s", 0)).isEqualTo(3_723_500);
    assertThat(Dispatcher.durationMs("2", 0)).isEqualTo(2_000);
    assertThat(Dispatcher.durationMs("soon", 7)).isEqualTo(7);
    assertThat(Dispatcher.durationMs(null, 7)).isEqualTo(7);
  }
}
