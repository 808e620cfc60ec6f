package io.promptfleet.common.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

class RegistriesTest {

  private final MeterRegistry registry = new SimpleMeterRegistry();

  RegistriesTest() {
    registry.config().meterFilter(Registries.kafkaClientSeries());
  }

  @Test
  void shouldDropProducerPerTopicMetersWhoseNumberGrowsWithReplyTopics() {
    gauge("kafka.producer.topic.record.send.total", "topic", "replies.tenant-a");

    assertThat(registry.find("kafka.producer.topic.record.send.total").meters()).isEmpty();
  }

  @Test
  void shouldDropPerPartitionConsumerMetersThatHaveNoClientLevelTwin() {
    gauge("kafka.consumer.fetch.manager.records.lag", "partition", "0");
    gauge("kafka.consumer.fetch.manager.records.lead.avg", "partition", "0");

    assertThat(registry.getMeters()).isEmpty();
  }

  @Test
  void shouldKeepClientLevelMetersAndThePerPartitionLagMaximum() {
    gauge("kafka.producer.record.send.total", "client.id", "pf-w1");
    gauge("kafka.consumer.fetch.manager.records.lag.max", "partition", "0");
    gauge("kafka.consumer.fetch.manager.records.lag", "client.id", "pf-d1");
    gauge("promptfleet.worker.slots.free", "role", "worker");

    assertThat(registry.getMeters()).hasSize(4);
  }

  private void gauge(String name, String tag, String value) {
    Gauge.builder(name, () -> 1).tag(tag, value).register(registry);
  }
}
