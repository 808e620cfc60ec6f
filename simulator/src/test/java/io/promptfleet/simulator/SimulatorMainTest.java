package io.promptfleet.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class SimulatorMainTest {

  @Test
  void shouldUseTheDefaultsWithoutEnvironmentOrFlags() {
    assertThat(SimulatorMain.optionsFrom(Map.of())).isEqualTo(SimulatorOptions.defaults());
  }

  @Test
  void shouldReadTheBenchmarkSettingsFromTheEnvironment() {
    SimulatorOptions options = SimulatorMain.optionsFrom(
        Map.of("PORT", "19090", "CHUNKS", "50", "TTFT_MS", "0", "TPS", "0", "UNRELATED", "x"));

    assertThat(options).isEqualTo(SimulatorOptions.defaults().withPort(19090).withDefaultCompletionTokens(50)
        .withFirstTokenDelayMs(0).withTokensPerSecond(0));
  }

  @Test
  void shouldLetFlagsOverrideTheEnvironment() {
    SimulatorOptions options = SimulatorMain.optionsFrom(Map.of("PORT", "19090", "TPS", "10"),
        "--port", "19091", "--tps=12.5", "--chunks", "7", "--ttft-ms=5", "--host", "0.0.0.0");

    assertThat(options).isEqualTo(new SimulatorOptions("0.0.0.0", 19091, 5, 12.5, 7, SimulatorOptions.DEFAULT_MODELS));
  }

  @Test
  void shouldServeHttpsWhenAsked() {
    assertThat(SimulatorMain.optionsFrom(Map.of("TLS", "true")).tls()).isTrue();
    assertThat(SimulatorMain.optionsFrom(Map.of("TLS", "true"), "--tls", "false").tls()).isFalse();
    assertThat(SimulatorMain.optionsFrom(Map.of()).tls()).isFalse();
    assertThatThrownBy(() -> SimulatorMain.optionsFrom(Map.of(), "--tls=yes"))
        .hasMessage("TLS must be true or false, was 'yes'");
  }

  @Test
  void shouldSetTheHttp2StreamLimitWhenAsked() {
    assertThat(SimulatorMain.optionsFrom(Map.of()).http2MaxStreams()).isEqualTo(100);
    assertThat(SimulatorMain.optionsFrom(Map.of("HTTP2_MAX_STREAMS", "250")).http2MaxStreams()).isEqualTo(250);
    assertThat(SimulatorMain.optionsFrom(Map.of(), "--http2-max-streams=1000").http2MaxStreams()).isEqualTo(1000);
    assertThatThrownBy(() -> SimulatorMain.optionsFrom(Map.of(), "--http2-max-streams", "0"))
        .hasMessage("HTTP2_MAX_STREAMS=0: http2MaxStreams must be between 1 and 4294967295, was 0");
  }

  @Test
  void shouldSetTheReportedRateLimitsWhenAsked() {
    SimulatorOptions defaults = SimulatorMain.optionsFrom(Map.of());
    assertThat(defaults.rateLimitRequests()).isEqualTo(10_000);
    assertThat(defaults.rateLimitTokens()).isEqualTo(2_000_000);
    SimulatorOptions set = SimulatorMain.optionsFrom(Map.of("RATE_LIMIT_TOKENS", "5000000"),
        "--rate-limit-requests", "60000");
    assertThat(set.rateLimitRequests()).isEqualTo(60_000);
    assertThat(set.rateLimitTokens()).isEqualTo(5_000_000);
    assertThatThrownBy(() -> SimulatorMain.optionsFrom(Map.of(), "--rate-limit-requests=0"))
        .hasMessage("RATE_LIMIT_REQUESTS=0: rateLimitRequests must be >= 1, was 0");
  }

  @Test
  void shouldNameTheBadSetting() {
    assertThatThrownBy(() -> SimulatorMain.optionsFrom(Map.of("PORT", "eighty")))
        .hasMessage("PORT must be an integer, was 'eighty'");
    assertThatThrownBy(() -> SimulatorMain.optionsFrom(Map.of(), "--tps", "fast"))
        .hasMessage("TPS must be a number, was 'fast'");
    assertThatThrownBy(() -> SimulatorMain.optionsFrom(Map.of(), "--verbose")).hasMessage("unknown option --verbose");
    assertThatThrownBy(() -> SimulatorMain.optionsFrom(Map.of(), "--port")).hasMessage("--port needs a value");
    assertThatThrownBy(() -> SimulatorMain.optionsFrom(Map.of("CHUNKS", "-1")))
        .hasMessage("CHUNKS=-1: defaultCompletionTokens must be >= 0, was -1");
  }
}
