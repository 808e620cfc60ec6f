package io.promptfleet.common.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Route;

/**
 * OpenAI's request bodies for a job: chat completions and embeddings, as the worker streams them live and as the
 * dispatcher's batcher writes them into a batch input file (one line's {@code body}). Stateless and thread-safe.
 */
public final class OpenAiBodies {

  private OpenAiBodies() {}

  /**
   * The job's chat request as the provider gets it: the route's model, the messages and every field the job passed
   * through, as given; a job that set no completion limit gets the route's default in the route's field. With
   * {@code stream} it adds {@code stream: true} and {@code stream_options.include_usage} (other stream options of
   * the job kept); without, it sends neither (a plain answer, or a batch line, has no stream to describe).
   */
  public static ObjectNode chat(Assignment assignment, boolean stream) {
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
    if (stream) {
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

  /**
   * An embeddings request body as OpenAI defines it: the job's input and pass-through fields, with the route's
   * model when {@code withModel} (Azure's deployment URL names the model instead).
   */
  public static ObjectNode embeddings(Assignment assignment, boolean withModel) {
    Job job = assignment.job();
    ObjectNode b = Json.mapper().createObjectNode();
    if (withModel) {
      b.put("model", assignment.route().model());
    }
    b.set("input", job.input());
    job.params().forEach(b::set);
    return b;
  }
}
