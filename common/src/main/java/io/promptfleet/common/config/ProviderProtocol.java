package io.promptfleet.common.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How a worker speaks to a provider. Jobs stay in one contract (OpenAI chat format in, chunks and one result out);
 * the protocol decides the request a worker sends upstream and how it reads the answer.
 */
public enum ProviderProtocol {
  /** OpenAI-compatible {@code POST {base_url}/chat/completions} with a Bearer key (the default). */
  OPENAI("openai"),
  /** Azure OpenAI: deployment URLs with {@code api-version}, or the v1 style, and the {@code api-key} header. */
  AZURE_OPENAI("azure-openai"),
  /** Anthropic Messages: {@code POST {base_url}/messages}, {@code x-api-key} and {@code anthropic-version}. */
  ANTHROPIC("anthropic"),
  /** OpenAI Responses API: {@code POST {base_url}/responses} with a Bearer key. */
  OPENAI_RESPONSES("openai-responses");

  private final String wire;

  ProviderProtocol(String wire) {
    this.wire = wire;
  }

  /** The name in the configuration, e.g. {@code azure-openai}. */
  @JsonValue
  public String wireName() {
    return wire;
  }

  /** @throws ConfigException naming the accepted values when {@code name} is none of them */
  @JsonCreator
  public static ProviderProtocol of(String name) {
    String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
    for (ProviderProtocol p : values()) {
      if (p.wire.equals(n)) {
        return p;
      }
    }
    throw new ConfigException("unknown protocol '" + name + "': use one of " + Arrays.stream(values())
        .map(ProviderProtocol::wireName).collect(Collectors.joining(", ")));
  }
}
