package io.promptfleet.dispatcher.batch;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Route;
import java.io.ByteArrayOutputStream;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Anthropic's Message Batches as the batcher calls them with one key ({@code x-api-key} and {@code
 * anthropic-version}, the headers of the worker's live Messages calls): create a batch of requests {@code
 * [{custom_id, params}]} ({@code POST /v1/messages/batches}), read it ({@code processing_status} {@code
 * in_progress}, {@code canceling}, {@code ended}), read its results from its {@code results_url} (JSON lines, {@code
 * result.type} {@code succeeded}, {@code errored}, {@code canceled} or {@code expired}), cancel it. The key never
 * appears in an exception's message. Thread-safe.
 *
 * <p>A Message Batch has no metadata, so the batch a predecessor created without recording it is found by its shape:
 * the oldest batch not recorded for another batch, created after the batch opened, with as many requests as the
 * batch has members ({@link #find}). If that matched another batch of the account, the members its results do not
 * name run live: nothing is lost or answered twice, the cost of a second batch aside.
 */
final class AnthropicBatchClient implements BatchApi {
  /** Anthropic's rule for a request's {@code custom_id}. */
  static final Pattern CUSTOM_ID = Pattern.compile("^[a-zA-Z0-9_-]{1,64}$");
  private static final String BATCHES = "/messages/batches";
  private static final byte[] OPEN = "{\"requests\":[".getBytes(StandardCharsets.UTF_8);
  private static final byte[] CLOSE = "]}".getBytes(StandardCharsets.UTF_8);
  /** Batches listed at most when looking one up (pages of 100). */
  private static final int MAX_LISTED = 2_000;

  private final BatchHttp http;

  /**
   * @param baseUrl the provider's base URL, e.g. {@code https://api.anthropic.com/v1}
   * @param secret  the key's secret
   * @param version the {@code anthropic-version} to send
   * @param headers the provider's extra headers, values resolved
   */
  AnthropicBatchClient(HttpClient http, String baseUrl, String secret, String version, Map<String, String> headers) {
    String s = secret.trim();
    this.http = new BatchHttp(http, baseUrl, s, Map.of("x-api-key", s, "anthropic-version", version), headers);
  }

  /** Chat jobs only: Anthropic has no embeddings. */
  @Override
  public String endpoint(Job job) {
    return job.isEmbeddings() ? null : BatchLines.MESSAGES_URL;
  }

  @Override
  public byte[] line(BatchRecords.Member member, String endpoint, RouteSettings route, String keyId) {
    return BatchLines.anthropic(member, customId(member.job().jobId()), route, keyId);
  }

  /** {@code {"requests":[} and {@code ]}}, less the last request's comma. */
  @Override
  public long envelopeBytes() {
    return OPEN.length + CLOSE.length - 1;
  }

  /**
   * The job id when Anthropic accepts it as a custom id (1 to 64 of {@code [a-zA-Z0-9_-]}), else {@code pf-} and the
   * first 43 characters of the job id's SHA-256 in unpadded base64url: stable, so a successor maps results back.
   */
  @Override
  public String customId(String jobId) {
    if (CUSTOM_ID.matcher(jobId).matches()) {
      return jobId;
    }
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(jobId.getBytes(StandardCharsets.UTF_8));
      return "pf-" + Base64.getUrlEncoder().withoutPadding().encodeToString(hash);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  @Override
  public Created find(BatchRecords.Batch record, int requests, Set<String> known) throws BatchCallException {
    JsonNode found = null;
    String after = null;
    for (int listed = 0; listed < MAX_LISTED; listed += 100) {
      JsonNode page = http.json(http.request(BATCHES + "?limit=100" + (after == null ? ""
          : "&after_id=" + URLEncoder.encode(after, StandardCharsets.UTF_8))).GET(), "list message batches");
      for (JsonNode b : page.path("data")) { // newest first
        Instant created = createdAt(b);
        if (created.isBefore(record.openedAt())) {
          return found == null ? null : created(found);
        }
        if (!known.contains(b.path("id").asText()) && total(b.path("request_counts")) == requests) {
          found = b; // the oldest such so far
        }
      }
      if (!page.path("has_more").asBoolean(false)) {
        break;
      }
      after = page.path("last_id").asText(null);
      if (after == null) {
        break;
      }
    }
    return found == null ? null : created(found);
  }

  @Override
  public Created create(BatchRecords.Batch record, List<byte[]> lines) throws BatchCallException {
    long size = OPEN.length + CLOSE.length;
    for (byte[] l : lines) {
      size += l.length;
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream((int) Math.min(Integer.MAX_VALUE - 8, size));
    body.writeBytes(OPEN);
    for (int i = 0; i < lines.size(); i++) {
      byte[] l = lines.get(i);
      body.write(l, 0, i == lines.size() - 1 ? l.length - 1 : l.length); // the last request without its comma
    }
    body.writeBytes(CLOSE);
    return created(http.json(http.request(BATCHES).header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())), "create the message batch"));
  }

  @Override
  public Polled poll(String providerBatchId) throws BatchCallException {
    JsonNode b = get(providerBatchId);
    String status = b.path("processing_status").asText();
    if (!"ended".equals(status)) {
      return new Polled(status, false, List.of(), "");
    }
    JsonNode counts = b.path("request_counts");
    boolean allSucceeded = counts.path("succeeded").asLong(0) == total(counts);
    return new Polled(status, true, results(providerBatchId, b.path("results_url").asText(null)),
        allSucceeded ? "" : "request_counts " + counts);
  }

  @Override
  public void cancel(String providerBatchId) throws BatchCallException {
    HttpResponse<byte[]> r = http.send(http.request(BATCHES + "/" + providerBatchId + "/cancel").POST(
        HttpRequest.BodyPublishers.noBody()), "cancel message batch " + providerBatchId);
    if (r.statusCode() != 200 && r.statusCode() != 400) {
      throw http.failure("cancel message batch " + providerBatchId, r);
    }
  }

  @Override
  public BatchAnswers.Outcome answer(JsonNode line, BatchRecords.Member member, Route priced, Instant endedAt) {
    return BatchAnswers.anthropic(line, member, priced, endedAt);
  }

  /** The message batch object. */
  JsonNode get(String batchId) throws BatchCallException {
    return http.json(http.request(BATCHES + "/" + batchId).GET(), "read message batch " + batchId);
  }

  /**
   * The results, one parsed line per request: from the batch's {@code results_url} when it is under the provider's
   * base URL (the key goes with the request), else from {@code /messages/batches/{id}/results} there.
   */
  List<JsonNode> results(String batchId, String resultsUrl) throws BatchCallException {
    HttpRequest.Builder request = resultsUrl != null && resultsUrl.startsWith(http.baseUrl() + "/")
        ? http.absolute(resultsUrl) : http.request(BATCHES + "/" + batchId + "/results");
    return http.lines(request.GET(), "read the results of message batch " + batchId);
  }

  private static Created created(JsonNode b) {
    return new Created(b.path("id").asText(), null, createdAt(b));
  }

  private static Instant createdAt(JsonNode b) {
    try {
      return Instant.parse(b.path("created_at").asText());
    } catch (DateTimeParseException e) {
      return Instant.EPOCH;
    }
  }

  private static long total(JsonNode counts) {
    long n = 0;
    for (String f : new String[] {"processing", "succeeded", "errored", "canceled", "expired"}) {
      n += counts.path(f).asLong(0);
    }
    return n;
  }
}
