package io.promptfleet.common.config;

import java.util.Map;

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

  /**
   * The value: literal, or from the environment (then the system properties).
   *
   * @param at where the header is configured, e.g. {@code providers.azure.headers.x-gateway-key}
   * @throws ConfigException naming {@code at} and the variable (never a value) when the variable is not set: a
   *                         header left out would make every request fail upstream, usually as a 401 that disables
   *                         a good key
   */
  public String resolve(String at, Map<String, String> env) {
    if (value != null) {
      return value;
    }
    return EnvValues.require(env, valueEnv, at + ".value_env");
  }

  @Override
  public String toString() {
    return "HeaderSettings[" + (value != null ? "value=***" : "value_env=" + valueEnv) + "]";
  }
}
