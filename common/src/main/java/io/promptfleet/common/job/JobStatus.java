package io.promptfleet.common.job;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** The terminal status of a job: every accepted job gets exactly one result with one of these. */
public enum JobStatus {
  SUCCEEDED, FAILED, REJECTED, EXPIRED, CANCELLED;

  @JsonValue
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
