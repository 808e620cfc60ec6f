package io.promptfleet.dispatcher.batch;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.upstream.SecretRedaction;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The HTTP calls of one provider's batch API with one key: requests under the provider's base URL with the key's
 * headers, JSON and JSON-lines answers, and failures that name the call and the provider's answer with the secret
 * and every long header value redacted. Blocking; thread-safe.
 */
final class BatchHttp {
  private static final Duration TIMEOUT = Duration.ofSeconds(120);

  private final HttpClient http;
  private final String baseUrl;
  private final String secret;
  private final Map<String, String> headers;
  /** The provider's extra header values, redacted from every failure with the secret. */
  private final List<String> providerHeaderValues;

  /**
   * @param baseUrl         the provider's base URL, e.g. {@code https://api.openai.com/v1}
   * @param secret          the key's secret, redacted from every failure
   * @param keyHeaders      the protocol's headers that carry the key (and its version header)
   * @param providerHeaders the provider's extra headers, values resolved; redacted from every failure too
   */
  BatchHttp(HttpClient http, String baseUrl, String secret, Map<String, String> keyHeaders,
      Map<String, String> providerHeaders) {
    this.http = http;
    this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
    this.secret = secret;
    Map<String, String> all = new java.util.LinkedHashMap<>(providerHeaders);
    all.putAll(keyHeaders);
    this.headers = Map.copyOf(all);
    this.providerHeaderValues = List.copyOf(providerHeaders.values());
  }

  /** The provider's base URL, without a trailing slash. */
  String baseUrl() {
    return baseUrl;
  }

  /** A request to {@code baseUrl + path} with the headers. */
  HttpRequest.Builder request(String path) {
    return absolute(baseUrl + path);
  }

  /** A request to {@code url} with the headers: only for a URL under the base URL (the key goes with it). */
  HttpRequest.Builder absolute(String url) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(TIMEOUT);
    headers.forEach(b::header);
    return b;
  }

  /** The answer of a call that must be 200 with a JSON body. */
  JsonNode json(HttpRequest.Builder request, String what) throws BatchCallException {
    HttpResponse<byte[]> r = send(request, what);
    if (r.statusCode() != 200) {
      throw failure(what, r);
    }
    try {
      return Json.mapper().readTree(r.body());
    } catch (IOException e) {
      throw new BatchCallException("could not " + what + ": the answer is not JSON", false);
    }
  }

  /** The lines of a call that must be 200 with a JSON-lines body, each parsed. */
  List<JsonNode> lines(HttpRequest.Builder request, String what) throws BatchCallException {
    HttpResponse<byte[]> r = send(request, what);
    if (r.statusCode() != 200) {
      throw failure(what, r);
    }
    List<JsonNode> out = new ArrayList<>();
    String text = new String(r.body(), StandardCharsets.UTF_8);
    int from = 0;
    while (from < text.length()) {
      int nl = text.indexOf('\n', from);
      int end = nl < 0 ? text.length() : nl;
      String line = text.substring(from, end).strip();
      if (!line.isEmpty()) {
        try {
          out.add(Json.mapper().readTree(line));
        } catch (IOException e) {
          throw new BatchCallException("could not " + what + ": a line is not JSON: " + abbreviate(redact(line)),
              false);
        }
      }
      from = end + 1;
    }
    return out;
  }

  HttpResponse<byte[]> send(HttpRequest.Builder request, String what) throws BatchCallException {
    try {
      return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new BatchCallException("could not " + what + ": " + redact(e.toString()), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BatchCallException("interrupted while trying to " + what, e);
    }
  }

  BatchCallException failure(String what, HttpResponse<byte[]> r) {
    return new BatchCallException("could not " + what + ": HTTP " + r.statusCode() + ": "
        + abbreviate(redact(new String(r.body(), StandardCharsets.UTF_8))),
        BatchCallException.retriable(r.statusCode()));
  }

  private String redact(String text) {
    return SecretRedaction.redact(text, secret, providerHeaderValues);
  }

  private static String abbreviate(String s) {
    return s.length() <= 500 ? s : s.substring(0, 500) + "...";
  }
}
