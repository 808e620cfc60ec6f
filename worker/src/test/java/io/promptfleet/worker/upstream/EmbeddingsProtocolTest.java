package io.promptfleet.worker.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.JobParser;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.ProviderProtocol;
import io.promptfleet.common.config.ProviderSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Route;
import io.promptfleet.common.job.Usage;
import io.promptfleet.common.upstream.EmbeddingsAnswer;
import io.promptfleet.common.upstream.UnsupportedJobException;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** An embeddings job in OpenAI's protocol: the request, and the answer as OpenAI documents it. */
class EmbeddingsProtocolTest {
  /**
   * The example answer of OpenAI's API reference, "Create embeddings"
   * (https://platform.openai.com/docs/api-reference/embeddings/create), its vector shortened to three floats.
   */
  static final String DOCUMENTED_ANSWER = """
      {
        "object": "list",
        "data": [
          {
            "object": "embedding",
            "embedding": [0.0023064255, -0.009327292, -0.0028842222],
            "index": 0
          }
        ],
        "model": "text-embedding-ada-002",
        "usage": {
          "prompt_tokens": 8,
          "total_tokens": 8
        }
      }""";
  private static final Route ROUTE = new Route("openai/emb", "openai", "text-embedding-3-small", null, null);
  private static final ProviderEndpoint ENDPOINT = new ProviderEndpoint(new ProviderSettings(
      "https://api.example/v1/", 1_234L, null, null, null), "sk-test", Map.of("X-Gateway", "gw-1"), null);

  private static Assignment assignment(String extra) {
    Job job = ((JobParser.Accepted) new JobParser(1 << 20).parse(("{\"job_id\":\"e-1\",\"model\":\"emb\","
        + "\"endpoint\":\"/v1/embeddings\"" + extra + "}").getBytes(StandardCharsets.UTF_8))).job();
    return new Assignment("lease-1", job, 2, Priority.NORMAL, ROUTE, "k1", Instant.EPOCH, Instant.EPOCH, null,
        "llm.replies");
  }

  @Test
  void shouldPostTheInputAndEveryPassedThroughFieldWithTheRoutesModelToTheEmbeddingsUrl() {
    Assignment a = assignment(",\"input\":[\"a\",\"b\"],\"dimensions\":256,\"encoding_format\":\"base64\","
        + "\"user\":\"u-1\",\"some_extension\":{\"x\":1}");

    ObjectNode body = Protocols.of(ProviderProtocol.OPENAI).embeddingsBody(a);
    RequestOptions options = Protocols.of(ProviderProtocol.OPENAI).embeddingsOptions(ENDPOINT, a);

    assertThat(body).isEqualTo(json("{\"model\":\"text-embedding-3-small\",\"input\":[\"a\",\"b\"],\"dimensions\":256,"
        + "\"encoding_format\":\"base64\",\"user\":\"u-1\",\"some_extension\":{\"x\":1}}"));
    assertThat(options.getMethod()).isEqualTo(HttpMethod.POST);
    assertThat(options.getURI()).isEqualTo("/v1/embeddings");
    assertThat(options.getHost()).isEqualTo("api.example");
    assertThat(options.getHeaders().getAll("accept")).containsExactly("application/json");
    assertThat(options.getHeaders().get("authorization")).isEqualTo("Bearer sk-test");
    assertThat(options.getHeaders().get("x-client-request-id")).isEqualTo("e-1/2");
    assertThat(options.getHeaders().get("X-Gateway")).isEqualTo("gw-1");
  }

