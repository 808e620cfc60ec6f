package io.promptfleet.common.job;

/** The priority of a job, given by the topic it was produced to. Kafka has no priority field of its own. */
public enum Priority {
  HIGH, NORMAL, LOW;

  @com.fasterxml.jackson.annotation.JsonValue
  public String wireName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
