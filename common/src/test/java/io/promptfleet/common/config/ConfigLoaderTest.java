package io.promptfleet.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {
  private static final String MINIMAL = """
      providers:
        p: {base_url: "http://127.0.0.1:1/v1"}
      keys:
        k: {provider: p, secret_env: SOME_VAR}
      models:
        m:
          routes: [{provider: p, model: up}]
      """;

  @Test
  void shouldFillDefaultsForEverythingNotGiven() {
    FleetConfig c = ConfigLoader.parse(MINIMAL, Map.of(), new Properties());
    assertThat(c.kafka().bootstrapServers()).isEqualTo("127.0.0.1:9092");
    assertThat(c.topics().jobsNormal()).isEqualTo("llm.jobs.normal");
    assertThat(c.worker().slots()).isEqualTo(256);
    assertThat(c.keys().get("k").maxConcurrency()).isEqualTo(8);
    assertThat(c.keysOf(c.models().get("m").routes().get(0))).containsExactly("k");
  }

  @Test
  void shouldReadTheWorkersDrainGraceAndCoalescingWindowAndRejectBadOnes() {
    FleetConfig c = ConfigLoader.parse(MINIMAL, Map.of("PROMPTFLEET__WORKER__DRAIN_GRACE_MS", "5000"),
        new Properties());
    assertThat(c.worker().drainGraceMs()).isEqualTo(5000);
    assertThat(c.worker().coalesceMs()).isZero();
    assertThatThrownBy(() -> ConfigLoader.parse(MINIMAL + "worker: {coalesce_ms: 5000}\n", Map.of(),
        new Properties())).hasMessageContaining("worker.coalesce_ms");
  }

  @Test
  void shouldKeepTwoLanesOfAnIdleWorkerByDefaultAndRejectIdleLanesBeyondTheLanes() {
    assertThat(ConfigLoader.parse(MINIMAL, Map.of(), new Properties()).worker().idleLanes()).isEqualTo(2);
    assertThat(ConfigLoader.parse(MINIMAL + "worker: {slots: 4, lanes: 1}\n", Map.of(), new Properties()).worker()
        .idleLanes()).as("never more than the lanes").isEqualTo(1);
    assertThatThrownBy(() -> ConfigLoader.parse(MINIMAL + "worker: {lanes: 4, idle_lanes: 5}\n", Map.of(),
        new Properties())).hasMessageContaining("worker.idle_lanes must be >= 1 and <= worker.lanes (4)");
    assertThatThrownBy(() -> ConfigLoader.parse(MINIMAL + "worker: {idle_lanes: 0}\n", Map.of(),
        new Properties())).hasMessageContaining("worker.idle_lanes");
    assertThat(ConfigLoader.parse(MINIMAL + "worker: {park_lanes_after_ms: 300000}\n", Map.of(), new Properties())
        .worker().parkLanesAfterMs()).isEqualTo(300_000L);
    assertThatThrownBy(() -> ConfigLoader.parse(MINIMAL + "worker: {park_lanes_after_ms: 10}\n", Map.of(),
        new Properties())).hasMessageContaining("worker.park_lanes_after_ms must be >= 1000");
  }

  @Test
  void shouldCoalesceChunksAdaptivelyUnlessTheConfigurationSendsEveryDeltaAlone() {
    assertThat(ConfigLoader.parse(MINIMAL, Map.of(), new Properties()).worker().chunksInFlight()).isEqualTo(1);
    assertThat(ConfigLoader.parse(MINIMAL + "worker: {chunks_in_flight: 0}\n", Map.of(), new Properties()).worker()
        .chunksInFlight()).isZero();
    assertThatThrownBy(() -> ConfigLoader.parse(MINIMAL + "worker: {chunks_in_flight: -1}\n", Map.of(),
        new Properties())).hasMessageContaining("worker.chunks_in_flight must be 0..1000");
  }

  @Test
  void shouldApplyEnvironmentThenSystemPropertyOverrides() {
    Properties props = new Properties();
    props.setProperty("promptfleet.worker.slots", "2000");
    FleetConfig c = ConfigLoader.parse(MINIMAL, Map.of("PROMPTFLEET__KAFKA__BOOTSTRAP_SERVERS", "broker:9093",
        "PROMPTFLEET__PROVIDERS__P__BASE_URL", "https://elsewhere/v1", "UNRELATED", "x"), props);
    assertThat(c.kafka().bootstrapServers()).isEqualTo("broker:9093");
    assertThat(c.providers().get("p").baseUrl()).isEqualTo("https://elsewhere/v1");
    assertThat(c.worker().slots()).isEqualTo(2000);
  }

  @Test
  void shouldDeriveEveryTopicNameFromOnePrefix() {
    FleetConfig c = ConfigLoader.parse(MINIMAL + "topics: {prefix: staging, cancels: ops.cancels}\n", Map.of(),
        new Properties());
    assertThat(c.topics().jobsHigh()).isEqualTo("staging.jobs.high");
    assertThat(c.topics().assignments()).isEqualTo("staging.assignments");
    assertThat(c.topics().defaultReplyTo()).isEqualTo("staging.replies");
    assertThat(c.topics().cancels()).isEqualTo("ops.cancels");
    assertThat(c.topics().isReplyToAllowed("staging.replies.team-a")).isTrue();
    assertThat(c.topics().isReplyToAllowed("llm.replies")).isFalse();
  }

  @Test
  void shouldRequireAnApiVersionForAzureDeploymentUrlsButNotForTheV1Api() {
    String deployment = MINIMAL.replace("p: {base_url: \"http://127.0.0.1:1/v1\"}",
        "p: {base_url: \"https://res.openai.azure.com\", protocol: azure-openai}");
    String v1 = MINIMAL.replace("p: {base_url: \"http://127.0.0.1:1/v1\"}",
        "p: {base_url: \"https://res.openai.azure.com/openai/v1/\", protocol: azure-openai}");

    assertThatThrownBy(() -> ConfigLoader.parse(deployment, Map.of(), new Properties()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("providers.p.api_version is required for protocol azure-openai")
        .hasMessageContaining("/openai/v1");
    assertThat(ConfigLoader.parse(deployment.replace("protocol: azure-openai", "protocol: azure-openai, "
        + "api_version: \"2024-10-21\""), Map.of(), new Properties()).providers().get("p").apiVersion())
        .isEqualTo("2024-10-21");
    assertThat(ConfigLoader.parse(v1, Map.of(), new Properties()).providers().get("p").isAzureV1()).isTrue();
  }

  @Test
  void shouldRefuseAProxyUrlTheWorkerCannotUse() {
    String proxied = MINIMAL.replace("p: {base_url: \"http://127.0.0.1:1/v1\"}",
        "p: {base_url: \"https://api.example/v1\", proxy: {url: \"URL\"}}");

    assertThatThrownBy(() -> ConfigLoader.parse(proxied.replace("URL", "https://proxy:3128"), Map.of(),
        new Properties())).hasMessageContaining("providers.p.proxy.url must be an http://host:port URL")
        .hasMessageContaining("TLS connection to the proxy itself is not supported");
    assertThatThrownBy(() -> ConfigLoader.parse(proxied.replace("URL", "http://proxy"), Map.of(),
        new Properties())).hasMessageContaining("providers.p.proxy.url must name the proxy's host and port");
    assertThatThrownBy(() -> ConfigLoader.parse(proxied.replace("URL", "http://u:p@proxy:3128"), Map.of(),
        new Properties())).hasMessageContaining("must not hold credentials");
    assertThat(ConfigLoader.parse(proxied.replace("URL", "http://proxy:3128"), Map.of(), new Properties())
        .providers().get("p").proxy().port()).isEqualTo(3128);
  }

  @Test
  void shouldReadSuccessorsAsAutoTrueOrFalseAndKeepReadingBooleans() {
    assertThat(ConfigLoader.parse(MINIMAL, Map.of(), new Properties()).dispatcher().successors())
        .as("auto unless set").isEqualTo(SuccessorMode.AUTO);
    assertThat(ConfigLoader.parse(MINIMAL + "dispatcher: {successors: auto}\n", Map.of(), new Properties())
        .dispatcher().successors()).isEqualTo(SuccessorMode.AUTO);
    assertThat(ConfigLoader.parse(MINIMAL + "dispatcher: {successors: true}\n", Map.of(), new Properties())
        .dispatcher().successors()).isEqualTo(SuccessorMode.ON);
    assertThat(ConfigLoader.parse(MINIMAL + "dispatcher: {successors: false}\n", Map.of(), new Properties())
        .dispatcher().successors()).isEqualTo(SuccessorMode.OFF);
    assertThat(ConfigLoader.parse(MINIMAL + "dispatcher: {successors: \"true\"}\n", Map.of(), new Properties())
        .dispatcher().successors()).isEqualTo(SuccessorMode.ON);
    assertThat(ConfigLoader.parse(MINIMAL, Map.of("PROMPTFLEET__DISPATCHER__SUCCESSORS", "false"), new Properties())
        .dispatcher().successors()).isEqualTo(SuccessorMode.OFF);
    assertThatThrownBy(() -> ConfigLoader.parse(MINIMAL + "dispatcher: {successors: maybe}\n", Map.of(),
        new Properties())).isInstanceOf(ConfigException.class).hasMessageContaining("auto, true, false");
  }

  @Test
  void shouldListenElevenSecondsForHeartbeatsBeforeAutoOpensUnlessSet() {
    assertThat(ConfigLoader.parse(MINIMAL, Map.of(), new Properties()).dispatcher().successorsListenMs())
        .as("two default heartbeat intervals and a second").isEqualTo(11_000L);
    assertThat(ConfigLoader.parse(MINIMAL + "dispatcher: {successors_listen_ms: 2000}\n", Map.of(), new Properties())
        .dispatcher().successorsListenMs()).isEqualTo(2_000L);
    assertThatThrownBy(() -> ConfigLoader.parse(MINIMAL + "dispatcher: {successors_listen_ms: -1}\n", Map.of(),
        new Properties())).isInstanceOf(ConfigException.class).hasMessageContaining("successors_listen_ms");
  }

  @Test
  void shouldBeatEveryFiveSecondsUnlessSetAndRejectAnIntervalOutOfRangeNamingTheKey() {
    assertThat(ConfigLoader.parse(MINIMAL, Map.of(), new Properties()).worker().heartbeatMs()).isEqualTo(5_000L);
    FleetConfig fast = ConfigLoader.parse(MINIMAL + "worker: {heartbeat_ms: 1000}\n", Map.of(), new Properties());
    assertThat(fast.worker().heartbeatMs()).isEqualTo(1_000L);
    assertThat(fast.worker().heardWithinMs()).as("two intervals and a second").isEqualTo(3_000L);
    assertThatThrownBy(() -> ConfigLoader.parse(MINIMAL + "worker: {heartbeat_ms: 100}\n", Map.of(),
        new Properties())).isInstanceOf(ConfigException.class)
        .hasMessageContaining("worker.heartbeat_ms must be 500..15000 (was 100)");
    assertThatThrownBy(() -> ConfigLoader.parse(MINIMAL + "worker: {heartbeat_ms: 60000}\n", Map.of(),
        new Properties())).isInstanceOf(ConfigException.class).hasMessageContaining("worker.heartbeat_ms");
  }

  /** The dispatcher listens as long as the workers of its own configuration need to be heard, unless told. */
  @Test
  void shouldDeriveTheSuccessorsListeningSpellFromTheWorkersHeartbeatUnlessSet() {
    assertThat(ConfigLoader.parse(MINIMAL + "worker: {heartbeat_ms: 1000}\n", Map.of(), new Properties())
        .dispatcher().successorsListenMs()).as("2 × 1 s + 1 s").isEqualTo(3_000L);
    String both = MINIMAL + "worker: {heartbeat_ms: 1000}\ndispatcher: {successors_listen_ms: 8000}\n";
    assertThat(ConfigLoader.parse(both, Map.of(), new Properties()).dispatcher().successorsListenMs())
        .as("set: kept").isEqualTo(8_000L);
  }

  @Test
  void shouldNameTheFieldOfABadValue() {
    Properties props = new Properties();
    props.setProperty("promptfleet.worker.slots", "0");
    assertThatThrownBy(() -> ConfigLoader.parse(MINIMAL, Map.of(), props))
        .isInstanceOf(ConfigException.class).hasMessageContaining("worker.slots must be > 0");
  }

  @Test
  void shouldNameAnUnknownKeyInsteadOfIgnoringIt() {
    assertThatThrownBy(() -> ConfigLoader.parse(MINIMAL + "worker: {slotz: 5}\n", Map.of(), new Properties()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("unknown key worker.slotz");
  }

  @Test
  void shouldNameAWrongType() {
    assertThatThrownBy(() -> ConfigLoader.parse(MINIMAL + "worker: {slots: many}\n", Map.of(), new Properties()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("worker.slots");
  }

  @Test
  void shouldRefuseDanglingReferences() {
    String yaml = MINIMAL.replace("provider: p, model: up", "provider: q, model: up");
    assertThatThrownBy(() -> ConfigLoader.parse(yaml, Map.of(), new Properties()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("models.m.routes[0].provider must name a configured provider (got q)");
  }

  @Test
  void shouldGiveCreatedTopicsTheConfiguredMinInsyncReplicasAndRefuseOneAboveTheReplicationFactor() {
    assertThat(ConfigLoader.parse(MINIMAL, Map.of(), new Properties()).topics().createdTopicConfigs())
        .as("unset: the broker's default applies").isEmpty();
    assertThat(ConfigLoader.parse(MINIMAL + "topics: {replication_factor: 3, min_insync_replicas: 2}\n", Map.of(),
        new Properties()).topics().createdTopicConfigs()).containsExactly(Map.entry("min.insync.replicas", "2"));
    assertThatThrownBy(() -> ConfigLoader.parse(MINIMAL + "topics: {min_insync_replicas: 2}\n", Map.of(),
        new Properties())).isInstanceOf(ConfigException.class)
        .hasMessageContaining("topics.min_insync_replicas (2) must be <= topics.replication_factor (1)");
    assertThatThrownBy(() -> ConfigLoader.parse(MINIMAL + "topics: {min_insync_replicas: 0}\n", Map.of(),
        new Properties())).isInstanceOf(ConfigException.class)
        .hasMessageContaining("topics.min_insync_replicas must be > 0");
  }

  @Test
  void shouldRefuseAKeyWithoutASecretSource() {
    String yaml = MINIMAL.replace("secret_env: SOME_VAR", "max_concurrency: 3");
    assertThatThrownBy(() -> ConfigLoader.parse(yaml, Map.of(), new Properties()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("keys.k needs secret_env or secret_file");
  }

  @Test
  void shouldLoadTheShippedConfigurations() {
    assertThat(ConfigLoader.load(Path.of("..", "config", "dev.yaml"), Map.of(), new Properties()).models())
        .containsKey("sim");
    FleetConfig production = ConfigLoader.load(Path.of("..", "config", "promptfleet.yaml"), Map.of(),
        new Properties());
    assertThat(production.keys()).hasSize(2);
    assertThat(production.topics().replicationFactor()).isEqualTo((short) 3);
    assertThat(production.topics().minInsyncReplicas()).isEqualTo(2);
    assertThat(production.worker().chunksInFlight()).isEqualTo(1);
  }
}
