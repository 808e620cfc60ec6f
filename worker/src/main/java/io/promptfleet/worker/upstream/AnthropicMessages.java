package io.promptfleet.worker.upstream;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.upstream.AnthropicBodies;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;

/**
 * The native Anthropic Messages protocol ({@code POST {base_url}/messages}, the key in {@code x-api-key}, {@code
 * anthropic-version} from the provider's {@code api_version}): the job is translated by {@link AnthropicBodies},
 * the event stream and a whole message read by {@link AnthropicStream}. Anthropic's error bodies ({@code {"type":
 * "error", "error": {"type": "overloaded_error", ...}}}) have the shape {@link Failures} reads; its 529 is a 5xx and
 * so transient. Its {@code anthropic-ratelimit-*} headers are read by {@link RateLimitHeaders}. Stateless and
 * thread-safe.
 */
final class AnthropicMessages implements UpstreamProtocol {
  @Override
  public RequestOptions options(ProviderEndpoint endpoint, Assignment assignment) {
    String version = endpoint.provider().apiVersion();
    return OpenAiChat.request(endpoint, assignment, endpoint.url("/messages"))
        .putHeader("x-api-key", endpoint.secret())
        .putHeader("anthropic-version", version == null ? AnthropicBodies.DEFAULT_VERSION : version);
  }

  @Override
  public ObjectNode body(Assignment assignment) {
    return AnthropicBodies.messages(assignment, assignment.route().streams());
  }

  @Override
  public StreamDecoder streamDecoder() {
    return new AnthropicStream();
  }

  @Override
  public ChunkEvent plainAnswer(String body) throws IOException {
    return AnthropicStream.message(body);
  }
}
