package io.promptfleet.common.kafka;

import io.promptfleet.common.config.KafkaSettings;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Property maps for the fleet's Kafka clients: keys are strings (job ids), values raw bytes (JSON). */
public final class KafkaClients {
  private KafkaClients() {}

  public static Map<String, Object> common(KafkaSettings kafka, String clientId) {
    Map<String, Object> p = new HashMap<>(kafka.clientProperties());
    p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    p.put(CommonClientConfigs.CLIENT_ID_CONFIG, clientId);
    return p;
  }

  /** An idempotent producer, acks=all, small linger: what reply and event records need. */
  public static Map<String, Object> producer(KafkaSettings kafka, String clientId) {
    Map<String, Object> p = common(kafka, clientId);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 2);
    p.putIfAbsent(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    return p;
  }

  public static Map<String, Object> transactionalProducer(KafkaSettings kafka, String clientId, String txnId) {
    Map<String, Object> p = producer(kafka, clientId);
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
    p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 30_000);
    return p;
  }

  /** A consumer with manual commits, reading only committed records. */
  public static Map<String, Object> consumer(KafkaSettings kafka, String clientId, String groupId) {
    Map<String, Object> p = common(kafka, clientId);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    return p;
  }

  /**
   * A consumer of no group that assigns its partitions itself (a watcher that must see every record, a read-back),
   * otherwise as {@link #consumer}: read_committed, nothing committed.
   */
  public static Map<String, Object> groupless(KafkaSettings kafka, String clientId) {
    Map<String, Object> p = consumer(kafka, clientId, "unused");
    p.remove(ConsumerConfig.GROUP_ID_CONFIG);
    return p;
  }

  /** A share consumer with explicit acknowledgement that acquires at most {@code maxRecords} per poll. */
  public static Map<String, Object> shareConsumer(KafkaSettings kafka, String clientId, String groupId,
      int maxRecords) {
    Map<String, Object> p = common(kafka, clientId);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    p.put(ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG, "explicit");
    p.put("share.acquire.mode", "record_limit");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, maxRecords);
    return p;
  }

  public static Map<String, Object> admin(KafkaSettings kafka, String clientId) {
    return common(kafka, clientId);
  }
}
