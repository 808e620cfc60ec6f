package io.promptfleet.worker.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.TextNode;
import io.promptfleet.common.config.ProviderProtocol;
import io.promptfleet.common.config.ProviderSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ChatMessage;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Route;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Azure OpenAI's URLs and key header as Azure documents them (learn.microsoft.com, "Azure OpenAI in Azure AI
 * Foundry Models REST API reference" and "API version lifecycle": deployment URLs with {@code ?api-version=}, the v1
 * API below {@code /openai/v1}, {@code api-key} header).
 */
class AzureOpenAiTest {
  private static final UpstreamProtocol AZURE = Protocols.of(ProviderProtocol.AZURE_OPENAI);

  @Test
  void shouldPostToTheDeploymentOfTheRoutesModelWithTheApiVersionAndTheKeyInApiKey() {
    RequestOptions o = AZURE.options(endpoint("https://myres.openai.azure.com/", "2024-10-21"),
        assignment("gpt-4o-prod"));

    assertThat(o.getMethod()).isEqualTo(HttpMethod.POST);
    assertThat(o.isSsl()).isTrue();
    assertThat(o.getHost()).isEqualTo("myres.openai.azure.com");
    assertThat(o.getURI()).isEqualTo("/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21");
    assertThat(o.getHeaders().get("api-key")).isEqualTo("azure-key-1");
    assertThat(o.getHeaders().contains("authorization")).as("Azure keys do not go in Authorization").isFalse();
    assertThat(o.getHeaders().get("x-gateway")).as("the provider's extra header").isEqualTo("gw");
    assertThat(o.getHeaders().get("accept")).isEqualTo("text/event-stream");
    assertThat(o.getHeaders().get("x-client-request-id")).isEqualTo("job-1/2");
  }

  @Test
  void shouldUseTheV1PathAndAddTheApiVersionOnlyWhenConfigured() {
    assertThat(AZURE.options(endpoint("https://myres.openai.azure.com/openai/v1/", null), assignment("gpt-4o"))
        .getURI()).isEqualTo("/openai/v1/chat/completions");
    assertThat(AZURE.options(endpoint("https://myres.openai.azure.com/openai/v1", "preview"), assignment("gpt-4o"))
        .getURI()).isEqualTo("/openai/v1/chat/completions?api-version=preview");
  }

  @Test
  void shouldPostEmbeddingsToTheDeploymentsEmbeddingsPathWithTheKeyInApiKey() {
    RequestOptions deployment = AZURE.embeddingsOptions(endpoint("https://myres.openai.azure.com", "2024-10-21"),
        assignment("embed-prod"));
    RequestOptions v1 = AZURE.embeddingsOptions(endpoint("https://myres.openai.azure.com/openai/v1", null),
        assignment("text-embedding-3-small"));

    assertThat(deployment.getURI()).isEqualTo("/openai/deployments/embed-prod/embeddings?api-version=2024-10-21");
    assertThat(deployment.getHeaders().get("api-key")).isEqualTo("azure-key-1");
    assertThat(deployment.getHeaders().contains("authorization")).isFalse();
    assertThat(deployment.getHeaders().get("accept")).isEqualTo("application/json");
    assertThat(v1.getURI()).isEqualTo("/openai/v1/embeddings");
  }

  @Test
  void shouldEncodeADeploymentNameThatIsNotAPathSegment() {
    assertThat(AZURE.options(endpoint("https://r.openai.azure.com", "2024-10-21"), assignment("my deploy/x"))
        .getURI()).isEqualTo("/openai/deployments/my%20deploy%2Fx/chat/completions?api-version=2024-10-21");
  }

  @Test
  void shouldSendOpenAisBodyWithTheRoutesModel() {
    var body = AZURE.body(assignment("gpt-4o-prod"));
    assertThat(body.get("model").asText()).isEqualTo("gpt-4o-prod");
    assertThat(body.get("stream").asBoolean()).isTrue();
    assertThat(body.path("stream_options").path("include_usage").asBoolean()).isTrue();
  }

  @Test
  void shouldSkipAzuresContentFilterAnnotationsAndItsFirstChunkWithoutChoices() throws Exception {
    // The first two events of an Azure stream (Azure OpenAI docs, "content filtering" streaming examples).
    var decoder = AZURE.streamDecoder();
    List<ChunkEvent> events = new java.util.ArrayList<>();
    List<Failure> failures = new java.util.ArrayList<>();
    StreamDecoder.Events out = new StreamDecoder.Events() {
      @Override
      public void event(ChunkEvent e) {
        events.add(e);
      }

      @Override
      public void failure(Failure f) {
        failures.add(f);
      }
    };
    decoder.decode(null, "{\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\","
        + "\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{\"hate\":{\"filtered\":false,"
        + "\"severity\":\"safe\"}}}]}", out);
    decoder.decode(null, "{\"choices\":[{\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":"
        + "\"safe\"}},\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null,\"index\":0}],\"created\":1,"
        + "\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o-2024-08-06\",\"object\":\"chat.completion.chunk\"}", out);
    decoder.decode(null, "[DONE]", out);

    assertThat(failures).isEmpty();
    assertThat(events).extracting(ChunkEvent::content).containsExactly(null, "Hi");
    assertThat(decoder.complete()).isTrue();
  }

  private static ProviderEndpoint endpoint(String baseUrl, String apiVersion) {
    return new ProviderEndpoint(new ProviderSettings(baseUrl, null, null, null, null,
        ProviderProtocol.AZURE_OPENAI, apiVersion, null, null, null), "azure-key-1", Map.of("x-gateway", "gw"),
        null);
  }

  private static Assignment assignment(String model) {
    Job job = new Job("job-1", "gpt", List.of(new ChatMessage("user", TextNode.valueOf("Hi"), null, null, null)),
        null, null, null, null, null, null, Map.of());
    return new Assignment("lease-1", job, 2, Priority.NORMAL, new Route("azure/gpt", "azure", model, null, null),
        "k1", Instant.EPOCH, Instant.EPOCH, null, "llm.replies");
  }
}
