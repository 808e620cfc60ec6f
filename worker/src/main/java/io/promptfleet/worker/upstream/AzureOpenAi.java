package io.promptfleet.worker.upstream;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.config.ProviderSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.upstream.OpenAiBodies;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/**
 * Azure OpenAI chat completions: OpenAI's request body and event stream (Azure adds {@code prompt_filter_results}
 * and {@code content_filter_results} annotations, which {@link ChunkEvent} skips, and a first chunk without choices),
 * the key in the {@code api-key} header, and Azure's URLs:
 * <ul>
 *   <li>deployment style, base URL {@code https://RESOURCE.openai.azure.com}: {@code POST
 *       {base_url}/openai/deployments/{deployment}/chat/completions?api-version={api_version}}, the route's
 *       {@code model} naming the deployment ({@code api_version} is required; configuration validation says so);</li>
 *   <li>v1 style, base URL ending in {@code /openai/v1}: {@code POST {base_url}/chat/completions}, the route's model
 *       in the body as with OpenAI, {@code ?api-version=} only when configured.</li>
 * </ul>
 * The body keeps {@code model} in the deployment style too: Azure ignores it there and it names the deployment in
 * the provider's logs. Azure's {@code x-ratelimit-remaining-requests/-tokens} headers have OpenAI's names, so they
 * reach the dispatcher's key budgets unchanged. Stateless and thread-safe.
 */
final class AzureOpenAi implements UpstreamProtocol {
  private final OpenAiChat openAi = new OpenAiChat();

  @Override
  public RequestOptions options(ProviderEndpoint endpoint, Assignment assignment) {
    return OpenAiChat.request(endpoint, assignment, url(endpoint, assignment.route().model(), "/chat/completions"))
        .putHeader("api-key", endpoint.secret());
  }

  /**
   * An embeddings attempt: {@code /openai/deployments/{deployment}/embeddings?api-version=…} (or {@code
   * {base_url}/embeddings} in the v1 style), the {@code api-key} header, JSON back.
   */
  @Override
  public RequestOptions embeddingsOptions(ProviderEndpoint endpoint, Assignment assignment) {
    return OpenAiChat.request(endpoint, assignment, url(endpoint, assignment.route().model(), "/embeddings"))
        .putHeader("api-key", endpoint.secret())
        .putHeader("accept", "application/json");
  }

  /** OpenAI's embeddings body, with the route's model as the chat body has it (a deployment URL ignores it). */
  @Override
  public ObjectNode embeddingsBody(Assignment assignment) {
    return OpenAiBodies.embeddings(assignment, true);
  }

  /**
   * The URL of {@code operation} ({@code /chat/completions}, {@code /embeddings}) for {@code deployment} (the
   * route's model) on the provider.
   */
  static String url(ProviderEndpoint endpoint, String deployment, String operation) {
    ProviderSettings p = endpoint.provider();
    String version = p.apiVersion() == null ? "" : "?api-version=" + encode(p.apiVersion());
    if (p.isAzureV1()) {
      return endpoint.url(operation) + version;
    }
    return endpoint.url("/openai/deployments/" + encode(deployment).replace("+", "%20") + operation) + version;
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  @Override
  public ObjectNode body(Assignment assignment) {
    return openAi.body(assignment);
  }

  @Override
  public StreamDecoder streamDecoder() {
    return openAi.streamDecoder();
  }

  @Override
  public ChunkEvent plainAnswer(String body) throws IOException {
    return openAi.plainAnswer(body);
  }
}
