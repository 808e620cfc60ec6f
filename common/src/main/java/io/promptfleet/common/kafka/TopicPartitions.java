package io.promptfleet.common.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * A topic's partitions, for a consumer that assigns them itself. A topic created moments before (the launcher
 * creates the fleet's topics just before its processes start) may not be in a client's metadata yet, and
 * {@code partitionsFor} then answers an empty list: taken as the topic's partitions, a consumer would assign none
 * and read nothing, silently, for its whole life. This asks again until the metadata has some.
 */
public final class TopicPartitions {
  private static final long BACKOFF_MS = 100;

  private TopicPartitions() {}

  /**
   * The partitions of {@code topic}, asked for until the metadata has some.
   *
   * @throws IllegalStateException naming the topic, when it has none after {@code timeout}
   */
  public static List<TopicPartition> await(Consumer<?, ?> consumer, String topic, Duration timeout) {
    long until = System.nanoTime() + timeout.toNanos();
    List<TopicPartition> parts = await(consumer, topic, () -> System.nanoTime() < until);
    if (parts.isEmpty()) {
      throw new IllegalStateException("topic " + topic + " has no partitions in the cluster's metadata after "
          + timeout.toSeconds() + " s: does it exist?");
    }
    return parts;
  }

  /** The partitions of {@code topic}, asked for while {@code keepTrying} holds (empty if it stopped first). */
  public static List<TopicPartition> await(Consumer<?, ?> consumer, String topic, BooleanSupplier keepTrying) {
    do {
      List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
      if (infos != null && !infos.isEmpty()) {
        List<TopicPartition> out = new ArrayList<>();
        infos.forEach(p -> out.add(new TopicPartition(topic, p.partition())));
        return out;
      }
      try {
        Thread.sleep(BACKOFF_MS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return List.of();
      }
    } while (keepTrying.getAsBoolean());
    return List.of();
  }

  /**
   * Every record of {@code topics} from their beginning to their end as of this call (the last stable offset for a
   * {@code read_committed} consumer), read with {@code consumer}, which this assigns. For read-backs: a test's or a
   * benchmark's evidence.
   *
   * @throws IllegalStateException when the end is not reached within {@code timeout}
   */
  public static <K, V> List<ConsumerRecord<K, V>> readToEnd(Consumer<K, V> consumer, List<String> topics,
      Duration timeout) {
    long until = System.nanoTime() + timeout.toNanos();
    List<TopicPartition> parts = new ArrayList<>();
    for (String topic : topics) {
      parts.addAll(await(consumer, topic, timeout));
    }
    consumer.assign(parts);
    consumer.seekToBeginning(parts);
    Map<TopicPartition, Long> end = consumer.endOffsets(parts);
    List<ConsumerRecord<K, V>> all = new ArrayList<>();
    while (parts.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
      if (System.nanoTime() > until) {
        throw new IllegalStateException("could not read " + topics + " to their end within " + timeout.toSeconds()
            + " s");
      }
      consumer.poll(Duration.ofMillis(100)).forEach(all::add);
    }
    return all;
  }
}
