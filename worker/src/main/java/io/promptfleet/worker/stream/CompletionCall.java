package io.promptfleet.worker.stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.JobError;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.Timings;
import io.promptfleet.common.job.Usage;
import io.promptfleet.worker.stream.sse.SseListener;
import io.promptfleet.worker.stream.sse.SseParser;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One attempt of one job: POST /chat/completions with {@code stream: true}, parse the SSE stream, publish every
 * delta as a chunk and then exactly one result.
 *
 * <p>Not thread-safe: created and driven on one Vert.x event loop (the one that runs {@link #start()}); every
 * callback, timer and SSE event runs there. Never blocks.
 */
public final class CompletionCall implements SseListener {
  private static final Logger LOG = LoggerFactory.getLogger(CompletionCall.class);
  private static final int MAX_ERROR_BODY = 4_096;

  private final Vertx vertx;
  private final HttpClient http;
  private final ProviderEndpoint endpoint;
  private final Assignment assignment;
  private final ReplyPublisher publisher;
  private final Clock clock;
  private final String workerId;
  private final int maxLineBytes;
  private final StreamMeters meters;
  private final Consumer<Outcome> done;
  private final StringBuilder content = new StringBuilder();
  private SseParser parser;
  private HttpClientResponse response;
  private long seq;
  private String finishReason;
  private String upstreamModel;
  private Usage usage;
  private boolean sawDone;
  private boolean finished;
  private Instant requestAt;
  private Instant firstTokenAt;
  private long firstTokenTimer = -1;
  private long totalTimer = -1;
  private CompletableFuture<Void> lastChunk = CompletableFuture.completedFuture(null);
  private Map<String, String> rateLimit = Map.of();

  public CompletionCall(Vertx vertx, HttpClient http, ProviderEndpoint endpoint, Assignment assignment,
      ReplyPublisher publisher, Clock clock, String workerId, int maxLineBytes, StreamMeters meters,
      Consumer<Outcome> done) {
    this.vertx = vertx;
    this.http = http;
    this.endpoint = endpoint;
    this.assignment = assignment;
    this.publisher = publisher;
    this.clock = clock;
    this.workerId = workerId;
    this.maxLineBytes = maxLineBytes;
    this.meters = meters;
    this.done = done;
  }

  /** Starts the request; must run on an event loop. */
  public void start() {
    requestAt = clock.instant();
    var p = endpoint.provider();
    long total = p.totalTimeoutMs();
    if (assignment.deadline() != null) {
      total = Math.min(total, Math.max(1, assignment.deadline().toEpochMilli() - requestAt.toEpochMilli()));
    }
    final long totalMs = total;
    totalTimer = vertx.setTimer(totalMs, id -> fail(ErrorCodes.TIMEOUT,
        "no complete answer within " + totalMs + " ms", true, null));
    firstTokenTimer = vertx.setTimer(p.firstTokenTimeoutMs(), id -> fail(ErrorCodes.TIMEOUT,
        "no first token within " + p.firstTokenTimeoutMs() + " ms", true, null));
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setAbsoluteURI(endpoint.chatCompletionsUrl())
        .setConnectTimeout(p.connectTimeoutMs())
        .setIdleTimeout(p.idleTimeoutMs())
        .putHeader("authorization", endpoint.authorization())
        .putHeader("content-type", "application/json")
        .putHeader("accept", "text/event-stream")
        .putHeader("x-client-request-id", assignment.job().jobId() + "/" + assignment.attempt());
    Buffer body = Buffer.buffer(Json.bytes(requestBody()));
    http.request(options).onComplete(ar -> {
      if (ar.failed()) {
        fail(ErrorCodes.CONNECT_FAILED, "cannot reach provider " + assignment.route().provider() + ": "
            + ar.cause().getMessage(), true, null);
        return;
      }
      var req = ar.result();
      req.response().onComplete(rr -> {
        if (rr.failed()) {
          fail(ErrorCodes.UPSTREAM_ERROR, "request failed: " + rr.cause().getMessage(), true, null);
        } else {
          onResponse(rr.result());
        }
      });
      req.end(body);
    });
  }

  /** Ends the attempt without calling the provider (e.g. the key's secret is missing on this worker). */
  public void failBeforeStart(String code, String message) {
    requestAt = clock.instant();
    fail(code, message, false, null);
  }

  private ObjectNode requestBody() {
    ObjectNode b = Json.mapper().createObjectNode();
    b.put("model", assignment.route().model());
    b.set("messages", Json.mapper().valueToTree(assignment.job().messages()));
    if (assignment.job().maxTokens() != null) {
      b.put("max_tokens", assignment.job().maxTokens());
    }
    assignment.job().params().forEach(b::set);
    b.put("stream", true);
    b.putObject("stream_options").put("include_usage", true);
    return b;
  }

  private void onResponse(HttpClientResponse resp) {
    if (finished) {
      resp.request().reset();
      return;
    }
    this.response = resp;
    this.rateLimit = rateLimitHeaders(resp);
    if (resp.statusCode() != 200) {
      resp.body().onComplete(b -> {
        String text = b.succeeded() ? truncate(b.result().toString()) : "";
        failHttp(resp.statusCode(), text);
      });
      return;
    }
    parser = new SseParser(this, maxLineBytes, Math.max(maxLineBytes, 4 * maxLineBytes));
    resp.handler(buf -> {
      if (finished) {
        return;
      }
      try {
        byte[] bytes = buf.getBytes();
        parser.feed(bytes, 0, bytes.length);
      } catch (RuntimeException e) {
        fail(ErrorCodes.STREAM_INVALID, "invalid stream: " + e.getMessage(), false, 200);
      }
    });
    resp.exceptionHandler(e -> fail(ErrorCodes.STREAM_CUT, "stream broke off: " + e.getMessage(), true, 200));
    resp.endHandler(v -> onEnd());
  }

  @Override
  public void onEvent(String type, String data, String lastEventId) {
    if (finished) {
      return;
    }
    if ("[DONE]".equals(data)) {
      sawDone = true;
      return;
    }
    JsonNode node;
    try {
      node = Json.mapper().readTree(data);
    } catch (IOException e) {
      fail(ErrorCodes.STREAM_INVALID, "a stream event is not JSON: " + truncate(data), false, 200);
      return;
    }
    JsonNode error = node.get("error");
    if ("error".equals(type) || (error != null && !error.isNull())) {
      String msg = error != null && error.has("message") ? error.get("message").asText() : truncate(data);
      fail(ErrorCodes.UPSTREAM_ERROR, "the provider reported an error in the stream: " + msg, true, 200);
      return;
    }
    JsonNode model = node.get("model");
    if (model != null && model.isTextual()) {
      upstreamModel = model.textValue();
    }
    JsonNode u = node.get("usage");
    if (u != null && u.isObject()) {
      long pt = u.path("prompt_tokens").asLong();
      long ct = u.path("completion_tokens").asLong();
      usage = new Usage(pt, ct, u.has("total_tokens") ? u.get("total_tokens").asLong() : pt + ct);
    }
    JsonNode choices = node.get("choices");
    if (choices != null && choices.isArray() && !choices.isEmpty()) {
      JsonNode c = choices.get(0);
      JsonNode fr = c.get("finish_reason");
      String reason = fr != null && fr.isTextual() ? fr.textValue() : null;
      JsonNode delta = c.path("delta").get("content");
      String text = delta != null && delta.isTextual() ? delta.textValue() : null;
      if (reason != null) {
        finishReason = reason;
      }
      if (text != null && !text.isEmpty()) {
        if (firstTokenAt == null) {
          firstTokenAt = clock.instant();
          vertx.cancelTimer(firstTokenTimer);
          meters.timeToFirstToken(assignment.route().name(), firstTokenAt.toEpochMilli() - requestAt.toEpochMilli());
        }
        content.append(text);
        meters.chunk();
        lastChunk = publisher.chunk(assignment.replyTo(),
            new Chunk(assignment.job().jobId(), assignment.attempt(), seq++, text, reason));
      }
    }
  }

  private void onEnd() {
    if (finished) {
      return;
    }
    if (parser != null) {
      parser.end();
    }
    if (!sawDone) {
      fail(ErrorCodes.STREAM_CUT, "the stream ended without [DONE] after " + seq + " chunks", true, 200);
    } else if (finishReason == null) {
      fail(ErrorCodes.STREAM_CUT, "the stream ended without a finish_reason after " + seq + " chunks", true, 200);
    } else {
      succeed();
    }
  }

  private void succeed() {
    finished = true;
    cancelTimers();
    Instant end = clock.instant();
    Result r = new Result(assignment.job().jobId(), assignment.attempt(), JobStatus.SUCCEEDED, content.toString(),
        finishReason, usage, upstreamModel != null ? upstreamModel : assignment.route().model(),
        assignment.route().name(), assignment.attempt(), timings(end), assignment.route().cost(usage), null,
        assignment.job().metadata());
    meters.streamDuration(assignment.route().name(), end.toEpochMilli() - requestAt.toEpochMilli());
    publishTerminal(r, "succeeded", 200);
  }

  private void failHttp(int status, String body) {
    String detail = body;
    try {
      JsonNode n = Json.mapper().readTree(body);
      if (n != null && n.path("error").has("message")) {
        detail = n.path("error").path("message").asText();
      }
    } catch (IOException | RuntimeException e) {
      // not JSON: keep the raw (truncated) text
    }
    String code = switch (status) {
      case 401, 403 -> ErrorCodes.UPSTREAM_AUTH;
      case 429 -> ErrorCodes.UPSTREAM_RATE_LIMITED;
      case 400, 404, 413, 422 -> ErrorCodes.UPSTREAM_REJECTED;
      default -> ErrorCodes.UPSTREAM_ERROR;
    };
    fail(code, "provider answered HTTP " + status + ": " + detail, status >= 500 || status == 429, status);
  }

  private void fail(String code, String message, boolean retryable, Integer status) {
    if (finished) {
      return;
    }
    finished = true;
    message = endpoint == null ? message : endpoint.redact(message);
    cancelTimers();
    if (response != null) {
      response.request().reset();
    }
    Instant end = clock.instant();
    Result r = new Result(assignment.job().jobId(), assignment.attempt(), JobStatus.FAILED, null, finishReason, usage,
        upstreamModel != null ? upstreamModel : assignment.route().model(), assignment.route().name(),
        assignment.attempt(), timings(end), assignment.route().cost(usage), new JobError(code, message, retryable),
        assignment.job().metadata());
    LOG.info("job {} attempt {} failed: {} {}", assignment.job().jobId(), assignment.attempt(), code, message);
    publishTerminal(r, "failed", status);
  }

  /** The result goes after the last chunk (same partition, idempotent producer: order holds). */
  private void publishTerminal(Result r, String outcome, Integer status) {
    lastChunk.handle((v, e) -> null)
        .thenCompose(v -> publisher.result(assignment.replyTo(), r))
        .whenComplete((v, e) -> {
          if (e != null) {
            LOG.warn("job {}: cannot publish the result, handing the assignment back: {}",
                assignment.job().jobId(), e.toString());
          }
          publisher.event(new FleetEvent(FleetEvent.Type.LEASE_RELEASED, clock.instant(), workerId,
              assignment.leaseId(), assignment.job().jobId(), assignment.keyId(), assignment.route().name(),
              e == null ? outcome : "handed_back", status, r.error() == null ? null : r.error().code(), usage,
              null, rateLimit,
              firstTokenAt == null ? null : firstTokenAt.toEpochMilli() - requestAt.toEpochMilli(), null, null));
          meters.attempt(e == null ? outcome : "handed_back", r.error() == null ? "none" : r.error().code(),
              assignment.route().name());
          done.accept(e == null ? Outcome.DONE : Outcome.HAND_BACK);
        });
  }

  private Timings timings(Instant end) {
    Instant enq = assignment.enqueuedAt() == null ? requestAt : assignment.enqueuedAt();
    return new Timings(Math.max(0, requestAt.toEpochMilli() - enq.toEpochMilli()),
        firstTokenAt == null ? null : firstTokenAt.toEpochMilli() - requestAt.toEpochMilli(),
        Math.max(0, end.toEpochMilli() - enq.toEpochMilli()));
  }

  private void cancelTimers() {
    vertx.cancelTimer(firstTokenTimer);
    vertx.cancelTimer(totalTimer);
  }

  private static Map<String, String> rateLimitHeaders(HttpClientResponse resp) {
    Map<String, String> out = new TreeMap<>();
    resp.headers().forEach(e -> {
      String k = e.getKey().toLowerCase(java.util.Locale.ROOT);
      if (k.startsWith("x-ratelimit-") || k.equals("retry-after") || k.equals("retry-after-ms")) {
        out.put(k, e.getValue());
      }
    });
    return out;
  }

  private static String truncate(String s) {
    return s.length() <= MAX_ERROR_BODY ? s : s.substring(0, MAX_ERROR_BODY) + "...";
  }
}
