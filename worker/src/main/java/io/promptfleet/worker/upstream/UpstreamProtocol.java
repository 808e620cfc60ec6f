package io.promptfleet.worker.upstream;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.upstream.EmbeddingsAnswer;
import io.promptfleet.common.upstream.UnsupportedJobException;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;

/**
 * How a worker speaks one provider protocol ({@link io.promptfleet.common.config.ProviderProtocol}): the request
 * one attempt sends, and how the answer is read back into {@link ChunkEvent}s in the fleet's one contract (OpenAI
 * chat format in, chunks and one result out). Implementations are pure (no I/O, no clock) and thread-safe; {@link
 * Protocols} holds one of each.
 */
public interface UpstreamProtocol {

  /**
   * The request line and headers of one attempt: the provider's URL for the job, the key's credentials in the
   * protocol's header, the provider's extra headers, content type, accept ({@code text/event-stream} for a streaming
   * route) and {@code x-client-request-id: <job_id>/<attempt>}.
   */
  RequestOptions options(ProviderEndpoint endpoint, Assignment assignment);

  /**
   * The JSON body for the job, translated to the protocol.
   *
   * @throws UnsupportedJobException when the job asks for something the protocol cannot express (the attempt
   *                                 then fails permanently with a message naming the field)
   */
  ObjectNode body(Assignment assignment);

  /** A fresh decoder for one attempt's event stream. */
  StreamDecoder streamDecoder();

  /**
   * A whole answer of a route that does not stream, as one event (the complete message, usage and finish reason).
   *
   * @throws IOException when the body is not the protocol's answer object
   */
  ChunkEvent plainAnswer(String body) throws IOException;

  /**
   * A whole answer that reports an error instead ({@link ChunkEvent#hasError()} of {@link #plainAnswer}), classified;
   * by default as an error inside an OpenAI stream.
   */
  default Failure answerFailure(String body) {
    return Failures.ofStreamError(body);
  }

  /**
   * The request line and headers of an embeddings attempt ({@code job.isEmbeddings()}): like {@link #options} but
   * for the protocol's embeddings URL, and accepting JSON (an embeddings answer is never streamed).
   *
   * @throws UnsupportedJobException when the protocol serves no embeddings (the default)
   */
  default RequestOptions embeddingsOptions(ProviderEndpoint endpoint, Assignment assignment) {
    throw new UnsupportedJobException("provider protocol " + endpoint.provider().protocol().wireName()
        + " serves no embeddings (endpoint /v1/embeddings)");
  }

  /**
   * The JSON body of an embeddings attempt: the route's model, the job's {@code input} and every field it passed
   * through ({@code dimensions}, {@code encoding_format}, {@code user}, ...).
   *
   * @throws UnsupportedJobException when the protocol serves no embeddings (the default)
   */
  default ObjectNode embeddingsBody(Assignment assignment) {
    throw new UnsupportedJobException("this provider protocol serves no embeddings (endpoint /v1/embeddings)");
  }

  /**
   * An embeddings answer body.
   *
   * @throws IOException when the body is not the protocol's embeddings answer
   */
  default EmbeddingsAnswer embeddingsAnswer(String body) throws IOException {
    return EmbeddingsAnswer.parse(body);
  }

  /** A non-2xx response, classified; {@code body} is the (possibly truncated, possibly non-JSON) error body. */
  default Failure httpFailure(int status, String body) {
    return Failures.ofHttp(status, body);
  }
}
