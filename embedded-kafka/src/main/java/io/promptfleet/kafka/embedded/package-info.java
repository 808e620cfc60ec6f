/**
 * A single-node Apache Kafka 4.4 (KRaft, broker and controller in one process) that runs inside
 * this JVM, for dev mode and for tests.
 *
 * <ul>
 *   <li>{@link io.promptfleet.kafka.embedded.EmbeddedKafka}: one broker, started and stopped by its owner.</li>
 *   <li>{@link io.promptfleet.kafka.embedded.EmbeddedKafkaMain}: the same broker as a process of its own
 *       (prints {@code KAFKA READY <bootstrap>} when ready, stops cleanly on SIGTERM).</li>
 *   <li>{@link io.promptfleet.kafka.embedded.SharedKafka} and
 *       {@link io.promptfleet.kafka.embedded.KafkaTestSupport}: one broker per test JVM (or an external one
 *       named by {@code -Dkafka.bootstrap} / {@code KAFKA_BOOTSTRAP}) and the helpers tests need.</li>
 * </ul>
 *
 * <p>This module ships no logging configuration: whoever runs it owns that.
 */
package io.promptfleet.kafka.embedded;
