package io.promptfleet.kafka.embedded;

import java.util.Locale;
import java.util.Map;
import org.testcontainers.kafka.KafkaContainer;

/**
 * Starts the shared test broker as a container (the official apache/kafka image, KRaft) where a Docker engine
 * exists. Only {@link SharedKafka} uses it, and only when asked ({@code -Dkafka.testcontainers=true}); its
 * Testcontainers dependency is on the test classpath, never in the shipped fleet.
 */
final class ContainerBroker {
  /** The image matching the clients: share groups need 4.2+. */
  static final String IMAGE = "apache/kafka:4.4.0";

  private ContainerBroker() {}

  /** Starts the container with the given broker properties and returns its bootstrap servers. */
  static String start(Map<String, String> brokerProperties) {
    KafkaContainer kafka = new KafkaContainer(System.getProperty("kafka.testcontainers.image", IMAGE));
    // The image maps KAFKA_A_B=value to the broker property a.b=value.
    brokerProperties.forEach((k, v) -> kafka.withEnv("KAFKA_" + k.toUpperCase(Locale.ROOT).replace('.', '_'), v));
    kafka.start();
    Runtime.getRuntime().addShutdownHook(new Thread(kafka::stop, "shared-kafka-container-stop"));
    return kafka.getBootstrapServers();
  }
}
