package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.dispatcher.DispatcherService;
import io.promptfleet.simulator.SimulatorOptions;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The Kafka clients' own metrics on an active dispatcher's {@code /metrics}. */
class DispatcherKafkaMetricsIT {

  @Test
  void shouldServeTheKafkaMetricsOfBothConsumersAndTheProducerWithoutPerTopicProducerSeries() throws Exception {
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults(), Map.of("k", "{max_concurrency: 2}"), """
        models:
          sim:
            routes:
              - {provider: sim, model: sim}
        """)) {
      DispatcherService d = fleet.startDispatcher("d1");
      Fleet.awaitActive(d, Duration.ofSeconds(60));
      String group = fleet.config.dispatcher().groupId(); // <prefix>-dispatcher; the instance is <prefix>-d1
      String clientId = "pf-dispatcher-" + group.substring(0, group.length() - "dispatcher".length()) + "d1";

      List<String> kafka = Arrays.stream(Fleet.scrape(d).split("\n")).filter(l -> l.startsWith("kafka_")).toList();

      assertThat(kafka).as("job consumer").anyMatch(l -> l.startsWith("kafka_consumer_")
          && l.contains("client_id=\"" + clientId + "\""));
      assertThat(kafka).as("feedback consumer").anyMatch(l -> l.contains("client_id=\"" + clientId + "-feedback\""));
      assertThat(kafka).as("transactional producer").anyMatch(l -> l.startsWith("kafka_producer_")
          && l.contains("client_id=\"" + clientId + "-tx\""));
      assertThat(kafka).as("dropped by Registries.kafkaClientSeries()")
          .noneMatch(l -> l.startsWith("kafka_producer_topic_"));
    }
  }
}
