package io.promptfleet.common.config;

import java.util.Map;
import java.util.Optional;

/**
 * One extra request header a provider gets: a literal {@code value}, or the value of an environment variable (or
 * Java system property) {@code value_env}. Header values may be secrets (a gateway's key): they never travel in
 * Kafka records and never appear in logs; {@link #toString()} hides them.
 *
 * @param value    the literal value
 * @param valueEnv the environment variable holding the value
 */
public record HeaderSettings(String value, String valueEnv) {

  void validate(String at) {
    ConfigException.require((value == null) != (valueEnv == null),
        at + " needs exactly one of value and value_env");
    ConfigException.require(valueEnv == null || !valueEnv.isBlank(), at + ".value_env must not be empty");
  }

  /** The value: literal, or from the environment (then the system properties); empty when the variable is unset. */
  public Optional<String> resolve(Map<String, String> env) {
    if (value != null) {
      return Optional.of(value);
    }
    String v = env.get(valueEnv);
    if (v == null) {
      v = System.getProperty(valueEnv);
    }
    return Optional.ofNullable(v);
  }

  /** Where the value comes from, for messages: never the value itself. */
  public String source() {
    return value != null ? "a literal value" : "environment variable " + valueEnv;
  }

  @Override
  public String toString() {
    return "HeaderSettings[" + (value != null ? "value=***" : "value_env=" + valueEnv) + "]";
  }
}
