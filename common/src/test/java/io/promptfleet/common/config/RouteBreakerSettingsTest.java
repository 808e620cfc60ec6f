package io.promptfleet.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** A route's own breaker block over dispatcher.breaker, and the route's overflow flag. */
class RouteBreakerSettingsTest {
  private static final String BASE = """
      providers:
        p: {base_url: "http://127.0.0.1:1/v1"}
      keys:
        k: {provider: p, secret_env: SOME_VAR}
      """;

  private static FleetConfig parse(String rest) {
    return ConfigLoader.parse(BASE + rest, Map.of(), new Properties());
  }

  @Test
  void shouldDefaultToWaitingAndTheGlobalBreakerWithSlownessOverAFullWindow() {
    FleetConfig c = parse("""
        models:
          m:
            routes: [{provider: p, model: up}]
        """);
    RouteSettings r = c.models().get("m").routes().get(0);
    BreakerSettings b = r.breakerOver(c.dispatcher().breaker(), "models.m.routes[0]");

    assertThat(r.overflow()).isFalse();
    assertThat(b).isEqualTo(c.dispatcher().breaker());
    assertThat(b.minimumCalls()).isEqualTo(20);
    assertThat(b.slowMinimumCalls()).as("a p99 over the whole window").isEqualTo(100);
  }

  @Test
  void shouldMergeARoutesBreakerBlockFieldByFieldOverTheGlobalOne() {
    FleetConfig c = parse("""
        models:
          m:
            routes:
              - {provider: p, model: thinker, overflow: true, breaker: {slow_call_ms: 30000, window_size: 40}}
        dispatcher:
          breaker: {failure_rate_percent: 7, open_ms: 5000}
        """);
    RouteSettings r = c.models().get("m").routes().get(0);
    BreakerSettings b = r.breakerOver(c.dispatcher().breaker(), "models.m.routes[0]");

    assertThat(r.overflow()).isTrue();
    assertThat(b.slowCallMs()).isEqualTo(30_000);
    assertThat(b.failureRatePercent()).isEqualTo(7.0);
    assertThat(b.openMs()).isEqualTo(5_000);
    assertThat(b.windowSize()).isEqualTo(40);
    assertThat(b.minimumCalls()).isEqualTo(20);
    assertThat(b.slowMinimumCalls()).as("the route's whole window").isEqualTo(40);
  }

  @Test
  void shouldNameTheRoutesPathWhenItsBreakerBlockIsInvalid() {
    assertThatThrownBy(() -> parse("""
        models:
          m:
            routes:
              - {provider: p, model: a}
              - {provider: p, model: b, breaker: {slow_call_rate_percent: 0}}
        """)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("models.m.routes[1].breaker.slow_call_rate_percent must be in (0, 100]");
    assertThatThrownBy(() -> parse("""
        models:
          m:
            routes: [{provider: p, model: a, breaker: {window_size: 10, slow_minimum_calls: 50}}]
        """)).hasMessageContaining("models.m.routes[0].breaker.slow_minimum_calls must be > 0 and <= window_size 10");
    assertThatThrownBy(() -> parse("""
        models:
          m:
            routes: [{provider: p, model: a, breaker: {slow_call_msx: 10}}]
        """)).hasMessageContaining("unknown key").hasMessageContaining("slow_call_msx");
    assertThatThrownBy(() -> parse("""
        models:
          m:
            routes: [{provider: p, model: a}]
        dispatcher:
          breaker: {window_size: 10, minimum_calls: 20}
        """)).hasMessageContaining("dispatcher.breaker.minimum_calls must be > 0 and <= window_size 10");
  }

  @Test
  void shouldRefuseTwoBreakerBlocksForOneRouteName() {
    assertThatThrownBy(() -> parse("""
        models:
          m:
            routes: [{provider: p, model: a, breaker: {open_ms: 1000}}]
          n:
            routes: [{provider: p, model: a}]
        """)).hasMessageContaining("models.m.routes[0].breaker differs from models.n.routes[0].breaker");
  }
}
