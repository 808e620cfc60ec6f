package io.promptfleet.worker.stream;

/** How an attempt ended, from the share group's point of view. */
public enum Outcome {
  /** A terminal record (result or retry request) is safely in Kafka: acknowledge the assignment as done. */
  DONE,
  /** Nothing terminal could be written (e.g. Kafka unreachable): give the assignment back for another worker. */
  HAND_BACK
}
