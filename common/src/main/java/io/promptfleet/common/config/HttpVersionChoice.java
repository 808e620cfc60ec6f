package io.promptfleet.common.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** Which HTTP version a worker speaks to a provider ({@code providers.NAME.connections.http_version}). */
public enum HttpVersionChoice {
  /**
   * HTTP/2 where the server offers it: over TLS the worker offers h2 and http/1.1 by ALPN and speaks what the server
   * picks; a plain {@code http://} provider is spoken to in HTTP/1.1 (the default).
   */
  AUTO("auto"),
  /** HTTP/1.1 keep-alive connections only. */
  HTTP1("http1"),
  /** HTTP/2 over plain TCP with prior knowledge (h2c), for {@code http://} servers known to speak it. */
  H2C("h2c");

  private final String wire;

  HttpVersionChoice(String wire) {
    this.wire = wire;
  }

  @JsonValue
  public String wireName() {
    return wire;
  }

  /** @throws ConfigException naming the accepted values when {@code name} is none of them */
  @JsonCreator
  public static HttpVersionChoice of(String name) {
    String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
    for (HttpVersionChoice v : values()) {
      if (v.wire.equals(n)) {
        return v;
      }
    }
    throw new ConfigException("unknown http_version '" + name + "': use one of " + Arrays.stream(values())
        .map(HttpVersionChoice::wireName).collect(Collectors.joining(", ")));
  }
}
