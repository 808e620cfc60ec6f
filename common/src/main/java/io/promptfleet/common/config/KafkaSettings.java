package io.promptfleet.common.config;

import java.util.Map;

/**
 * How every process reaches Kafka.
 *
 * @param bootstrapServers  host:port list (default 127.0.0.1:9092)
 * @param clientProperties extra properties for every Kafka client: security, timeouts (default none)
 */
public record KafkaSettings(String bootstrapServers, Map<String, String> clientProperties) {
  public KafkaSettings {
    bootstrapServers = bootstrapServers == null ? "127.0.0.1:9092" : bootstrapServers;
    clientProperties = clientProperties == null ? Map.of() : Map.copyOf(clientProperties);
    ConfigException.require(!bootstrapServers.isBlank(), "kafka.bootstrap_servers must not be empty");
  }

  public static KafkaSettings defaults() {
    return new KafkaSettings(null, null);
  }
}
