package io.promptfleet.worker.poll;

import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * What a {@link Lane} tells its owner. Every method runs on the lane's thread, so none may block for long: a poll
 * waits for it.
 */
public interface LaneListener {

  /**
   * A record the lane acquired. The listener must eventually call {@link Lane#acknowledge} exactly once for it
   * (from any thread), unless told first that its lock is lost.
   */
  void onAssignment(ConsumerRecord<String, byte[]> record, Lane lane);

  /**
   * The share group gave this record's lock away (a renewed record did not come back), or {@code lane}'s consumer
   * failed: stop working on it quietly and publish nothing for it. The same record may be held by another lane too
   * (a share partition's new leader delivers again what the old one handed out): only {@code lane}'s delivery is
   * lost.
   */
  void onLockLost(ConsumerRecord<String, byte[]> record, Lane lane);

  /**
   * A record delivered again whose attempt was answered already (its terminal record is in Kafka: the worker that
   * wrote it died before acknowledging): do not run it; the listener must acknowledge it (ACCEPT) like
   * {@link #onAssignment}. By default it is accepted at once.
   */
  default void onAnswered(ConsumerRecord<String, byte[]> record, Lane lane, Answered answered) {
    lane.acknowledge(record, org.apache.kafka.clients.consumer.AcknowledgeType.ACCEPT);
  }

  /** How many new records one poll acquired (only for polls that acquired some); for metrics. */
  default void onAcquired(int records) {}

  /** How many held records one renewal renewed; for metrics. */
  default void onRenewed(int records) {}
}
