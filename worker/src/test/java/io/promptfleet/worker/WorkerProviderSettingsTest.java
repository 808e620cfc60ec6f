package io.promptfleet.worker;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.config.ConfigException;
import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A worker refuses to start with a provider it could only call wrongly; it says which setting and variable. */
class WorkerProviderSettingsTest {
  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() {
    vertx.close();
    System.clearProperty("PF_TEST_KEY_SECRET");
  }

  @Test
  void shouldRefuseToStartWhenAHeadersVariableIsUnsetRatherThanSendRequestsWithoutIt() {
    System.setProperty("PF_TEST_KEY_SECRET", "sk-test");
    FleetConfig config = ConfigLoader.parse("""
        providers:
          gw:
            base_url: "http://127.0.0.1:1/v1"
            headers: {x-gateway-token: {value_env: PF_TEST_UNSET_GATEWAY_TOKEN}}
        keys:
          k: {provider: gw, secret_env: PF_TEST_KEY_SECRET}
        models:
          m:
            routes: [{provider: gw, model: up}]
        """, Map.of(), new Properties());

    assertThatThrownBy(() -> new Worker(config, vertx, new SimpleMeterRegistry(), "w1", Clock.systemUTC()))
        .isInstanceOf(ConfigException.class)
        .hasMessage("providers.gw.headers.x-gateway-token.value_env names environment variable"
            + " PF_TEST_UNSET_GATEWAY_TOKEN, which is not set (nor a system property of that name)");
  }
}
