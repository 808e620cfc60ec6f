package io.promptfleet.worker.upstream;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.upstream.OpenAiBodies;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;

/**
 * The OpenAI-compatible chat completions protocol ({@code POST {base_url}/chat/completions}, Bearer key, events of
 * {@code chat.completion.chunk} objects ending in {@code data: [DONE]}): what the fleet's job contract is written in,
 * so the job goes upstream as given; an embeddings job goes to {@code POST {base_url}/embeddings} and is answered in
 * one JSON object. Stateless and thread-safe.
 */
final class OpenAiChat implements UpstreamProtocol {

  @Override
  public RequestOptions options(ProviderEndpoint endpoint, Assignment assignment) {
    return request(endpoint, assignment, endpoint.url("/chat/completions"))
        .putHeader("authorization", endpoint.bearer());
  }

  /**
   * The POST to {@code url}: JSON in, an event stream (or JSON for a route that does not stream) out, the
   * provider's extra headers and {@code x-client-request-id: <job_id>/<attempt>}. Without credentials: each protocol
   * sends them in its own header. No connect timeout here: in Vert.x 5 a request's connect timeout also bounds its
   * wait for a free pooled connection, and a stream waiting at the pool's cap is not connecting; the client's own
   * connect and TLS handshake timeouts bound the connect ({@link ProviderClients}).
   */
  static RequestOptions request(ProviderEndpoint endpoint, Assignment assignment, String url) {
    RequestOptions o = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setAbsoluteURI(url)
        .putHeader("content-type", "application/json")
        .putHeader("accept", assignment.route().streams() ? "text/event-stream" : "application/json")
        .putHeader("x-client-request-id", assignment.job().jobId() + "/" + assignment.attempt());
    endpoint.headers().forEach(o::putHeader);
    return o;
  }

  /** {@link OpenAiBodies#chat}: streaming when the route streams. */
  @Override
  public ObjectNode body(Assignment assignment) {
    return OpenAiBodies.chat(assignment, assignment.route().streams());
  }

  /** {@code POST {base_url}/embeddings} with the Bearer key, accepting JSON. */
  @Override
  public RequestOptions embeddingsOptions(ProviderEndpoint endpoint, Assignment assignment) {
    return request(endpoint, assignment, endpoint.url("/embeddings"))
        .putHeader("authorization", endpoint.bearer())
        .putHeader("accept", "application/json");
  }

  /** The route's model, the job's input and every field the job passed through, as given. */
  @Override
  public ObjectNode embeddingsBody(Assignment assignment) {
    return OpenAiBodies.embeddings(assignment, true);
  }

  @Override
  public StreamDecoder streamDecoder() {
    return new ChunkStream();
  }

  @Override
  public ChunkEvent plainAnswer(String body) throws IOException {
    return ChunkEvent.parse(body);
  }

  /** {@code chat.completion.chunk} events until {@code [DONE]}; an {@code error} event or field fails the attempt. */
  static final class ChunkStream implements StreamDecoder {
    private static final byte[] DONE = {'[', 'D', 'O', 'N', 'E', ']'};
    private boolean done;

    @Override
    public void decode(String type, String data, Events out) {
      if ("[DONE]".equals(data)) {
        done = true;
        return;
      }
      ChunkEvent e;
      try {
        e = ChunkEvent.parse(data);
      } catch (IOException ex) {
        out.failure(EventJson.notAnObject(data));
        return;
      }
      decoded(type, e, data, out);
    }

    /** The per-token path: the event's bytes parsed as they are, no {@code String} of the whole event. */
    @Override
    public void decode(String type, byte[] utf8, int offset, int length, Events out) {
      if (!EventJson.startsAnObject(utf8, offset, length)) {
        decode(type, EventJson.text(utf8, offset, length), out); // [DONE], and the exact errors of other data
        return;
      }
      ChunkEvent e;
      try {
        e = ChunkEvent.parse(utf8, offset, length);
      } catch (IOException ex) {
        out.failure(EventJson.notAnObject(EventJson.text(utf8, offset, length)));
        return;
      }
      boolean failed = "error".equals(type) || e.hasError();
      decoded(type, e, failed ? EventJson.text(utf8, offset, length) : null, out);
    }

    /** @param data the event's data; needed only when it reports an error */
    private static void decoded(String type, ChunkEvent e, String data, Events out) {
      if ("error".equals(type) || e.hasError()) {
        out.failure(Failures.ofStreamError(data));
        return;
      }
      out.event(e);
    }

    @Override
    public boolean complete() {
      return done;
    }
  }
}
