package io.promptfleet.common.config;

import java.util.Map;
import java.util.Optional;

/**
 * Where a configured {@code *_env} name is looked up: the environment, then the Java system properties (so tests and
 * embedded fleets can set it). The one place that rule lives.
 */
final class EnvValues {
  private EnvValues() {}

  /** The value of {@code name} in {@code env}, else the system property {@code name}; empty when neither is set. */
  static Optional<String> lookup(Map<String, String> env, String name) {
    String v = env.get(name);
    return Optional.ofNullable(v != null ? v : System.getProperty(name));
  }

  /**
   * The value of {@code name}, required.
   *
   * @param field the configuration field that names the variable, e.g. {@code providers.p.proxy.username_env}
   * @throws ConfigException naming the field and the variable (never a value) when it is not set
   */
  static String require(Map<String, String> env, String name, String field) {
    return lookup(env, name).orElseThrow(() -> new ConfigException(field + " names environment variable " + name
        + ", which is not set (nor a system property of that name)"));
  }
}
