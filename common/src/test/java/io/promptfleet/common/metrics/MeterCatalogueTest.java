package io.promptfleet.common.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.junit.jupiter.api.Test;

/**
 * The one meter builder. The catalogues' own specs (names, descriptions, tags, what dashboards query) are checked
 * for every process at once by the architecture module's {@code MeterCatalogueTest}.
 */
class MeterCatalogueTest {
  enum Spec implements MeterSpec {
    CALLS(new Def("test.calls", Meter.Type.COUNTER, null, false, "calls", List.of("route", "outcome"))),
    LATENCY(new Def("test.latency", Meter.Type.TIMER, "seconds", true, "latency", List.of("route"))),
    SIZE(new Def("test.size", Meter.Type.DISTRIBUTION_SUMMARY, "bytes", false, "size", List.of())),
    DEPTH(new Def("test.depth", Meter.Type.GAUGE, null, false, "depth", List.of("lane")));

    private final Def def;

    Spec(Def def) {
      this.def = def;
    }

    @Override
    public Def def() {
      return def;
    }
  }

  static final class TestMetrics extends MeterCatalogue<Spec> {
    TestMetrics(MeterRegistry registry) {
      super(registry);
    }
  }

  private final MeterRegistry registry = new SimpleMeterRegistry();
  private final TestMetrics metrics = new TestMetrics(registry);

  @Test
  void shouldRegisterWithTheSpecsNameDescriptionAndTagsInOrder() {
    metrics.counter(Spec.CALLS, "a/m", "ok").increment(2);
    metrics.timer(Spec.LATENCY, "a/m");
    metrics.summary(Spec.SIZE).record(10);
    metrics.gauge(Spec.DEPTH, () -> 7, "high");

    assertThat(registry.get("test.calls").tags("route", "a/m", "outcome", "ok").counter().count()).isEqualTo(2.0);
    assertThat(registry.get("test.calls").meter().getId().getDescription()).isEqualTo("calls");
    assertThat(registry.get("test.latency").timer().getId().getType()).isEqualTo(Meter.Type.TIMER);
    assertThat(registry.get("test.size").summary().getId().getBaseUnit()).isEqualTo("bytes");
    assertThat(registry.get("test.depth").tag("lane", "high").gauge().value()).isEqualTo(7.0);
  }

  @Test
  void shouldReuseTheMeterOfOneTagCombination() {
    assertThat(metrics.counter(Spec.CALLS, "a/m", "ok")).isSameAs(metrics.counter(Spec.CALLS, "a/m", "ok"))
        .isNotSameAs(metrics.counter(Spec.CALLS, "a/m", "error"));
  }

  @Test
  void shouldRefuseTheWrongNumberOfTagsOrTheWrongType() {
    assertThatThrownBy(() -> metrics.counter(Spec.CALLS, "a/m")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("[route, outcome]");
    assertThatThrownBy(() -> metrics.timer(Spec.CALLS, "a/m", "ok")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("COUNTER");
  }

  @Test
  void shouldBindAKafkaClientsMetricsUntilTheBinderIsClosed() {
    MockProducer<String, byte[]> producer = new MockProducer<>();
    MetricName sent = new MetricName("record-send-total", "producer-metrics", "records sent",
        Map.of("client-id", "pf-w1"));
    producer.setMockMetrics(sent, new Metric() {
      @Override
      public MetricName metricName() {
        return sent;
      }

      @Override
      public Object metricValue() {
        return 3.0;
      }
    });

    try (KafkaClientMetrics binder = metrics.kafkaClient(new KafkaClientMetrics(producer))) {
      assertThat(registry.get("kafka.producer.record.send.total").tag("client.id", "pf-w1").functionCounter()
          .count()).isEqualTo(3.0);
    }

    assertThat(registry.find("kafka.producer.record.send.total").meters()).isEmpty();
  }
}
