package io.promptfleet.simulator;

import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Drives the simulator's batch APIs over HTTP for tests: uploads, creates, polls. Blocks the test thread only. */
final class BatchTestClient {

  static final String API_KEY = "sk-test-key";
  static final Set<String> OPENAI_ENDED = Set.of("completed", "failed", "expired", "cancelled");

  private final SimulatorHarness sim;

  BatchTestClient(SimulatorHarness sim) {
    this.sim = sim;
  }

  /** Ages batches by a new {@link ManualClock} from now on, and gives batches created afterwards {@code behaviour}. */
  ManualClock manualClock(BatchBehaviour behaviour) {
    ManualClock clock = new ManualClock();
    sim.provider.batches().clock(clock).forAll(behaviour);
    return clock;
  }

  HttpResponse<String> get(String path, String... headers) {
    return sim.send(builder(path, headers).GET().build());
  }

  HttpResponse<String> post(String path, String body, String... headers) {
    return sim.send(builder(path, headers).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  HttpResponse<String> delete(String path) {
    return sim.send(builder(path, "Authorization", "Bearer " + API_KEY).DELETE().build());
  }

  private HttpRequest.Builder builder(String path, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(sim.provider.origin() + path))
        .timeout(SimulatorHarness.TIMEOUT);
    return headers.length > 0 ? b.headers(headers) : b;
  }

  // ------------------------------------------------------------------ OpenAI

  /** {@code POST /v1/files} as multipart/form-data, as the OpenAI SDKs send it. */
  HttpResponse<String> upload(String purpose, String filename, byte[] content) {
    String boundary = "----simboundary7MA4YWxkTrZu0gW";
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    write(body, "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n" + purpose + "\r\n");
    write(body, "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename
        + "\"\r\nContent-Type: application/octet-stream\r\n\r\n");
    body.writeBytes(content);
    write(body, "\r\n--" + boundary + "--\r\n");
    return sim.send(builder("/v1/files", "Authorization", "Bearer " + API_KEY)
        .header("Content-Type", "multipart/form-data; boundary=" + boundary)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build());
  }

  private static void write(ByteArrayOutputStream out, String s) {
    out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
  }

  /** A chat completions input line. */
  static String chatLine(String customId, String prompt) {
    return new JsonObject().put("custom_id", customId).put("method", "POST").put("url", "/v1/chat/completions")
        .put("body", SimulatorHarness.chat(prompt, false)).encode();
  }

  /** Uploads {@code lines} and creates a batch for {@code endpoint}; returns the created batch. */
  JsonObject submit(String endpoint, List<String> lines) {
    HttpResponse<String> file = upload("batch", "input.jsonl",
        (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
    if (file.statusCode() != 200) {
      throw new AssertionError("upload failed: " + file.body());
    }
    HttpResponse<String> created = post("/v1/batches", new JsonObject()
        .put("input_file_id", new JsonObject(file.body()).getString("id")).put("endpoint", endpoint)
        .put("completion_window", "24h").encode(), "Authorization", "Bearer " + API_KEY);
    if (created.statusCode() != 200) {
      throw new AssertionError("create failed: " + created.body());
    }
    return new JsonObject(created.body());
  }

  JsonObject batch(String id) {
    return new JsonObject(get("/v1/batches/" + id, "Authorization", "Bearer " + API_KEY).body());
  }

  /** Polls every few ms until the batch reaches one of {@code until}; returns every distinct status seen, in order. */
  List<String> statusesUntil(String id, Set<String> until) throws InterruptedException {
    List<String> seen = new ArrayList<>();
    long deadline = System.nanoTime() + SimulatorHarness.TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      String status = batch(id).getString("status");
      if (seen.isEmpty() || !seen.get(seen.size() - 1).equals(status)) {
        seen.add(status);
      }
      if (until.contains(status)) {
        return seen;
      }
      Thread.sleep(3);
    }
    throw new AssertionError("batch " + id + " did not reach " + until + "; saw " + seen);
  }

  /** The lines of a file's content, parsed. */
  List<JsonObject> fileLines(String fileId) {
    List<JsonObject> lines = new ArrayList<>();
    for (String line : get("/v1/files/" + fileId + "/content", "Authorization", "Bearer " + API_KEY).body()
        .split("\n")) {
      if (!line.isBlank()) {
        lines.add(new JsonObject(line));
      }
    }
    return lines;
  }

  // ------------------------------------------------------------------ Anthropic

  HttpResponse<String> anthropicPost(String path, String body) {
    return post(path, body, "x-api-key", API_KEY, "anthropic-version", "2023-06-01");
  }

  HttpResponse<String> anthropicGet(String path) {
    return get(path, "x-api-key", API_KEY, "anthropic-version", "2023-06-01");
  }

  /** A Messages request body with one user message. */
  static JsonObject messageParams(String prompt) {
    return new JsonObject().put("model", "claude-test").put("max_tokens", 64).put("messages",
        new io.vertx.core.json.JsonArray().add(new JsonObject().put("role", "user").put("content", prompt)));
  }

  /** Polls a Message Batch until it has ended; returns every distinct processing_status seen, in order. */
  List<String> messageStatusesUntilEnded(String id) throws InterruptedException {
    List<String> seen = new ArrayList<>();
    long deadline = System.nanoTime() + SimulatorHarness.TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      String status = new JsonObject(anthropicGet("/v1/messages/batches/" + id).body()).getString("processing_status");
      if (seen.isEmpty() || !seen.get(seen.size() - 1).equals(status)) {
        seen.add(status);
      }
      if (status.equals("ended")) {
        return seen;
      }
      Thread.sleep(3);
    }
    throw new AssertionError("message batch " + id + " did not end; saw " + seen);
  }
}
