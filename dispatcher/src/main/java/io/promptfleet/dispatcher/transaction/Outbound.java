package io.promptfleet.dispatcher.transaction;

import org.apache.kafka.common.header.Headers;

/**
 * One record a dispatch round writes: an assignment, a result, a dead letter, a dispatcher-made fleet event, or a
 * job's copy in its spill partition. The loop owner turns it into a producer record. Immutable by convention.
 *
 * @param topic     where it goes
 * @param partition the partition, or null to let the producer's partitioner choose (by key)
 * @param timestamp the record's timestamp, or null for the time of sending
 * @param key       its key (the job id for assignments and results; the original key for a dead letter or copy)
 * @param value     its bytes
 * @param headers   its headers, or null for none
 */
public record Outbound(String topic, Integer partition, Long timestamp, String key, byte[] value, Headers headers) {

  /** A record the partitioner places, stamped when sent. */
  public Outbound(String topic, String key, byte[] value, Headers headers) {
    this(topic, null, null, key, value, headers);
  }
}
