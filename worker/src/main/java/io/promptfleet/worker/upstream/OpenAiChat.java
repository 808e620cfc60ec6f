package io.promptfleet.worker.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Route;
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

  /**
   * The job's request as the provider gets it: the route's model, the messages and every field the job passed
   * through, as given; a job that set no completion limit gets the route's default in the route's field. A
   * streaming route adds {@code stream: true} and {@code stream_options.include_usage} (other stream options of the
   * job kept); a non-streaming route sends neither, since a plain answer has no stream to describe.
   */
  @Override
  public ObjectNode body(Assignment assignment) {
    Job job = assignment.job();
    Route route = assignment.route();
    ObjectNode b = Json.mapper().createObjectNode();
    b.put("model", route.model());
    b.set("messages", Json.mapper().valueToTree(job.messages()));
    job.params().forEach(b::set);
    if (!job.setsTokenLimit()) {
      if (job.maxTokens() != null) {
        b.put(Job.MAX_TOKENS, job.maxTokens()); // written by a dispatcher that predates params limits
      } else if (route.defaultMaxTokens() != null) {
        b.put(route.limitField(), route.defaultMaxTokens()); // the route's default, in the field its model takes
      }
    }
    if (route.streams()) {
      b.put("stream", true);
      JsonNode given = b.get("stream_options");
      ObjectNode options = given != null && given.isObject() ? ((ObjectNode) given).deepCopy()
          : Json.mapper().createObjectNode();
      options.put("include_usage", true);
      b.set("stream_options", options);
    } else {
      b.remove("stream_options");
    }
    return b;
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
    return embeddings(assignment, true);
  }

  /**
   * An embeddings request body as OpenAI defines it: the job's input and pass-through fields, with the route's
   * model when {@code withModel} (Azure's deployment URL names the model instead).
   */
  static ObjectNode embeddings(Assignment assignment, boolean withModel) {
    Job job = assignment.job();
    ObjectNode b = Json.mapper().createObjectNode();
    if (withModel) {
      b.put("model", assignment.route().model());
    }
    b.set("input", job.input());
    job.params().forEach(b::set);
    return b;
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
