package io.promptfleet.common.job;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import org.jspecify.annotations.Nullable;

/**
 * Whether a job may wait for a provider's batch API (about half the live price, answers within the provider's
 * window) instead of running live: the job's {@code "batch"} field. On the wire as {@code "allow"} or {@code
 * "never"}; absent means {@link #NEVER}.
 *
 * <p>A job that allows it is eligible on a route with a {@code batch} block when its deadline leaves that route's
 * {@code min_slack_ms}; the fleet still runs it live when batching cannot meet its deadline.
 */
public enum BatchPolicy {
  /** Always live (the default). */
  NEVER("never"),
  /** May wait for a provider batch when the deadline leaves enough slack. */
  ALLOW("allow");

  private final String wire;

  BatchPolicy(String wire) {
    this.wire = wire;
  }

  /** The value in a job, {@code allow} or {@code never}. */
  @JsonValue
  public String wireName() {
    return wire;
  }

  /** The policy named {@code name} exactly, or null when it names none. */
  public static @Nullable BatchPolicy ofWire(@Nullable String name) {
    for (BatchPolicy p : values()) {
      if (p.wire.equals(name)) {
        return p;
      }
    }
    return null;
  }

  /** Reads the wire form; an unknown value is an error (a record written by this fleet never has one). */
  @JsonCreator
  static BatchPolicy fromJson(String name) {
    BatchPolicy p = ofWire(name);
    if (p == null) {
      throw new IllegalArgumentException("unknown batch policy " + name + ": allow or never");
    }
    return p;
  }
}
