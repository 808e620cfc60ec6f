package io.promptfleet.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A route's {@code batch} block: parsed, defaulted per protocol and validated with messages naming the field. */
class RouteBatchSettingsTest {
  private static final String BASE = """
      providers:
        oa: {base_url: "http://127.0.0.1:1/v1"}
        an: {base_url: "http://127.0.0.1:1/v1", protocol: anthropic}
        az: {base_url: "http://127.0.0.1:1/openai/v1", protocol: azure-openai}
      keys:
        k1: {provider: oa, secret_env: SOME_VAR}
        k2: {provider: an, secret_env: SOME_VAR}
        k3: {provider: az, secret_env: SOME_VAR}
      """;

  private static FleetConfig parse(String models) {
    return ConfigLoader.parse(BASE + models, Map.of(), new Properties());
  }

  private static RouteSettings route(String provider, String batch) {
    return parse("models:\n  m:\n    routes: [{provider: " + provider + ", model: up, price_input_per_mtok: 2.0,"
        + " price_output_per_mtok: 8.0" + (batch == null ? "" : ", batch: " + batch) + "}]\n")
        .models().get("m").routes().get(0);
  }

  @Test
  void shouldHaveNoBatchBlockUnlessTheRouteGivesOne() {
    assertThat(route("oa", null).batch()).isNull();
  }

  @Test
  void shouldDefaultAnOpenAiBlockToTheProvidersLimitsADaysSlackAndHalfTheLivePrice() {
    RouteBatchSettings b = route("oa", "{protocol: openai}").batch();

    assertThat(b.protocol()).isEqualTo(BatchProtocol.OPENAI);
    assertThat(b.priceInputPerMtok()).isEqualTo(1.0);
    assertThat(b.priceOutputPerMtok()).isEqualTo(4.0);
    assertThat(b.minSlackMs()).isEqualTo(24L * 3600 * 1000);
    assertThat(b.maxRequestsPerFile()).isEqualTo(50_000);
    assertThat(b.maxFileBytes()).isEqualTo(200L * 1024 * 1024);
    assertThat(b.windowMs()).isEqualTo(60_000);
    assertThat(b.maxEnqueuedTokens()).isNull();
    assertThat(b.maxEmbeddingsPerFile()).isEqualTo(RouteBatchSettings.DEFAULT_MAX_EMBEDDINGS);
    assertThat(route("oa", "{protocol: openai, max_requests_per_file: 300}").batch().maxEmbeddingsPerFile())
        .as("never more than max_requests_per_file").isEqualTo(300);
    assertThat(route("oa", "{protocol: openai, max_embeddings_per_file: 20000}").batch().maxEmbeddingsPerFile())
        .isEqualTo(20_000);
  }

  @Test
  void shouldDefaultAnAnthropicBlockToAnHoursSlackAndKeepWhatTheBlockSets() {
    RouteBatchSettings b = route("an", "{protocol: anthropic, price_input_per_mtok: 1.5, price_output_per_mtok: 7.5,"
        + " max_requests_per_file: 10000, max_file_bytes: 1000000, window_ms: 5000, max_enqueued_tokens: 9000000}")
        .batch();

    assertThat(b.protocol()).isEqualTo(BatchProtocol.ANTHROPIC);
    assertThat(b.minSlackMs()).isEqualTo(3_600_000);
    assertThat(b.priceInputPerMtok()).isEqualTo(1.5);
    assertThat(b.priceOutputPerMtok()).isEqualTo(7.5);
    assertThat(b.maxRequestsPerFile()).isEqualTo(10_000);
    assertThat(b.maxFileBytes()).isEqualTo(1_000_000);
    assertThat(b.windowMs()).isEqualTo(5_000);
    assertThat(b.maxEnqueuedTokens()).isEqualTo(9_000_000);
    assertThat(route("an", "{protocol: anthropic}").batch().maxRequestsPerFile()).isEqualTo(100_000);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "oa | {price_input_per_mtok: 1} | models.m.routes[0].batch.protocol is required",
      "oa | {protocol: anthropic} | models.m.routes[0].batch.protocol anthropic is not served by a provider speaking openai",
      "az | {protocol: openai} | Azure OpenAI's batch deployments are not supported yet",
      "oa | {protocol: openai, max_requests_per_file: 50001} | max_requests_per_file must be between 1 and 50000",
      "an | {protocol: anthropic, max_file_bytes: 268435457} | max_file_bytes must be between 1 and 268435456",
      "oa | {protocol: openai, min_slack_ms: 0} | min_slack_ms must be > 0",
      "an | {protocol: anthropic, window_ms: 3600000} | window_ms must be > 0 and shorter than min_slack_ms",
      "oa | {protocol: openai, price_output_per_mtok: -1} | price_output_per_mtok must be >= 0",
      "oa | {protocol: openai, max_enqueued_tokens: 0} | max_enqueued_tokens must be > 0",
      "oa | {protocol: openai, max_requests_per_file: 10, max_embeddings_per_file: 11} | max_embeddings_per_file must be between 1 and max_requests_per_file (10), was 11",
      "oa | {protocol: gemini} | unknown batch protocol 'gemini': use one of openai, anthropic"})
  void shouldRejectABadBlockNamingTheField(String provider, String block, String message) {
    assertThatThrownBy(() -> route(provider, block)).hasStackTraceContaining(message);
  }
}
