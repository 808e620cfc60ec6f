package io.promptfleet.common.job;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The OpenAI API endpoint a job is written for: chat completions (the default; streamed as chunks) or embeddings
 * (one result carrying the vectors, no chunks). On the wire as OpenAI's path, e.g. {@code "/v1/embeddings"}.
 */
public enum Endpoint {
  CHAT_COMPLETIONS("/v1/chat/completions"),
  EMBEDDINGS("/v1/embeddings");

  private final String path;

  Endpoint(String path) {
    this.path = path;
  }

  /** The path as a job (or a batch input line) names it. */
  @JsonValue
  public String path() {
    return path;
  }

  /** The endpoint of {@code path}, or null when the fleet serves no such endpoint. */
  public static @Nullable Endpoint ofPath(@Nullable String path) {
    for (Endpoint e : values()) {
      if (e.path.equals(path)) {
        return e;
      }
    }
    return null;
  }

  /** Reads the wire form; an unknown path is an error (a record written by this fleet never has one). */
  @JsonCreator
  static Endpoint fromJson(String path) {
    Endpoint e = ofPath(path);
    if (e == null) {
      throw new IllegalArgumentException("unknown endpoint " + path + "; known: " + paths());
    }
    return e;
  }

  /** Every path the fleet serves, for messages. */
  public static List<String> paths() {
    return Arrays.stream(values()).map(Endpoint::path).toList();
  }
}
