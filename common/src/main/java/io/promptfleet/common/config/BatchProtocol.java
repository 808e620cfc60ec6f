package io.promptfleet.common.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Which provider batch API a route's {@code batch} block uses, with that API's documented limits and the slack a
 * job's deadline must leave by default.
 */
public enum BatchProtocol {
  /**
   * OpenAI's Files and Batches APIs ({@code /v1/files}, {@code /v1/batches}): up to 50,000 requests or 200 MB per
   * input file, a {@code 24h} completion window.
   */
  OPENAI("openai", 50_000, 200L * 1024 * 1024, 24L * 60 * 60 * 1000),
  /**
   * Anthropic's Message Batches ({@code /v1/messages/batches}): up to 100,000 requests or 256 MB per batch, most done
   * within an hour, ended within 24 h.
   */
  ANTHROPIC("anthropic", 100_000, 256L * 1024 * 1024, 60L * 60 * 1000);

  private final String wire;
  private final int maxRequests;
  private final long maxBytes;
  private final long defaultMinSlackMs;

  BatchProtocol(String wire, int maxRequests, long maxBytes, long defaultMinSlackMs) {
    this.wire = wire;
    this.maxRequests = maxRequests;
    this.maxBytes = maxBytes;
    this.defaultMinSlackMs = defaultMinSlackMs;
  }

  /** The name in the configuration: {@code openai} or {@code anthropic}. */
  @JsonValue
  public String wireName() {
    return wire;
  }

  /** The provider's limit of requests in one batch. */
  public int maxRequests() {
    return maxRequests;
  }

  /** The provider's limit of one batch's input, in bytes. */
  public long maxBytes() {
    return maxBytes;
  }

  /** The slack a job's deadline must leave by default: the window the provider promises (OpenAI) or aims at. */
  public long defaultMinSlackMs() {
    return defaultMinSlackMs;
  }

  /** Whether a provider speaking {@code protocol} live serves this batch API. */
  public boolean servedBy(ProviderProtocol protocol) {
    return switch (this) {
      case OPENAI -> protocol == ProviderProtocol.OPENAI || protocol == ProviderProtocol.OPENAI_RESPONSES;
      case ANTHROPIC -> protocol == ProviderProtocol.ANTHROPIC;
    };
  }

  /** @throws ConfigException naming the accepted values when {@code name} is none of them */
  @JsonCreator
  public static BatchProtocol of(String name) {
    String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
    for (BatchProtocol p : values()) {
      if (p.wire.equals(n)) {
        return p;
      }
    }
    throw new ConfigException("unknown batch protocol '" + name + "': use one of " + Arrays.stream(values())
        .map(BatchProtocol::wireName).collect(Collectors.joining(", ")));
  }
}
