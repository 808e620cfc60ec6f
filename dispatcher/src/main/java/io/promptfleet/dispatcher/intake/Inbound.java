package io.promptfleet.dispatcher.intake;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * A record the dispatcher read from Kafka, as everything past the loop owner sees it: the loop owner copies each
 * polled record into one, so no collaborator depends on a Kafka client or its record classes, and a test or a
 * simulation builds them by hand. Immutable by convention: the value array and the headers are shared, not copied;
 * nobody changes them.
 *
 * @param topic     where it was read
 * @param partition its partition
 * @param offset    its offset
 * @param timestamp its record timestamp (epoch ms)
 * @param key       its key (may be null)
 * @param value     its value (may be null)
 * @param headers   its headers (never null)
 */
public record Inbound(String topic, int partition, long offset, long timestamp, String key, byte[] value,
    Headers headers) {

  /** A record without headers. */
  public Inbound(String topic, int partition, long offset, long timestamp, String key, byte[] value) {
    this(topic, partition, offset, timestamp, key, value, new RecordHeaders());
  }

  /** Its topic and partition (a new object each call). */
  public TopicPartition topicPartition() {
    return new TopicPartition(topic, partition);
  }

  /** The last header of that name as UTF-8 text, or null. */
  public String header(String name) {
    Header h = headers.lastHeader(name);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }
}
