package io.promptfleet.dispatcher.sim;

import io.promptfleet.dispatcher.intake.Inbound;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Kafka as the dispatcher sees it, in memory: topics of partitions of records with offsets and timestamps, the
 * dispatcher group's committed offsets, and time-indexed reads (offsetsForTimes). Only committed records are kept:
 * everybody in the fleet reads with read_committed, so a transaction's records are appended when it commits and
 * never when it aborts ({@link Simulation} holds them until then).
 *
 * <p>Not thread-safe: one simulation thread.
 */
final class SimKafka {

  /** One record as stored; {@link #inbound()} is what a poll hands the core. */
  record Rec(String topic, int partition, long offset, long timestamp, String key, byte[] value, Headers headers) {
    Inbound inbound() {
      return new Inbound(topic, partition, offset, timestamp, key, value, headers);
    }

    TopicPartition tp() {
      return new TopicPartition(topic, partition);
    }

    /** topic-partition@offset, as dead letters and messages name a record. */
    String where() {
      return topic + "-" + partition + "@" + offset;
    }
  }

  private final Map<String, List<List<Rec>>> topics = new LinkedHashMap<>();
  private final Map<TopicPartition, OffsetAndMetadata> committed = new HashMap<>();

  void create(String topic, int partitions) {
    List<List<Rec>> parts = new ArrayList<>();
    for (int i = 0; i < partitions; i++) {
      parts.add(new ArrayList<>());
    }
    topics.put(topic, parts);
  }

  boolean exists(String topic) {
    return topics.containsKey(topic);
  }

  int partitions(String topic) {
    return topics.get(topic).size();
  }

  /** The partition a keyed record goes to (a stable hash, as the default partitioner's murmur2 is). */
  int partitionFor(String topic, String key) {
    return Math.floorMod(key == null ? 0 : key.hashCode(), partitions(topic));
  }

  Rec append(String topic, String key, byte[] value, Headers headers, long timestamp) {
    return append(topic, partitionFor(topic, key), key, value, headers, timestamp);
  }

  Rec append(String topic, int partition, String key, byte[] value, Headers headers, long timestamp) {
    List<Rec> log = topics.get(topic).get(partition);
    Rec r = new Rec(topic, partition, log.size(), timestamp, key, value,
        headers == null ? new RecordHeaders() : headers);
    log.add(r);
    return r;
  }

  List<Rec> log(TopicPartition tp) {
    return topics.get(tp.topic()).get(tp.partition());
  }

  List<TopicPartition> partitionsOf(String topic) {
    List<TopicPartition> out = new ArrayList<>();
    for (int i = 0; i < partitions(topic); i++) {
      out.add(new TopicPartition(topic, i));
    }
    return out;
  }

  long end(TopicPartition tp) {
    return log(tp).size();
  }

  /** The dispatcher group's committed offset of a partition (0 when none was committed: earliest). */
  long committed(TopicPartition tp) {
    OffsetAndMetadata om = committed.get(tp);
    return om == null ? 0L : om.offset();
  }

  /** The committed offset with its metadata, as Consumer.committed returns it (null when none was committed). */
  OffsetAndMetadata committedWithMetadata(TopicPartition tp) {
    return committed.get(tp);
  }

  void commit(TopicPartition tp, OffsetAndMetadata offset) {
    committed.put(tp, offset);
  }

  /**
   * Every record of the topic from the first with a timestamp at or after {@code fromMs} to the end, partition by
   * partition in offset order: what seeking with offsetsForTimes and reading to the end offsets returns.
   */
  List<Rec> readFrom(String topic, long fromMs) {
    List<Rec> out = new ArrayList<>();
    for (List<Rec> log : topics.get(topic)) {
      boolean on = false;
      for (Rec r : log) {
        on = on || r.timestamp() >= fromMs;
        if (on) {
          out.add(r);
        }
      }
    }
    return out;
  }
}
