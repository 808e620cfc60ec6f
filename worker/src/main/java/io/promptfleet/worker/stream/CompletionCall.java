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
import io.promptfleet.common.job.RetryRequest;
import io.promptfleet.common.job.Route;
import io.promptfleet.common.job.Timings;
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
import java.util.Optional;
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
  /** The largest JSON size of the logprobs entries a result keeps (each chunk carries its own in full). */
  static final long MAX_LOGPROBS_BYTES = 256 * 1024;
  /** The largest answer a non-streaming route may send. */
  private static final int MAX_PLAIN_BODY = 32 * 1024 * 1024;

  /** The kinds of text delta; consecutive deltas of one kind may be coalesced into one chunk. */
  private enum TextKind { CONTENT, REASONING, REFUSAL }

  private final StreamEnv env;
  private final Vertx vertx;
  private final Clock clock;
  private final ProviderEndpoint endpoint;
  private final Assignment assignment;
  private final Route route;
  private final Consumer<Outcome> done;
  private final Context context;
  private final MessageAssembler answer = new MessageAssembler(MAX_LOGPROBS_BYTES);
  private final StringBuilder pending = new StringBuilder();
  private TextKind pendingKind;
  private final ChunkEncoder chunkEncoder;
  private SseParser parser;
  private HttpClientRequest request;
  private long seq;
  private boolean sawDone;
  private boolean answering;
  private boolean finished;
  private Instant requestAt;
  private Instant firstTokenAt;
  private Instant firstContentAt;
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
    if (route.streams()) {
      // any delta ends the wait (reasoning, tool call, refusal, text): a model that thinks is not cut
      firstTokenTimer = vertx.setTimer(p.firstTokenTimeoutMs(), id -> conclude(Failure.transientFailure(
          ErrorCodes.TIMEOUT, "no first delta within " + p.firstTokenTimeoutMs() + " ms", status())));
    }
    idleTimeoutMs = p.idleTimeoutMs();
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setAbsoluteURI(endpoint.chatCompletionsUrl())
        .setConnectTimeout(p.connectTimeoutMs())
        .putHeader("authorization", endpoint.authorization())
        .putHeader("content-type", "application/json")
        .putHeader("accept", route.streams() ? "text/event-stream" : "application/json")
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

  /**
   * The job's request as the provider gets it: the route's model, the messages and every field the job passed
   * through, as given; a job that set no completion limit gets the route's default in the route's field. A streaming route adds {@code stream: true} and {@code stream_options.include_usage} (other
   * stream options of the job kept); a non-streaming route sends neither, since a plain answer has no stream to
   * describe.
   */
  ObjectNode requestBody() {
    ObjectNode b = Json.mapper().createObjectNode();
    b.put("model", route.model());
    b.set("messages", Json.mapper().valueToTree(assignment.job().messages()));
    assignment.job().params().forEach(b::set);
    if (!assignment.job().setsTokenLimit()) {
      if (assignment.job().maxTokens() != null) {
        b.put("max_tokens", assignment.job().maxTokens()); // written by a dispatcher that predates params limits
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
    answering = true;
    lastActivityNanos = System.nanoTime();
    idleTimer = vertx.setTimer(idleTimeoutMs, this::checkIdle);
    if (!route.streams()) {
      readPlainAnswer(resp);
      return;
    }
    parser = new SseParser(this, env.maxLineBytes(), Math.max(env.maxLineBytes(), 4 * env.maxLineBytes()));
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

  /** A non-streaming route: the whole {@code chat.completion} body, read with the idle and total timeouts. */
  private void readPlainAnswer(HttpClientResponse resp) {
    Buffer body = Buffer.buffer();
    resp.handler(buf -> {
      if (finished) {
        return;
      }
      lastActivityNanos = System.nanoTime();
      if (body.length() + buf.length() > MAX_PLAIN_BODY) {
        conclude(Failure.transientFailure(ErrorCodes.STREAM_INVALID, "the answer is larger than " + MAX_PLAIN_BODY
            + " bytes", 200));
        return;
      }
      body.appendBuffer(buf);
    });
    resp.exceptionHandler(e -> conclude(Failure.transientFailure(ErrorCodes.STREAM_CUT,
        "the answer broke off after " + body.length() + " bytes: " + describe(e), 200)));
    resp.endHandler(v -> {
      if (finished) {
        return;
      }
      String data = body.toString(java.nio.charset.StandardCharsets.UTF_8);
      ChunkEvent e = read(data, "the answer");
      if (e == null) {
        return;
      }
      if (e.hasError) {
        conclude(Failures.ofStreamError(data));
        return;
      }
      answer.meta(e);
      if (answer.finishReason() == null) {
        conclude(Failure.transientFailure(ErrorCodes.STREAM_CUT, "the answer has no finish_reason", 200));
        return;
      }
      firstTokenAt = clock.instant();
      env.meters().timeToFirstToken(route, firstTokenAt.toEpochMilli() - requestAt.toEpochMilli());
      if (e.content != null && !e.content.isEmpty()) {
        firstContentAt = firstTokenAt;
      }
      answer.add(e);
      // the whole answer as one chunk, every kind in it
      sendChunk(Json.bytes(new Chunk(assignment.job().jobId(), assignment.attempt(), seq++,
          e.content == null ? "" : e.content, null, e.reasoning, e.refusal, e.toolCalls, e.functionCall, e.extra,
          e.logprobs)));
      finishAnswer();
    });
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
    ChunkEvent e = read(data, "a stream event");
    if (e == null) {
      return;
    }
    if ("error".equals(type) || e.hasError) {
      conclude(Failures.ofStreamError(data));
      return;
    }
    answer.meta(e);
    if (e.hasDelta()) {
      onDelta(e);
    } else if (e.logprobs != null) {
      answer.add(e);
    }
  }

  /** The event in {@code data}, or null when it is not a JSON object (the attempt then ends as an invalid stream). */
  private ChunkEvent read(String data, String what) {
    try {
      return ChunkEvent.parse(data);
    } catch (IOException ex) {
      conclude(Failure.transientFailure(ErrorCodes.STREAM_INVALID, what + " is not a JSON object: "
          + Failures.clip(data), 200));
      return null;
    }
  }

  /** One streamed event with a delta: each kind it carries becomes a chunk, in a fixed order. */
  private void onDelta(ChunkEvent e) {
    boolean text = e.content != null && !e.content.isEmpty();
    if (firstTokenAt == null) {
      firstTokenAt = clock.instant();
      vertx.cancelTimer(firstTokenTimer);
      env.meters().timeToFirstToken(route, firstTokenAt.toEpochMilli() - requestAt.toEpochMilli());
    }
    if (text && firstContentAt == null) {
      firstContentAt = clock.instant();
    }
    answer.add(e);
    if (!e.hasOtherDelta()) {
      text(TextKind.CONTENT, e.content, e.logprobs); // the per-token path of a plain answer
      return;
    }
    boolean refusalText = e.refusal != null && !e.refusal.isEmpty();
    if (e.reasoning != null && !e.reasoning.isEmpty()) {
      text(TextKind.REASONING, e.reasoning, null);
    }
    if (refusalText) {
      text(TextKind.REFUSAL, e.refusal, text ? null : e.logprobs);
    }
    if (text) {
      text(TextKind.CONTENT, e.content, e.logprobs);
    }
    if (e.toolCalls != null || e.functionCall != null || e.extra != null) {
      flush();
      sendChunk(Json.bytes(new Chunk(assignment.job().jobId(), assignment.attempt(), seq++, "", null, null, null,
          e.toolCalls, e.functionCall, e.extra, null)));
    }
  }

  /** A text delta: published at once, or coalesced with the deltas of the same kind that follow within the window. */
  private void text(TextKind kind, String delta, JsonNode logprobs) {
    if (env.coalesceMs() <= 0 || logprobs != null) {
      flush();
      publishText(kind, delta, logprobs);
      return;
    }
    if (pendingKind != kind) {
      flush();
      pendingKind = kind;
    }
    pending.append(delta);
    if (flushTimer < 0) {
      flushTimer = vertx.setTimer(env.coalesceMs(), id -> {
        flushTimer = -1;
        flush();
      });
    }
  }

  private void flush() {
    if (pending.length() > 0) {
      publishText(pendingKind, pending.toString(), null);
      pending.setLength(0);
    }
  }

  private void publishText(TextKind kind, String text, JsonNode logprobs) {
    if (kind == TextKind.CONTENT && logprobs == null) {
      sendChunk(chunkEncoder.encode(seq++, text));
      return;
    }
    String jobId = assignment.job().jobId();
    sendChunk(Json.bytes(new Chunk(jobId, assignment.attempt(), seq++, kind == TextKind.CONTENT ? text : "", null,
        kind == TextKind.REASONING ? text : null, kind == TextKind.REFUSAL ? text : null, null, null, null,
        logprobs)));
  }

  private void sendChunk(byte[] record) {
    env.meters().chunk();
    unackedChunks.incrementAndGet();
    env.publisher().chunk(assignment.replyTo(), assignment.job().jobId(), record,
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
    } else if (answer.finishReason() == null) {
      conclude(Failure.transientFailure(ErrorCodes.STREAM_CUT, "the stream ended without a finish_reason after "
          + seq + " chunks", 200));
    } else {
      finishAnswer();
    }
  }

  /**
   * A complete answer: it succeeds, unless the route validates strict structured outputs and this one does not
   * match its schema. Then it is retried once (through the dispatcher, as {@code invalid_output}) and fails the
   * second time.
   */
  private void finishAnswer() {
    Optional<JsonNode> schema = route.validatesOutput() && !answer.refused() && !answer.calledTools()
        ? OutputValidator.strictSchema(assignment.job().params()) : Optional.empty();
    if (schema.isEmpty()) {
      conclude(null);
      return;
    }
    String text = answer.text();
    vertx.<Optional<String>>executeBlocking(() -> OutputValidator.problems(schema.get(), text), false)
        .onComplete(ar -> {
          Optional<String> problem = ar.succeeded() ? ar.result() : Optional.of("validation failed: " + ar.cause());
          if (problem.isEmpty()) {
            conclude(null);
          } else {
            boolean again = assignment.lastError() != null
                && ErrorCodes.INVALID_OUTPUT.equals(assignment.lastError().code());
            conclude(new Failure(again ? FailureClass.PERMANENT : FailureClass.TRANSIENT, ErrorCodes.INVALID_OUTPUT,
                problem.get() + (again ? " (the retry's answer did not match either)" : ""), 200));
          }
        });
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
      env.meters().tokens(route, answer.usage());
      Result r = result(JobStatus.SUCCEEDED, end, null);
      publishTerminal(() -> env.publisher().result(assignment.replyTo(), r), "succeeded", null, end);
      return;
    }
    String message = endpoint == null ? failure.message() : endpoint.redact(failure.message());
    Failure f = new Failure(failure.kind(), failure.code(), message, failure.statusCode());
    env.meters().tokens(route, answer.usage());
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
    boolean ok = status == JobStatus.SUCCEEDED;
    return new Result(assignment.job().jobId(), assignment.attempt(), status, ok ? answer.text() : null,
        answer.finishReason(), answer.usage(), answer.model() != null ? answer.model() : route.model(),
        route.name(), assignment.attempt(), timings(end), route.cost(answer.usage()), error,
        assignment.job().metadata(),
        ok ? answer.message() : null, ok ? answer.logprobs() : null, ok && answer.logprobsTruncated() ? true : null,
        answer.systemFingerprint(), answer.serviceTier(), answer.completionId());
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
            : f.code(), answer.usage(), retryAfterMs, rateLimit,
        firstTokenAt == null ? null : firstTokenAt.toEpochMilli() - requestAt.toEpochMilli(), null, null))
        .whenComplete((v, e) -> {
          if (e != null) {
            LOG.warn("job {}: cannot publish lease_released: {}", assignment.job().jobId(), e.toString());
          }
        });
  }

  private Integer status() {
    return answering ? Integer.valueOf(200) : null;
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
        Math.max(0, end.toEpochMilli() - enq.toEpochMilli()),
        firstContentAt == null ? null : firstContentAt.toEpochMilli() - requestAt.toEpochMilli());
  }

  private static String describe(Throwable t) {
    String m = t.getMessage();
    return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }

  private static String truncate(String s) {
    return s.length() <= MAX_ERROR_BODY ? s : s.substring(0, MAX_ERROR_BODY) + "...";
  }
}
