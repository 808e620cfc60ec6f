package io.promptfleet.worker.stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Route;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;

/**
 * Builds the request one attempt sends its provider: the {@code POST /chat/completions} line, timeouts and headers
 * ({@link #options}) and the JSON body ({@link #body}). Stateless and thread-safe.
 */
final class ProviderRequest {

  private ProviderRequest() {}

  /**
   * The request line and headers: the key's Authorization, JSON in, an event stream (or JSON for a route that does
   * not stream) out, {@code x-client-request-id: <job_id>/<attempt>}, and the provider's connect timeout.
   */
  static RequestOptions options(ProviderEndpoint endpoint, Assignment assignment) {
    return new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setAbsoluteURI(endpoint.chatCompletionsUrl())
        .setConnectTimeout(endpoint.provider().connectTimeoutMs())
        .putHeader("authorization", endpoint.authorization())
        .putHeader("content-type", "application/json")
        .putHeader("accept", assignment.route().streams() ? "text/event-stream" : "application/json")
        .putHeader("x-client-request-id", assignment.job().jobId() + "/" + assignment.attempt());
  }

  /**
   * The job's request as the provider gets it: the route's model, the messages and every field the job passed
   * through, as given; a job that set no completion limit gets the route's default in the route's field. A
   * streaming route adds {@code stream: true} and {@code stream_options.include_usage} (other stream options of the
   * job kept); a non-streaming route sends neither, since a plain answer has no stream to describe.
   */
  static ObjectNode body(Assignment assignment) {
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
}
