/** Kafka client properties and topic creation shared by every process. */
package io.promptfleet.common.kafka;
