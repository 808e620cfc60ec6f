package io.promptfleet.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.promptfleet.common.kafka.TopicPartitions;
import io.promptfleet.kafka.embedded.KafkaTestSupport;
import io.promptfleet.kafka.embedded.SharedKafka;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

/**
 * {@link TopicPartitions} against a real broker: a topic that appears while a consumer asks is found with all its
 * partitions (the consumer's metadata learns it), and one that never appears is named in the error, instead of an
 * empty assignment that reads nothing.
 */
class TopicPartitionsIT {

  private static KafkaConsumer<byte[], byte[]> consumer() {
    return new KafkaConsumer<>(Map.of("bootstrap.servers", SharedKafka.bootstrapServers(),
        "key.deserializer", ByteArrayDeserializer.class, "value.deserializer", ByteArrayDeserializer.class));
  }

  @Test
  void shouldWaitForATopicCreatedWhileAsking() throws Exception {
    String topic = "tp-late-" + UUID.randomUUID();
    try (var c = consumer()) {
      CompletableFuture<Void> created = CompletableFuture.runAsync(() -> {
        try {
          Thread.sleep(1_500);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        KafkaTestSupport.createTopics(SharedKafka.bootstrapServers(), 3, topic);
      });
      List<TopicPartition> parts = TopicPartitions.await(c, topic, Duration.ofSeconds(30));
      created.get(10, TimeUnit.SECONDS);
      assertThat(parts).containsExactlyInAnyOrder(new TopicPartition(topic, 0), new TopicPartition(topic, 1),
          new TopicPartition(topic, 2));
    }
  }

  @Test
  void shouldNameATopicThatNeverAppears() {
    String topic = "tp-missing-" + UUID.randomUUID();
    try (var c = consumer()) {
      assertThatThrownBy(() -> TopicPartitions.await(c, topic, Duration.ofSeconds(1)))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining(topic).hasMessageContaining("exist");
      assertThat(TopicPartitions.await(c, topic, () -> false)).as("asked once, then stopped").isEmpty();
    }
  }
}
