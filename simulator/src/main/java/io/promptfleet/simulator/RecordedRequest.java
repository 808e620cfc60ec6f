package io.promptfleet.simulator;

import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One HTTP request as the simulator received it, kept so tests can assert what a client sent (for example
 * the form of the {@code Authorization} header, or that a secret appears nowhere else).
 *
 * <p>Immutable and thread-safe.
 *
 * @param method  HTTP method, e.g. {@code POST}
 * @param path    request path without the query string, e.g. {@code /v1/chat/completions}
 * @param query   the raw query string without {@code ?}, e.g. {@code api-version=2024-10-21}; empty when none
 * @param headers every header, names in lower case, values in arrival order
 * @param body    the body decoded as UTF-8 (empty when there was none)
 * @param time    when the request (with its body) had been received
 */
public record RecordedRequest(
    String method, String path, String query, Map<String, List<String>> headers, String body, Instant time) {

  public RecordedRequest {
    query = query == null ? "" : query;
    headers = Map.copyOf(headers);
  }

  /** A request without a query string. */
  public RecordedRequest(String method, String path, Map<String, List<String>> headers, String body, Instant time) {
    this(method, path, "", headers, body, time);
  }

  /** The first value of a header, looked up case-insensitively. */
  public Optional<String> header(String name) {
    List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
    return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.get(0));
  }
}
