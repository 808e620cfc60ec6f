package io.promptfleet.dispatcher.batch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.upstream.OpenAiBodies;

/**
 * One line of an OpenAI batch input file for a member: {@code {"custom_id": <job_id>, "method": "POST", "url":
 * "/v1/chat/completions", "body": ...}}, the body being exactly the one a worker would send live for the job on
 * this route ({@link OpenAiBodies#chat}), not streamed. Pure; thread-safe.
 */
final class BatchLines {
  /** The batch endpoint of chat jobs. */
  static final String CHAT_URL = "/v1/chat/completions";

  private BatchLines() {}

  /** The input line for {@code member} on {@code route} with the key {@code keyId}, ending in a newline. */
  static byte[] line(BatchRecords.Member member, RouteSettings route, String keyId) {
    Job job = member.job();
    Assignment a = new Assignment("batch-" + member.batchKey(), job, 1, member.priority(),
        route.toRoute(job.model()), keyId, member.enqueuedAt(), null, member.deadline(), job.replyTo());
    ObjectNode body = OpenAiBodies.chat(a, false);
    body.remove("stream"); // a job may say stream: true; a batch line is never streamed
    ObjectNode line = Json.mapper().createObjectNode();
    line.put("custom_id", job.jobId());
    line.put("method", "POST");
    line.put("url", CHAT_URL);
    line.set("body", body);
    byte[] json = Json.bytes(line);
    byte[] out = java.util.Arrays.copyOf(json, json.length + 1);
    out[json.length] = '\n';
    return out;
  }
}
