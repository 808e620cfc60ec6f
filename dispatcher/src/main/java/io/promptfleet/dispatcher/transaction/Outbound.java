package io.promptfleet.dispatcher.transaction;

import org.apache.kafka.common.header.Headers;

/**
 * One record a dispatch round writes: an assignment, a result, a dead letter or a dispatcher-made fleet event. The
 * loop owner turns it into a producer record. Immutable by convention.
 *
 * @param topic   where it goes
 * @param key     its key (the job id for assignments and results; the original key for a dead letter)
 * @param value   its bytes
 * @param headers its headers, or null for none
 */
public record Outbound(String topic, String key, byte[] value, Headers headers) {}
