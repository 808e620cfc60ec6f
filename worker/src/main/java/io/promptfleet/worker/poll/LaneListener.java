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
   * The share group gave this record's lock away (a renewed record did not come back): stop working on it quietly,
   * publish nothing for it and do not acknowledge it.
   */
  void onLockLost(ConsumerRecord<String, byte[]> record);

  /** How many new records one poll acquired (only for polls that acquired some); for metrics. */
  default void onAcquired(int records) {}

  /** How many held records one renewal renewed; for metrics. */
  default void onRenewed(int records) {}
}
