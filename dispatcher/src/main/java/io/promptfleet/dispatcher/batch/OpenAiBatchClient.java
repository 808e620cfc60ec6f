package io.promptfleet.dispatcher.batch;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * OpenAI's Files and Batches endpoints as the batcher calls them with one key: upload an input file, create a batch
 * for {@code /v1/chat/completions} with the batch key in its {@code metadata}, find a batch by that key (a successor
 * that lost the record of a create), read a batch, read an output or error file line by line, cancel. Blocking: runs
 * only on the batcher's own thread ({@link BatchCalls}). The key is sent in {@code Authorization} and never appears
 * in an exception's message (the provider's text is redacted). Thread-safe.
 */
final class OpenAiBatchClient {
  /** The metadata field that names the batch key. */
  static final String METADATA_KEY = "promptfleet_batch_key";
  private static final Duration TIMEOUT = Duration.ofSeconds(120);
  /** Batches listed at most when looking one up (pages of 100). */
  private static final int MAX_LISTED = 2_000;

  private final HttpClient http;
  private final String baseUrl;
  private final String secret;
  private final Map<String, String> headers;

  /**
   * @param baseUrl the provider's base URL, e.g. {@code https://api.openai.com/v1}
   * @param secret  the key's secret, without {@code Bearer }
   * @param headers the provider's extra headers, values resolved
   */
  OpenAiBatchClient(HttpClient http, String baseUrl, String secret, Map<String, String> headers) {
    this.http = http;
    this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
    String s = secret.trim();
    this.secret = s.regionMatches(true, 0, "Bearer ", 0, 7) ? s.substring(7).trim() : s;
    this.headers = Map.copyOf(headers);
  }

  /** Uploads {@code jsonl} with purpose {@code batch}; returns the file id. */
  String upload(byte[] jsonl, String filename) throws BatchCallException {
    String boundary = "pf-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
    ByteArrayOutputStream body = new ByteArrayOutputStream(jsonl.length + 512);
    try {
      body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--"
          + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename
          + "\"\r\nContent-Type: application/jsonl\r\n\r\n").getBytes(StandardCharsets.UTF_8));
      body.write(jsonl);
      body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    JsonNode file = json(request("/files").header("content-type", "multipart/form-data; boundary=" + boundary)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())), "upload the batch input file");
    return file.path("id").asText();
  }

  /** Creates the batch of {@code inputFileId} for chat completions in the 24 h window; returns the batch object. */
  JsonNode create(String inputFileId, String batchKey) throws BatchCallException {
    var body = Json.mapper().createObjectNode();
    body.put("input_file_id", inputFileId).put("endpoint", BatchLines.CHAT_URL).put("completion_window", "24h");
    body.putObject("metadata").put(METADATA_KEY, batchKey);
    return json(request("/batches").header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(Json.bytes(body))), "create the batch");
  }

  /** The newest batch whose metadata names {@code batchKey}, among the newest {@value #MAX_LISTED}; null if none. */
  JsonNode find(String batchKey) throws BatchCallException {
    String after = null;
    for (int listed = 0; listed < MAX_LISTED; listed += 100) {
      JsonNode page = json(request("/batches?limit=100" + (after == null ? ""
          : "&after=" + URLEncoder.encode(after, StandardCharsets.UTF_8))).GET(), "list batches");
      for (JsonNode b : page.path("data")) {
        if (batchKey.equals(b.path("metadata").path(METADATA_KEY).asText(null))) {
          return b;
        }
        after = b.path("id").asText();
      }
      if (!page.path("has_more").asBoolean(false)) {
        return null;
      }
    }
    return null;
  }

  /** The batch object. */
  JsonNode get(String batchId) throws BatchCallException {
    return json(request("/batches/" + batchId).GET(), "read batch " + batchId);
  }

  /** Asks the provider to cancel the batch; an ended batch (400) is not an error. */
  void cancel(String batchId) throws BatchCallException {
    HttpResponse<byte[]> r = send(request("/batches/" + batchId + "/cancel").POST(
        HttpRequest.BodyPublishers.noBody()), "cancel batch " + batchId);
    if (r.statusCode() != 200 && r.statusCode() != 400) {
      throw failure("cancel batch " + batchId, r);
    }
  }

  /** The lines of an output or error file, each parsed. */
  List<JsonNode> lines(String fileId) throws BatchCallException {
    HttpResponse<byte[]> r = send(request("/files/" + fileId + "/content").GET(), "read file " + fileId);
    if (r.statusCode() != 200) {
      throw failure("read file " + fileId, r);
    }
    List<JsonNode> out = new ArrayList<>();
    String text = new String(r.body(), StandardCharsets.UTF_8);
    int from = 0;
    while (from < text.length()) {
      int nl = text.indexOf('\n', from);
      int end = nl < 0 ? text.length() : nl;
      String line = text.substring(from, end).strip();
      if (!line.isEmpty()) {
        try {
          out.add(Json.mapper().readTree(line));
        } catch (IOException e) {
          throw new BatchCallException("file " + fileId + " has a line that is not JSON: " + abbreviate(line), false);
        }
      }
      from = end + 1;
    }
    return out;
  }

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(TIMEOUT)
        .header("authorization", "Bearer " + secret);
    headers.forEach(b::header);
    return b;
  }

  private JsonNode json(HttpRequest.Builder request, String what) throws BatchCallException {
    HttpResponse<byte[]> r = send(request, what);
    if (r.statusCode() != 200) {
      throw failure(what, r);
    }
    try {
      return Json.mapper().readTree(r.body());
    } catch (IOException e) {
      throw new BatchCallException("could not " + what + ": the answer is not JSON", false);
    }
  }

  private HttpResponse<byte[]> send(HttpRequest.Builder request, String what) throws BatchCallException {
    try {
      return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new BatchCallException("could not " + what + ": " + redact(e.toString()), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BatchCallException("interrupted while trying to " + what, e);
    }
  }

  private BatchCallException failure(String what, HttpResponse<byte[]> r) {
    return new BatchCallException("could not " + what + ": HTTP " + r.statusCode() + ": "
        + abbreviate(redact(new String(r.body(), StandardCharsets.UTF_8))), BatchCallException.retriable(r.statusCode()));
  }

  private String redact(String text) {
    String out = secret.length() < 4 ? text : text.replace(secret, "***");
    for (String v : headers.values()) {
      if (v.length() >= 8) {
        out = out.replace(v, "***");
      }
    }
    return out;
  }

  private static String abbreviate(String s) {
    return s.length() <= 500 ? s : s.substring(0, 500) + "...";
  }
}