  @Test
  void shouldReadTheDocumentedAnswerKeepingEachVectorAsSent() throws Exception {
    EmbeddingsAnswer a = EmbeddingsAnswer.parse(DOCUMENTED_ANSWER);

    assertThat(a.model()).isEqualTo("text-embedding-ada-002");
    assertThat(a.usage()).isEqualTo(new Usage(8, 0, 8));
    assertThat(a.data()).singleElement().satisfies(e -> {
      assertThat(e.index()).isZero();
      // the provider's own text, written back verbatim: the floats are never converted to doubles and back
      assertThat(Json.string(e)).isEqualTo("{\"index\":0,\"embedding\":[0.0023064255, -0.009327292, -0.0028842222]}");
      assertThat(json(Json.string(e)).get("embedding")).isEqualTo(json("[0.0023064255,-0.009327292,-0.0028842222]"));
    });
    EmbeddingsAnswer b64 = EmbeddingsAnswer.parse("{\"object\":\"list\",\"data\":[{\"object\":\"embedding\","
        + "\"index\":0,\"embedding\":\"AACAPwAAAEA=\"}],\"model\":\"m\",\"usage\":{\"prompt_tokens\":1,"
        + "\"total_tokens\":1}}");
    assertThat(b64.data().get(0).embedding().textValue()).isEqualTo("AACAPwAAAEA=");
    assertThat(Json.string(b64.data().get(0))).isEqualTo("{\"index\":0,\"embedding\":\"AACAPwAAAEA=\"}");
  }

  @Test
  void shouldRefuseABodyThatIsNoEmbeddingsList() {
    assertThatThrownBy(() -> EmbeddingsAnswer.parse("{\"object\":\"list\"}")).hasMessage("no data array");
    assertThatThrownBy(() -> EmbeddingsAnswer.parse("{\"data\":[{\"index\":0}]}"))
        .hasMessageContaining("data[0] has no embedding");
    assertThatThrownBy(() -> EmbeddingsAnswer.parse("{\"data\":[{\"embedding\":[1]}]}"))
        .hasMessage("data[0] has no integer index");
    assertThatThrownBy(() -> EmbeddingsAnswer.parse("{\"data\":[{\"index\":0,\"embedding\":[1, }]}"))
        .as("a vector that is not valid JSON").isInstanceOf(java.io.IOException.class);
    assertThatThrownBy(() -> EmbeddingsAnswer.parse("{\"data\":[{\"index\":0,\"embedding\":[1]}]"))
        .as("a body cut short").isInstanceOf(java.io.IOException.class);
    assertThat(EmbeddingsAnswer.isError("{\"error\":{\"message\":\"bad\",\"type\":\"server_error\"}}")).isTrue();
    assertThat(EmbeddingsAnswer.isError(DOCUMENTED_ANSWER)).isFalse();
  }

  @Test
  void shouldCountOneVectorPerInputString() {
    assertThat(EmbeddingsAnswer.expectedVectors(json("\"x\""))).isEqualTo(1);
    assertThat(EmbeddingsAnswer.expectedVectors(json("[\"a\",\"b\",\"c\"]"))).isEqualTo(3);
    assertThat(EmbeddingsAnswer.expectedVectors(json("[1, 2, 3]"))).as("one token-id input").isEqualTo(1);
    assertThat(EmbeddingsAnswer.expectedVectors(json("[[1], [2, 3]]"))).isEqualTo(2);
  }

  @Test
  void shouldNameTheProtocolThatServesNoEmbeddings() {
    UpstreamProtocol chatOnly = new UpstreamProtocol() {
      @Override
      public RequestOptions options(ProviderEndpoint endpoint, Assignment assignment) {
        return new RequestOptions();
      }

      @Override
      public ObjectNode body(Assignment assignment) {
        return Json.mapper().createObjectNode();
      }

      @Override
      public StreamDecoder streamDecoder() {
        return null;
      }

      @Override
      public ChunkEvent plainAnswer(String body) {
        return null;
      }
    };
    ProviderEndpoint anthropic = new ProviderEndpoint(ENDPOINT.provider().withProtocol(ProviderProtocol.ANTHROPIC),
        "sk", Map.of(), null);

    assertThatThrownBy(() -> chatOnly.embeddingsOptions(anthropic, assignment(",\"input\":\"x\"")))
        .isInstanceOf(UnsupportedJobException.class)
        .hasMessage("provider protocol anthropic serves no embeddings (endpoint /v1/embeddings)");
    assertThatThrownBy(() -> chatOnly.embeddingsBody(assignment(",\"input\":\"x\"")))
        .isInstanceOf(UnsupportedJobException.class);
  }

  private static JsonNode json(String s) {
    try {
      return Json.mapper().readTree(s);
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
  }
}
