package io.promptfleet.worker.upstream;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.job.Assignment;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;

/**
 * The OpenAI Responses API ({@code POST {base_url}/responses}, Bearer key), for models served only there: the job
 * is translated by {@link ResponsesRequestTranslator}, its semantic event stream read by {@link
 * ResponsesEventDecoder}, a plain answer (a {@code Response} object) by {@link ResponseObjects}; a failed {@code
 * Response} is classified by {@link Failures#ofResponseError} like a stream's {@code response.failed}. Error bodies
 * have OpenAI's shape, so HTTP failures are classified as for chat completions. Stateless and thread-safe.
 */
final class OpenAiResponses implements UpstreamProtocol {

  @Override
  public RequestOptions options(ProviderEndpoint endpoint, Assignment assignment) {
    return OpenAiChat.request(endpoint, assignment, endpoint.url("/responses"))
        .putHeader("authorization", endpoint.bearer());
  }

  @Override
  public ObjectNode body(Assignment assignment) {
    return ResponsesRequestTranslator.body(assignment);
  }

  @Override
  public StreamDecoder streamDecoder() {
    return new ResponsesEventDecoder();
  }

  @Override
  public ChunkEvent plainAnswer(String body) throws IOException {
    return ResponseObjects.plain(body);
  }

  /** A {@code Response} with {@code status: failed} (or an error body), classified as the stream's failure events. */
  @Override
  public Failure answerFailure(String body) {
    return ResponseObjects.failure(body);
  }
}
