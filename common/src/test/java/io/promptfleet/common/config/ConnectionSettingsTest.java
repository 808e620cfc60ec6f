package io.promptfleet.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class ConnectionSettingsTest {
  private static final String CONFIG = """
      providers:
        p: {base_url: "URL"CONNECTIONS}
      keys:
        k: {provider: p, secret_env: K}
      models:
        m:
          routes:
            - {provider: p, model: m}
      """;

  private static ConnectionSettings parse(String url, String connections) {
    String yaml = CONFIG.replace("URL", url).replace("CONNECTIONS", connections == null ? ""
        : ", connections: " + connections);
    return ConfigLoader.parse(yaml, Map.of(), new Properties()).providers().get("p").connections();
  }

  @Test
  void shouldDefaultToAutoWithOneConnectionPerSlotOverHttp1AndEnoughForEverySlotOverHttp2() {
    ConnectionSettings c = parse("https://api.example/v1", null);

    assertThat(c.httpVersion()).isEqualTo(HttpVersionChoice.AUTO);
    assertThat(c.maxPendingConnects()).isEqualTo(32);
    assertThat(c.maxStreamsPerConnection()).isEqualTo(100);
    assertThat(c.http1Connections(10_000)).isEqualTo(10_000);
    assertThat(c.http2Connections(10_000)).isEqualTo(100);
    assertThat(c.http2Connections(101)).as("rounded up: every slot has a stream").isEqualTo(2);
    assertThat(c.http2Connections(0)).isEqualTo(1);
  }

  @Test
  void shouldReadEverySettingAndLetMaxConnectionsCapBothVersions() {
    ConnectionSettings c = parse("http://127.0.0.1:1/v1", "{http_version: h2c, max_connections: 3, "
        + "max_streams_per_connection: 50, max_pending_connects: 4}");

    assertThat(c.httpVersion()).isEqualTo(HttpVersionChoice.H2C);
    assertThat(c.http1Connections(500)).isEqualTo(3);
    assertThat(c.http2Connections(500)).isEqualTo(3);
    assertThat(c.maxStreamsPerConnection()).isEqualTo(50);
    assertThat(c.maxPendingConnects()).isEqualTo(4);
    assertThat(parse("http://127.0.0.1:1/v1", "{http_version: HTTP1}").httpVersion())
        .isEqualTo(HttpVersionChoice.HTTP1);
  }

  @Test
  void shouldNameWhatIsWrong() {
    assertThatThrownBy(() -> parse("https://api.example/v1", "{http_version: h2c}"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("providers.p.connections.http_version h2c").hasMessageContaining("use auto");
    assertThatThrownBy(() -> parse("http://x/v1", "{http_version: h3}"))
        .hasMessageContaining("unknown http_version 'h3'").hasMessageContaining("auto, http1, h2c");
    assertThatThrownBy(() -> parse("http://x/v1", "{max_connections: 0}"))
        .hasMessageContaining("providers.p.connections.max_connections must be > 0");
    assertThatThrownBy(() -> parse("http://x/v1", "{max_streams_per_connection: 0}"))
        .hasMessageContaining("providers.p.connections.max_streams_per_connection must be > 0");
    assertThatThrownBy(() -> parse("http://x/v1", "{max_pending_connects: -1}"))
        .hasMessageContaining("providers.p.connections.max_pending_connects must be > 0");
    assertThatThrownBy(() -> parse("http://x/v1", "{max_conections: 3}"))
        .hasMessageContaining("max_conections");
  }
}
