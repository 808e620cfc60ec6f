package io.promptfleet.common.job;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * How an attempt ended, as its {@code lease_released} event tells the dispatcher. The dispatcher gives the lease's
 * concurrency back for every outcome but {@link #HANDED_BACK}, whose assignment the share group delivers again.
 */
public enum LeaseOutcome {
  /** A {@code succeeded} result was written. */
  SUCCEEDED,
  /** A {@code failed} result was written (the provider rejected the request, or the output was invalid twice). */
  FAILED,
  /** A retry request was written to the retry topic; the dispatcher runs the next attempt. */
  RETRY,
  /** A {@code cancelled} result was written. */
  CANCELLED,
  /** Nothing was written: the assignment goes back to the share group (drain, or Kafka unreachable). */
  HANDED_BACK;

  /** The name on the wire, e.g. {@code handed_back}. */
  @JsonValue
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The outcome of a wire name; {@code null} for null. */
  @JsonCreator
  public static @Nullable LeaseOutcome ofWireName(@Nullable String name) {
    return name == null ? null : valueOf(name.toUpperCase(Locale.ROOT));
  }
}
