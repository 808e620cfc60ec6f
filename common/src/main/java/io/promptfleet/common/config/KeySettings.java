package io.promptfleet.common.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * An API key of a provider and its limits. The secret itself is never in the file: it comes from the environment
 * variable {@code secret_env} (or a Java system property of that name) or from the file {@code secret_file}.
 *
 * @param provider          the provider this key belongs to
 * @param secretEnv         environment variable holding the secret
 * @param secretFile        file holding the secret (trailing whitespace trimmed)
 * @param maxConcurrency    concurrent streams at most (default 8)
 * @param requestsPerMinute requests per minute at most (default 600)
 * @param tokensPerMinute   tokens per minute at most (default 1,000,000)
 * @param tenant            if set, only jobs of this tenant use this key
 */
public record KeySettings(String provider, String secretEnv, String secretFile, Integer maxConcurrency,
    Integer requestsPerMinute, Long tokensPerMinute, String tenant) {
  public KeySettings {
    maxConcurrency = maxConcurrency == null ? 8 : maxConcurrency;
    requestsPerMinute = requestsPerMinute == null ? 600 : requestsPerMinute;
    tokensPerMinute = tokensPerMinute == null ? 1_000_000L : tokensPerMinute;
  }

  void validate(String name, FleetConfig config) {
    String at = "keys." + name;
    ConfigException.require(provider != null && config.providers().containsKey(provider),
        at + ".provider must name a configured provider (got " + provider + ")");
    ConfigException.require(secretEnv != null || secretFile != null,
        at + " needs secret_env or secret_file (secrets never live in the config file)");
    ConfigException.require(maxConcurrency > 0, at + ".max_concurrency must be > 0");
    ConfigException.require(requestsPerMinute > 0, at + ".requests_per_minute must be > 0");
    ConfigException.require(tokensPerMinute > 0, at + ".tokens_per_minute must be > 0");
  }

  /**
   * Reads the secret now. Empty when none is set; the caller decides whether that is fatal. The value must never be
   * logged or written to Kafka.
   */
  public Optional<String> resolveSecret() {
    if (secretEnv != null) {
      String v = EnvValues.lookup(System.getenv(), secretEnv).orElse(null);
      if (v != null && !v.isBlank()) {
        return Optional.of(v.trim());
      }
    }
    if (secretFile != null) {
      try {
        String v = Files.readString(Path.of(secretFile), StandardCharsets.UTF_8).trim();
        return v.isEmpty() ? Optional.empty() : Optional.of(v);
      } catch (IOException e) {
        return Optional.empty();
      }
    }
    return Optional.empty();
  }

  /** Where the secret is expected, for error messages (names the variable or file, never the value). */
  public String secretSource() {
    return secretEnv != null ? "environment variable " + secretEnv : "file " + secretFile;
  }
}
