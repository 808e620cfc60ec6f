package io.promptfleet.dispatcher.batch;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Route;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * OpenAI's Files and Batches endpoints as the batcher calls them with one key: upload an input file, create a batch
 * for {@code /v1/chat/completions} or {@code /v1/embeddings} with the batch key in its {@code metadata}, find a batch
 * by that key (a successor that lost the record of a create), read a batch, read its output and error files line by
 * line, cancel. The key is sent in {@code Authorization} and never appears in an exception's message (the provider's
 * text is redacted). Thread-safe.
 */
final class OpenAiBatchClient implements BatchApi {
  /** The metadata field that names the batch key. */
  static final String METADATA_KEY = "promptfleet_batch_key";
  /** Batch statuses after which a batch changes no more. */
  static final Set<String> ENDED = Set.of("completed", "expired", "cancelled", "failed");
  /** Batches listed at most when looking one up (pages of 100). */
  private static final int MAX_LISTED = 2_000;

  private final BatchHttp http;

  /**
   * @param baseUrl the provider's base URL, e.g. {@code https://api.openai.com/v1}
   * @param secret  the key's secret, without {@code Bearer }
   * @param headers the provider's extra headers, values resolved
   */
  OpenAiBatchClient(HttpClient http, String baseUrl, String secret, Map<String, String> headers) {
    String s = secret.trim();
    s = s.regionMatches(true, 0, "Bearer ", 0, 7) ? s.substring(7).trim() : s;
    this.http = new BatchHttp(http, baseUrl, s, Map.of("authorization", "Bearer " + s), headers);
  }

  @Override
  public String endpoint(Job job) {
    return job.isEmbeddings() ? BatchLines.EMBEDDINGS_URL : BatchLines.CHAT_URL;
  }

  @Override
  public byte[] line(BatchRecords.Member member, String endpoint, RouteSettings route, String keyId) {
    return BatchLines.openAi(member, endpoint, route, keyId);
  }

  @Override
  public long envelopeBytes() {
    return 0;
  }

  @Override
  public String customId(String jobId) {
    return jobId;
  }

  @Override
  public Created find(BatchRecords.Batch record, int requests, Set<String> known) throws BatchCallException {
    JsonNode b = find(record.batchKey());
    return b == null ? null : created(b);
  }

  @Override
  public Created create(BatchRecords.Batch record, List<byte[]> lines) throws BatchCallException {
    int size = 0;
    for (byte[] l : lines) {
      size += l.length;
    }
    ByteArrayOutputStream file = new ByteArrayOutputStream(size);
    lines.forEach(file::writeBytes);
    String fileId = upload(file.toByteArray(), record.batchKey() + ".jsonl");
    return created(create(fileId, record.endpointOrChat(),
        record.batchKey()));
  }

  @Override
  public Polled poll(String providerBatchId) throws BatchCallException {
    JsonNode b = get(providerBatchId);
    String status = b.path("status").asText();
    if (!ENDED.contains(status)) {
      return new Polled(status, false, List.of(), "");
    }
    List<JsonNode> lines = new ArrayList<>();
    for (String file : new String[] {"output_file_id", "error_file_id"}) {
      String id = b.path(file).asText(null);
      if (id != null && !id.isEmpty() && !"null".equals(id)) {
        lines.addAll(lines(id));
      }
    }
    String detail = b.path("errors").path("data").isArray() ? b.path("errors").path("data").toString() : "";
    return new Polled(status, true, lines, detail);
  }

  @Override
  public BatchAnswers.Outcome answer(JsonNode line, BatchRecords.Member member, Route priced, Instant endedAt) {
    return BatchAnswers.openAi(line, member, priced, endedAt);
  }

  private static Created created(JsonNode b) {
    return new Created(b.path("id").asText(), b.path("input_file_id").asText(null),
        Instant.ofEpochSecond(b.path("created_at").asLong()));
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
    JsonNode file = http.json(http.request("/files").header("content-type", "multipart/form-data; boundary="
        + boundary).POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())), "upload the batch input file");
    return file.path("id").asText();
  }

  /** Creates the batch of {@code inputFileId} for {@code endpoint} in the 24 h window; returns the batch object. */
  JsonNode create(String inputFileId, String endpoint, String batchKey) throws BatchCallException {
    var body = Json.mapper().createObjectNode();
    body.put("input_file_id", inputFileId).put("endpoint", endpoint).put("completion_window", "24h");
    body.putObject("metadata").put(METADATA_KEY, batchKey);
    return http.json(http.request("/batches").header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(Json.bytes(body))), "create the batch");
  }

  /** The newest batch whose metadata names {@code batchKey}, among the newest {@value #MAX_LISTED}; null if none. */
  JsonNode find(String batchKey) throws BatchCallException {
    String after = null;
    for (int listed = 0; listed < MAX_LISTED; listed += 100) {
      JsonNode page = http.json(http.request("/batches?limit=100" + (after == null ? ""
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
    return http.json(http.request("/batches/" + batchId).GET(), "read batch " + batchId);
  }

  /** Asks the provider to cancel the batch; an ended batch (400) is not an error. */
  @Override
  public void cancel(String batchId) throws BatchCallException {
    HttpResponse<byte[]> r = http.send(http.request("/batches/" + batchId + "/cancel").POST(
        HttpRequest.BodyPublishers.noBody()), "cancel batch " + batchId);
    if (r.statusCode() != 200 && r.statusCode() != 400) {
      throw http.failure("cancel batch " + batchId, r);
    }
  }

  /** The lines of an output or error file, each parsed. */
  List<JsonNode> lines(String fileId) throws BatchCallException {
    return http.lines(http.request("/files/" + fileId + "/content").GET(), "read file " + fileId);
  }
}
