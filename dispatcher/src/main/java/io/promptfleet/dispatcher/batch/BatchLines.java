package io.promptfleet.dispatcher.batch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.upstream.AnthropicBodies;
import io.promptfleet.common.upstream.OpenAiBodies;
import java.util.Arrays;

/**
 * A member's request in a provider batch, its body exactly the one a worker would send live for the job on the
 * route, not streamed: an OpenAI input-file line {@code {"custom_id": <job_id>, "method": "POST", "url": ..., "body":
 * ...}} ({@link OpenAiBodies#chat} or {@link OpenAiBodies#embeddings}), or an Anthropic Message Batch request {@code
 * {"custom_id": ..., "params": ...}} ({@link AnthropicBodies#messages}). Pure; thread-safe.
 */
final class BatchLines {
  /** The batch endpoint of chat jobs. */
  static final String CHAT_URL = "/v1/chat/completions";
  /** The batch endpoint of embeddings jobs. */
  static final String EMBEDDINGS_URL = "/v1/embeddings";
  /** The endpoint of an Anthropic Message Batch's requests. */
  static final String MESSAGES_URL = "/v1/messages";

  private BatchLines() {}

  /** The OpenAI input line for {@code member} in a batch of {@code endpoint}, ending in a newline. */
  static byte[] openAi(BatchRecords.Member member, String endpoint, RouteSettings route, String keyId) {
    Assignment a = assignment(member, route, keyId);
    ObjectNode body;
    if (EMBEDDINGS_URL.equals(endpoint)) {
      body = OpenAiBodies.embeddings(a, true);
    } else {
      body = OpenAiBodies.chat(a, false);
      body.remove("stream"); // a job may say stream: true; a batch line is never streamed
    }
    ObjectNode line = Json.mapper().createObjectNode();
    line.put("custom_id", member.job().jobId());
    line.put("method", "POST");
    line.put("url", endpoint);
    line.set("body", body);
    byte[] json = Json.bytes(line);
    byte[] out = Arrays.copyOf(json, json.length + 1);
    out[json.length] = '\n';
    return out;
  }

  /**
   * The Anthropic request for {@code member}, {@code {"custom_id": ..., "params": ...}}, ending in a comma (the
   * requests are joined into one JSON array).
   *
   * @throws io.promptfleet.common.upstream.UnsupportedJobException when Anthropic cannot express the job
   */
  static byte[] anthropic(BatchRecords.Member member, String customId, RouteSettings route, String keyId) {
    ObjectNode line = Json.mapper().createObjectNode();
    line.put("custom_id", customId);
    line.set("params", AnthropicBodies.messages(assignment(member, route, keyId), false));
    byte[] json = Json.bytes(line);
    byte[] out = Arrays.copyOf(json, json.length + 1);
    out[json.length] = ',';
    return out;
  }

  /** The assignment a worker would run the member with on {@code route} (its first attempt). */
  private static Assignment assignment(BatchRecords.Member member, RouteSettings route, String keyId) {
    Job job = member.job();
    return new Assignment("batch-" + member.batchKey(), job, 1, member.priority(), route.toRoute(job.model()), keyId,
        member.enqueuedAt(), null, member.deadline(), job.replyTo());
  }
}
