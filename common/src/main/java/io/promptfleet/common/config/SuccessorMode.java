package io.promptfleet.common.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Whether the dispatcher writes successor assignments ({@code dispatcher.successors}, issue 13). Read from
 * {@code auto}, {@code true} or {@code false}, as a YAML boolean or as text (an environment override).
 */
public enum SuccessorMode {
  /**
   * Only while every live worker's heartbeat reports the current successor rules
   * ({@code io.promptfleet.common.job.SuccessorProtocol#CURRENT}) and at least one worker is known (the default).
   */
  AUTO("auto"),
  /** Always: the operator vouches that every worker knows the current successor rules. */
  ON("true"),
  /** Never. */
  OFF("false");

  private final String wire;

  SuccessorMode(String wire) {
    this.wire = wire;
  }

  @JsonValue
  public String wireName() {
    return wire;
  }

  /**
   * From the configuration: a boolean, or {@code auto}, {@code true} or {@code false} as text.
   *
   * @throws ConfigException naming the accepted values when {@code value} is none of them
   */
  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public static SuccessorMode of(Object value) {
    if (value instanceof Boolean b) {
      return b ? ON : OFF;
    }
    String n = value == null ? "" : value.toString().trim().toLowerCase(Locale.ROOT);
    for (SuccessorMode m : values()) {
      if (m.wire.equals(n)) {
        return m;
      }
    }
    throw new ConfigException("unknown dispatcher.successors '" + value + "': use one of " + Arrays.stream(values())
        .map(SuccessorMode::wireName).collect(Collectors.joining(", ")));
  }
}
