package io.promptfleet.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.promptfleet.common.config.ConfigException;
import io.promptfleet.simulator.SimulatorOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** What {@code promptfleet dev} refuses before it starts anything. */
class DevCommandTest {

  private static DevCommand parsed(String... args) {
    DevCommand dev = new DevCommand();
    new CommandLine(dev).parseArgs(args);
    return dev;
  }

  @Test
  void shouldRefuseProviderOptionsWithoutAProviderUrl() {
    assertThatThrownBy(() -> parsed("--protocol", "anthropic").call())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("go with --provider-url");
    assertThatThrownBy(() -> parsed("--api-version", "2024-10-21").call())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("go with --provider-url");
  }

  @Test
  void shouldNameTheAcceptedProtocolsForAnUnknownOne() {
    assertThatThrownBy(() -> parsed("--provider-url", "http://127.0.0.1:1/v1", "--protocol", "gemini").call())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("gemini").hasMessageContaining("openai, azure-openai, anthropic, openai-responses");
  }

  @Test
  void shouldRefuseKeyLimitsBelowOne() {
    assertThatThrownBy(() -> parsed("--provider-url", "http://127.0.0.1:1/v1", "--key-rpm", "0").call())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--key-rpm");
  }

  @Test
  void shouldHaveTheSimulatorReportTheDevKeysLimitsNotLessSoTheFleetIsNotHeldBelowThem() {
    SimulatorOptions o = DevCommand.simulatorFor(Configs.load(null, "dev.yaml", new Properties()));

    assertThat(o.rateLimitRequests()).as("dev.yaml's sim-dev key: 60,000 requests a minute").isEqualTo(60_000);
    assertThat(o.rateLimitTokens()).as("and 10,000,000 tokens").isEqualTo(10_000_000);
  }

  @Test
  void shouldReadTheKeysOfADevConfigurationThatLeavesTheSimulatorsAddressToDevMode(@TempDir Path dir)
      throws Exception {
    Path config = Files.writeString(dir.resolve("dev.yaml"), """
        kafka: {bootstrap_servers: "127.0.0.1:1"}
        providers:
          sim: {}
        keys:
          mine: {provider: sim, secret_env: PROMPTFLEET_SIM_KEY, max_concurrency: 8, requests_per_minute: 30000,
                 tokens_per_minute: 5000000}
        models:
          sim:
            routes:
              - {provider: sim, model: sim}
        """);

    SimulatorOptions o = DevCommand.simulatorFor(config, new Properties(), 18_990);

    assertThat(o.rateLimitRequests()).isEqualTo(30_000);
    assertThat(o.rateLimitTokens()).isEqualTo(5_000_000);
    assertThat(o.port()).isEqualTo(18_990);
  }
}
