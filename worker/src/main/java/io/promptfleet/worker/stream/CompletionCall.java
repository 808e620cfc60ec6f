package io.promptfleet.worker.stream;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.JobError;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.RetryRequest;
import io.promptfleet.common.job.Route;
import io.promptfleet.common.job.Timings;
import io.promptfleet.common.job.Usage;
import io.promptfleet.common.config.ProviderSettings;
import io.promptfleet.worker.stream.sse.SseListener;
import io.promptfleet.worker.stream.sse.SseParser;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One attempt of one job: POST /chat/completions with {@code stream: true}, parse the SSE stream, publish every
 * delta as a chunk, and end in exactly one of: a {@code succeeded} result; a retry request on the retry topic
 * (transient and key-fatal failures: the dispatcher owns backoff, attempts and the deadline); a {@code failed}
 * result (the provider rejected the request); a {@code cancelled} result; or nothing at all when the attempt is
 * handed back to the share group (drain, or Kafka unreachable). Then a {@code lease_released} fleet event, then
 * {@code done} is told whether the assignment may be acknowledged (only once the terminal record is acked by
 * Kafka).
 *
 * <p>Not thread-safe: created on any thread, then driven on one Vert.x event loop (the context that runs
 * {@link #start()}); every callback, timer and SSE event runs there, and {@link #cancel()} and {@link #handBack}
 * must be called there too. Never blocks.
 */
public final class CompletionCall implements SseListener {
  private static final Logger LOG = LoggerFactory.getLogger(CompletionCall.class);
  private static final int MAX_ERROR_BODY = 4_096;

  private final StreamEnv env;
  private final Vertx vertx;
  private final Clock clock;
  private final ProviderEndpoint endpoint;
  private final Assignment assignment;
  private final Route route;
  private final Consumer<Outcome> done;
  private final Context context;
  private final StringBuilder content = new StringBuilder();
  private final StringBuilder pending = new StringBuilder();
  private final ChunkEncoder chunkEncoder;
  private SseParser parser;
  private HttpClientRequest request;
  private long seq;
  private String finishReason;
  private String upstreamModel;
  private Usage usage;
  private boolean sawDone;
  private boolean finished;
  private Instant requestAt;
  private Instant firstTokenAt;
  private long lastActivityNanos;
  private long idleTimeoutMs;
  private long firstTokenTimer = -1;
  private long idleTimer = -1;
  private long totalTimer = -1;
  private long flushTimer = -1;
  private final AtomicInteger unackedChunks = new AtomicInteger();
  private volatile Throwable chunkError;
  private volatile CompletableFuture<Void> chunksDrained;
  private Map<String, String> rateLimit = Map.of();
  private Long retryAfterMs;

  /**
   * @param context    the event-loop context that drives this call
   * @param endpoint   the provider and key; null when this worker has no secret for the key (then only
   *                   {@link #failBeforeStart} may be called)
   * @param assignment the assignment, its attempt already raised for redeliveries
   * @param done       told once, on the event loop, after the terminal record (if any) is acked or failed
   */
  public CompletionCall(StreamEnv env, Context context, ProviderEndpoint endpoint, Assignment assignment,
      Consumer<Outcome> done) {
    this.context = context;
    this.env = env;
    this.vertx = env.vertx();
    this.clock = env.clock();
    this.endpoint = endpoint;
    this.assignment = assignment;
    this.route = assignment.route();
    this.done = done;
    this.chunkEncoder = new ChunkEncoder(assignment.job().jobId(), assignment.attempt());
  }

  public Assignment assignment() {
    return assignment;
  }

  /** Starts the request; must run on {@code context}. */
  public void start() {
    if (finished) {
      return;
    }
    requestAt = clock.instant();
    ProviderSettings p = endpoint.provider();
    long total = p.totalTimeoutMs();
    boolean deadlineFirst = false;
    if (assignment.deadline() != null) {
      long left = assignment.deadline().toEpochMilli() - requestAt.toEpochMilli();
      if (left <= 0) {
        conclude(new Failure(FailureClass.TRANSIENT, ErrorCodes.DEADLINE_EXCEEDED,
            "the job's deadline " + assignment.deadline() + " passed before the attempt started", null));
        return;
      }
      deadlineFirst = left < total;
      total = Math.min(total, left);
    }
    final long totalMs = total;
    final boolean byDeadline = deadlineFirst;
    totalTimer = vertx.setTimer(totalMs, id -> conclude(byDeadline
        ? new Failure(FailureClass.TRANSIENT, ErrorCodes.DEADLINE_EXCEEDED,
            "the job's deadline passed after " + totalMs + " ms of streaming", status())
        : Failure.transientFailure(ErrorCodes.TIMEOUT, "no complete answer within the provider's total timeout of "
            + totalMs + " ms", status())));
    firstTokenTimer = vertx.setTimer(p.firstTokenTimeoutMs(), id -> conclude(Failure.transientFailure(
        ErrorCodes.TIMEOUT, "no first token within " + p.firstTokenTimeoutMs() + " ms", status())));
    idleTimeoutMs = p.idleTimeoutMs();
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setAbsoluteURI(endpoint.chatCompletionsUrl())
        .setConnectTimeout(p.connectTimeoutMs())
        .putHeader("authorization", endpoint.authorization())
        .putHeader("content-type", "application/json")
        .putHeader("accept", "text/event-stream")
        .putHeader("x-client-request-id", assignment.job().jobId() + "/" + assignment.attempt());
    Buffer body = Buffer.buffer(Json.bytes(requestBody()));
    env.http().request(options).onComplete(ar -> {
      if (ar.failed()) {
        conclude(Failure.transientFailure(ErrorCodes.CONNECT_FAILED, "cannot reach provider " + route.provider()
            + ": " + describe(ar.cause()), null));
        return;
      }
      HttpClientRequest req = ar.result();
      if (finished) {
        req.reset();
        return;
      }
      request = req;
      req.response().onComplete(rr -> {
        if (rr.failed()) {
          conclude(Failure.transientFailure(ErrorCodes.UPSTREAM_ERROR, "the connection to provider "
              + route.provider() + " failed before a response: " + describe(rr.cause()), null));
        } else {
          onResponse(rr.result());
        }
      });
      req.end(body);
    });
  }

  /** Ends the attempt without calling the provider (e.g. the key's secret is missing on this worker). */
  public void failBeforeStart(Failure failure) {
    requestAt = clock.instant();
    conclude(failure);
  }

  /** Aborts the stream: one {@code cancelled} result. No-op once the attempt ended. */
  public void cancel() {
    if (finished) {
      return;
    }
    finished = true;
    abortTransfer();
    Instant end = clock.instant();
    if (requestAt == null) {
      requestAt = end;
    }
    Result r = result(JobStatus.CANCELLED, end,
        new JobError(ErrorCodes.CANCELLED, "cancelled by a record on the cancels topic", false));
    publishTerminal(() -> env.publisher().result(assignment.replyTo(), r), "cancelled", null, end);
  }

  /** Aborts the stream and publishes nothing: the assignment goes back to the share group. No-op once ended. */
  public void handBack(String why) {
    if (finished) {
      return;
    }
    finished = true;
    abortTransfer();
    if (requestAt == null) {
      requestAt = clock.instant();
    }
    LOG.info("job {} attempt {}: handed back ({})", assignment.job().jobId(), assignment.attempt(), why);
    released("handed_back", null);
    done.accept(Outcome.HAND_BACK);
  }

  private ObjectNode requestBody() {
    ObjectNode b = Json.mapper().createObjectNode();
    b.put("model", route.model());
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
    Map<String, String> headers = new TreeMap<>();
    resp.headers().forEach(e -> {
      String k = e.getKey().toLowerCase(Locale.ROOT);
      if (k.startsWith("x-ratelimit-") || k.startsWith("retry-after")) {
        headers.put(k, endpoint.redact(e.getValue()));
      }
    });
    retryAfterMs = RetryAfter.millis(headers, clock.instant());
    headers.keySet().removeIf(k -> k.startsWith("retry-after"));
    rateLimit = headers;
    int status = resp.statusCode();
    if (status != 200) {
      resp.exceptionHandler(e -> conclude(Failures.ofHttp(status, "")));
      resp.body().onComplete(b -> conclude(Failures.ofHttp(status,
          b.succeeded() ? truncate(b.result().toString()) : "")));
      return;
    }
    parser = new SseParser(this, env.maxLineBytes(), Math.max(env.maxLineBytes(), 4 * env.maxLineBytes()));
    lastActivityNanos = System.nanoTime();
    idleTimer = vertx.setTimer(idleTimeoutMs, this::checkIdle);
    resp.handler(buf -> {
      if (finished) {
        return;
      }
      lastActivityNanos = System.nanoTime();
      try {
        byte[] bytes = buf.getBytes();
        parser.feed(bytes, 0, bytes.length);
      } catch (RuntimeException e) {
        conclude(Failure.transientFailure(ErrorCodes.STREAM_INVALID, "invalid stream: " + e.getMessage(), 200));
      }
    });
    resp.exceptionHandler(e -> conclude(Failure.transientFailure(ErrorCodes.STREAM_CUT,
        "the stream broke off after " + seq + " chunks: " + describe(e), 200)));
    resp.endHandler(v -> onEnd());
  }

  private void checkIdle(long timerId) {
    if (finished) {
      return;
    }
    long quietMs = (System.nanoTime() - lastActivityNanos) / 1_000_000;
    if (quietMs >= idleTimeoutMs) {
      conclude(Failure.transientFailure(ErrorCodes.TIMEOUT, "the stream was idle for " + quietMs
          + " ms (idle timeout " + idleTimeoutMs + " ms) after " + seq + " chunks", 200));
    } else {
      idleTimer = vertx.setTimer(idleTimeoutMs - quietMs, this::checkIdle);
    }
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
    ChunkEvent e;
    try {
      e = ChunkEvent.parse(data);
    } catch (IOException ex) {
      conclude(Failure.transientFailure(ErrorCodes.STREAM_INVALID, "a stream event is not a JSON object: "
          + Failures.clip(data), 200));
      return;
    }
    if ("error".equals(type) || e.hasError) {
      conclude(Failures.ofStreamError(data));
      return;
    }
    if (e.model != null) {
      upstreamModel = e.model;
    }
    if (e.usage != null) {
      usage = e.usage;
    }
    if (e.finishReason != null) {
      finishReason = e.finishReason;
    }
    if (e.content != null && !e.content.isEmpty()) {
      onDelta(e.content);
    }
  }

  private void onDelta(String text) {
    if (firstTokenAt == null) {
      firstTokenAt = clock.instant();
      vertx.cancelTimer(firstTokenTimer);
      env.meters().timeToFirstToken(route, firstTokenAt.toEpochMilli() - requestAt.toEpochMilli());
    }
    content.append(text);
    if (env.coalesceMs() <= 0) {
      publishChunk(text);
      return;
    }
    pending.append(text);
    if (flushTimer < 0) {
      flushTimer = vertx.setTimer(env.coalesceMs(), id -> {
        flushTimer = -1;
        flush();
      });
    }
  }

  private void flush() {
    if (pending.length() > 0) {
      publishChunk(pending.toString());
      pending.setLength(0);
    }
  }

  private void publishChunk(String text) {
    env.meters().chunk();
    unackedChunks.incrementAndGet();
    env.publisher().chunk(assignment.replyTo(), assignment.job().jobId(), chunkEncoder.encode(seq++, text),
        (md, e) -> {
          if (e != null && chunkError == null) {
            chunkError = e;
            // a gap in the chunks: this attempt cannot succeed, so stop paying for its tokens now
            context.runOnContext(v -> handBack("a chunk could not be written to Kafka: " + e));
          }
          if (unackedChunks.decrementAndGet() == 0) {
            CompletableFuture<Void> drained = chunksDrained;
            if (drained != null) {
              drained.complete(null);
            }
          }
        });
  }

  private void onEnd() {
    if (finished) {
      return;
    }
    if (parser != null) {
      parser.end();
    }
    if (finished) {
      return;
    }
    if (!sawDone) {
      conclude(Failure.transientFailure(ErrorCodes.STREAM_CUT, "the stream ended without [DONE] after " + seq
          + " chunks", 200));
    } else if (finishReason == null) {
      conclude(Failure.transientFailure(ErrorCodes.STREAM_CUT, "the stream ended without a finish_reason after "
          + seq + " chunks", 200));
    } else {
      conclude(null);
    }
  }

  /** Ends the attempt: success when {@code failure} is null. */
  private void conclude(Failure failure) {
    if (finished) {
      return;
    }
    finished = true;
    if (failure == null) {
      stopTimers();
    } else {
      abortTransfer();
    }
    if (failure == null || failure.kind() != FailureClass.PERMANENT) {
      flush();
    }
    Instant end = clock.instant();
    if (failure == null) {
      env.meters().streamDuration(route, end.toEpochMilli() - requestAt.toEpochMilli());
      env.meters().tokens(route, usage);
      Result r = result(JobStatus.SUCCEEDED, end, null);
      publishTerminal(() -> env.publisher().result(assignment.replyTo(), r), "succeeded", null, end);
      return;
    }
    String message = endpoint == null ? failure.message() : endpoint.redact(failure.message());
    Failure f = new Failure(failure.kind(), failure.code(), message, failure.statusCode());
    env.meters().tokens(route, usage);
    JobError error = new JobError(f.code(), message, f.kind() != FailureClass.PERMANENT);
    if (f.goesToRetryTopic()) {
      LOG.debug("job {} attempt {}: {} failure {} - {}", assignment.job().jobId(), assignment.attempt(),
          f.kind().tag(), f.code(), message);
      Instant notBefore = retryAfterMs == null ? end : end.plusMillis(retryAfterMs);
      RetryRequest retry = new RetryRequest(assignment, assignment.attempt() + 1, notBefore, error);
      publishTerminal(() -> env.publisher().retry(retry), "retry", f, end);
    } else {
      LOG.info("job {} attempt {} failed: {} {}", assignment.job().jobId(), assignment.attempt(), f.code(), message);
      Result r = result(JobStatus.FAILED, end, error);
      publishTerminal(() -> env.publisher().result(assignment.replyTo(), r), "failed", f, end);
    }
  }

  private Result result(JobStatus status, Instant end, JobError error) {
    return new Result(assignment.job().jobId(), assignment.attempt(), status,
        status == JobStatus.SUCCEEDED ? content.toString() : null, finishReason, usage,
        upstreamModel != null ? upstreamModel : route.model(), route.name(), assignment.attempt(), timings(end),
        route.cost(usage), error, assignment.job().metadata());
  }

  /**
   * The terminal record goes after the last chunk (same partition, idempotent producer: order holds); once Kafka
   * acked it the assignment is done. A chunk that could not be written means a gap: hand the attempt back.
   */
  private void publishTerminal(Supplier<CompletableFuture<Void>> send, String outcome, Failure f, Instant end) {
    CompletableFuture<Void> drained = new CompletableFuture<>();
    chunksDrained = drained;
    if (unackedChunks.get() == 0) {
      drained.complete(null);
    }
    // the send itself runs on this call's event loop, never on the producer's I/O thread (a full buffer would block)
    drained.whenComplete((v0, e0) -> context.runOnContext(x -> {
      CompletableFuture<Void> sent = chunkError != null ? CompletableFuture.failedFuture(chunkError) : send.get();
      sent.whenComplete((v, e) -> context.runOnContext(y -> {
        if (e != null) {
          LOG.warn("job {} attempt {}: cannot publish its {} record, handing the assignment back: {}",
              assignment.job().jobId(), assignment.attempt(), outcome, e.toString());
          released("handed_back", f);
          done.accept(Outcome.HAND_BACK);
        } else {
          released(outcome, f);
          done.accept(Outcome.DONE);
        }
      }));
    }));
  }

  private void released(String outcome, Failure f) {
    env.meters().attempt(outcome, f == null ? "none" : f.kind().tag(), f == null
        ? ("cancelled".equals(outcome) ? ErrorCodes.CANCELLED : "none") : f.code(), route);
    env.publisher().event(new FleetEvent(FleetEvent.Type.LEASE_RELEASED, clock.instant(), env.workerId(),
        assignment.leaseId(), assignment.job().jobId(), assignment.keyId(), route.name(), outcome,
        f == null ? status() : f.statusCode(), f == null ? ("cancelled".equals(outcome) ? ErrorCodes.CANCELLED : null)
            : f.code(), usage, retryAfterMs, rateLimit,
        firstTokenAt == null ? null : firstTokenAt.toEpochMilli() - requestAt.toEpochMilli(), null, null))
        .whenComplete((v, e) -> {
          if (e != null) {
            LOG.warn("job {}: cannot publish lease_released: {}", assignment.job().jobId(), e.toString());
          }
        });
  }

  private Integer status() {
    return parser != null ? Integer.valueOf(200) : null;
  }

  private void abortTransfer() {
    stopTimers();
    if (request != null) {
      request.reset();
    }
  }

  private void stopTimers() {
    vertx.cancelTimer(firstTokenTimer);
    vertx.cancelTimer(totalTimer);
    vertx.cancelTimer(idleTimer);
    if (flushTimer >= 0) {
      vertx.cancelTimer(flushTimer);
      flushTimer = -1;
    }
  }

  private Timings timings(Instant end) {
    Instant enq = assignment.enqueuedAt() == null ? requestAt : assignment.enqueuedAt();
    return new Timings(Math.max(0, requestAt.toEpochMilli() - enq.toEpochMilli()),
        firstTokenAt == null ? null : firstTokenAt.toEpochMilli() - requestAt.toEpochMilli(),
        Math.max(0, end.toEpochMilli() - enq.toEpochMilli()));
  }

  private static String describe(Throwable t) {
    String m = t.getMessage();
    return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }

  private static String truncate(String s) {
    return s.length() <= MAX_ERROR_BODY ? s : s.substring(0, MAX_ERROR_BODY) + "...";
  }
}
