package io.promptfleet.worker.stream;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.Route;
import io.promptfleet.common.upstream.UnsupportedJobException;
import io.promptfleet.worker.stream.sse.SseListener;
import io.promptfleet.worker.stream.sse.SseParser;
import io.promptfleet.worker.stream.sse.Utf8;
import io.promptfleet.worker.upstream.ChunkEvent;
import io.promptfleet.worker.upstream.ConnectFailure;
import io.promptfleet.worker.upstream.ConnectFailures;
import io.promptfleet.common.upstream.EmbeddingsAnswer;
import io.promptfleet.worker.upstream.Failure;
import io.promptfleet.worker.upstream.FailureClass;
import io.promptfleet.worker.upstream.Failures;
import io.promptfleet.worker.upstream.ProviderEndpoint;
import io.promptfleet.worker.upstream.RateLimitHeaders;
import io.promptfleet.worker.upstream.StreamDecoder;
import io.promptfleet.worker.upstream.UpstreamProtocol;
import io.vertx.core.Context;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.apache.kafka.clients.producer.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One attempt of one job: send the job in its provider's protocol ({@link UpstreamProtocol}), decode the stream,
 * publish every delta as a chunk (an embeddings job has no stream: one JSON answer, read by
 * {@link EmbeddingsExchange}, no chunks), and end in exactly one of: a {@code succeeded} result; a retry request on
 * the retry topic
 * (transient and key-fatal failures: the dispatcher owns backoff, attempts and the deadline); a {@code failed}
 * result (the provider rejected the request); a {@code cancelled} result; or nothing at all when the attempt is
 * handed back to the share group (drain, or Kafka unreachable). Then a {@code lease_released} fleet event, then
 * {@code done} is told whether the assignment may be acknowledged (only once the terminal record is acked by
 * Kafka).
 *
 * <p>A coordinator: it owns the HTTP exchange, the order of events and the one decision that ends the attempt;
 * the provider's {@link UpstreamProtocol} builds the request and its {@link StreamDecoder} reads the events,
 * {@link AttemptTimers} owns the timeouts, {@link MessageAssembler}
 * accumulates the answer, {@link ChunkSink} publishes the chunks and counts their acks, {@link OutputValidator}
 * checks a strict structured output, {@link OutcomeRecords} builds the terminal record and the fleet event, and
 * {@link TerminalPublisher} sends them in order.
 *
 * <p>Not thread-safe: created on any thread, then driven on one Vert.x event loop (the context that runs
 * {@link #start()}); every callback, timer and SSE event runs there, and {@link #cancel()} and {@link #handBack}
 * must be called there too. Never blocks. An event loop interleaves many jobs, so log lines name the job, attempt
 * and lease in the message rather than in the logging context (MDC).
 */
public final class CompletionCall implements SseListener, StreamDecoder.Events {
  private static final Logger LOG = LoggerFactory.getLogger(CompletionCall.class);
  private static final int MAX_ERROR_BODY = 4_096;
  /** The largest JSON size of the logprobs entries a result keeps (each chunk carries its own in full). */
  static final long MAX_LOGPROBS_BYTES = 256 * 1024;
  /** The largest answer a non-streaming route may send. */
  private static final int MAX_PLAIN_BODY = 32 * 1024 * 1024;

  private final StreamEnv env;
  private final Clock clock;
  private final ProviderEndpoint endpoint;
  private final Assignment assignment;
  private final Route route;
  private final MessageAssembler answer = new MessageAssembler(MAX_LOGPROBS_BYTES);
  private final OutcomeRecords records;
  private final ChunkSink chunks;
  private final AttemptTimers timers;
  private final TerminalPublisher terminal;
  private final UpstreamProtocol protocol;
  /** An embeddings job: one request, one JSON answer, no chunks. */
  private final boolean embeddings;
  private StreamDecoder decoder;
  private SseParser parser;
  private HttpClientRequest request;
  private boolean finished;

  /**
   * @param context    the event-loop context that drives this call
   * @param endpoint   the provider and key; null when this worker has no secret for the key (then only
   *                   {@link #failBeforeStart} may be called)
   * @param assignment the assignment, its attempt already raised for redeliveries
   * @param done       told once, on the event loop, after the terminal record (if any) is acked or failed
   */
  public CompletionCall(StreamEnv env, Context context, ProviderEndpoint endpoint, Assignment assignment,
      Consumer<Outcome> done) {
    this.env = env;
    this.clock = env.clock();
    this.endpoint = endpoint;
    this.assignment = assignment;
    this.route = assignment.route();
    this.protocol = endpoint == null ? null : endpoint.protocol();
    this.embeddings = assignment.job().isEmbeddings();
    EventLoopTimer timer = EventLoopTimer.of(env.vertx());
    this.records = new OutcomeRecords(assignment, answer, clock,
        endpoint == null ? UnaryOperator.identity() : endpoint::redact);
    this.chunks = new ChunkSink(assignment.job().jobId(), assignment.attempt(), env.coalesceMs(),
        env.chunksInFlight(), task -> context.runOnContext(v -> task.run()), timer, this::publishChunk,
        e -> context.runOnContext(v -> handBack("a chunk could not be written to Kafka: " + e)));
    this.timers = new AttemptTimers(timer, System::nanoTime, endpoint == null ? null : endpoint.provider(),
        assignment.deadline(), chunks::published, this::conclude);
    this.terminal = new TerminalPublisher(env, context, assignment, records, chunks, done);
  }

  public Assignment assignment() {
    return assignment;
  }

  /** Starts the request; must run on {@code context}. */
  public void start() {
    if (finished) {
      return;
    }
    Instant now = clock.instant();
    records.started(now);
    Failure late = timers.start(now, route.streams() && !embeddings);
    if (late != null) {
      conclude(late);
      return;
    }
    Buffer body;
    RequestOptions options;
    try {
      options = embeddings ? protocol.embeddingsOptions(endpoint, assignment) : protocol.options(endpoint, assignment);
      body = Buffer.buffer(Json.bytes(embeddings ? protocol.embeddingsBody(assignment) : protocol.body(assignment)));
    } catch (UnsupportedJobException e) {
      conclude(new Failure(FailureClass.PERMANENT, ErrorCodes.UNSUPPORTED_BY_PROVIDER, e.getMessage(), null));
      return;
    }
    endpoint.http().request(options).onComplete(ar -> {
      if (ar.failed()) {
        conclude(connectFailure(ar.cause()));
        return;
      }
      HttpClientRequest req = ar.result();
      if (finished) {
        req.reset();
        return;
      }
      request = req;
      records.sent(clock.instant());
      timers.sent();
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

  /** A request that got no connection: the provider's failure, or (retried, not blamed on it) the worker's load. */
  private Failure connectFailure(Throwable cause) {
    if (cause instanceof ConnectFailure f && f.local()) {
      return Failure.transientFailure(ErrorCodes.CONNECT_OVERLOADED, "this worker could not get a connection to "
          + "provider " + route.provider() + " in time under its own load (" + ConnectFailures.describe(f.error())
          + "): retried; the provider is not blamed", null);
    }
    Throwable error = cause instanceof ConnectFailure f ? f.error() : cause;
    return Failure.transientFailure(ErrorCodes.CONNECT_FAILED, ConnectFailures.message(route.provider(), error),
        null);
  }

  /** Ends the attempt without calling the provider (e.g. the key's secret is missing on this worker). */
  public void failBeforeStart(Failure failure) {
    records.started(clock.instant());
    conclude(failure);
  }

  /** Aborts the stream: one {@code cancelled} result. No-op once the attempt ended. */
  public void cancel() {
    if (finished) {
      return;
    }
    finished = true;
    abortTransfer(false);
    Instant end = clock.instant();
    records.started(end);
    terminal.publish(records.cancelled(end));
  }

  /** Aborts the stream and publishes nothing: the assignment goes back to the share group. No-op once ended. */
  public void handBack(String why) {
    if (finished) {
      return;
    }
    finished = true;
    abortTransfer(false);
    records.started(clock.instant());
    LOG.info("job {} attempt {} lease {}: handed back ({})", assignment.job().jobId(), assignment.attempt(),
        assignment.leaseId(), why);
    terminal.handBack();
  }

  private void onResponse(HttpClientResponse resp) {
    if (finished) {
      resp.request().reset();
      return;
    }
    records.headers(RateLimitHeaders.of(resp.headers(), endpoint::redact, clock.instant()));
    int status = resp.statusCode();
    if (status != 200) {
      resp.exceptionHandler(e -> conclude(protocol.httpFailure(status, "")));
      resp.body().onComplete(b -> conclude(protocol.httpFailure(status,
          b.succeeded() ? truncate(b.result().toString()) : "")));
      return;
    }
    records.answering();
    timers.answering();
    if (embeddings) {
      readEmbeddings(resp);
      return;
    }
    if (!route.streams()) {
      readPlainAnswer(resp);
      return;
    }
    decoder = protocol.streamDecoder();
    parser = new SseParser(this, env.maxLineBytes(), Math.max(env.maxLineBytes(), 4 * env.maxLineBytes()));
    resp.handler(buf -> {
      if (finished) {
        return;
      }
      timers.activity();
      try {
        byte[] bytes = buf.getBytes();
        parser.feed(bytes, 0, bytes.length);
      } catch (RuntimeException e) {
        conclude(Failure.transientFailure(ErrorCodes.STREAM_INVALID, "invalid stream: " + e.getMessage(), 200));
      }
    });
    resp.exceptionHandler(e -> conclude(Failure.transientFailure(ErrorCodes.STREAM_CUT,
        "the stream broke off after " + chunks.published() + " chunks: " + describe(e), 200)));
    resp.endHandler(v -> onEnd());
  }

  /** A non-streaming route: the whole {@code chat.completion} body, read with the idle and total timeouts. */
  private void readPlainAnswer(HttpClientResponse resp) {
    Buffer body = Buffer.buffer();
    resp.handler(buf -> {
      if (finished) {
        return;
      }
      timers.activity();
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
      String data = body.toString(StandardCharsets.UTF_8);
      ChunkEvent e;
      try {
        e = protocol.plainAnswer(data);
      } catch (IOException ex) {
        conclude(Failure.transientFailure(ErrorCodes.STREAM_INVALID, "the answer is not a valid answer object ("
            + ex.getMessage() + "): " + Failures.clip(data), 200));
        return;
      }
      if (e.hasError()) {
        conclude(protocol.answerFailure(data));
        return;
      }
      answer.meta(e);
      if (answer.finishReason() == null) {
        conclude(Failure.transientFailure(ErrorCodes.STREAM_CUT, "the answer has no finish_reason", 200));
        return;
      }
      records.delta(e.content() != null && !e.content().isEmpty());
      env.meters().timeToFirstToken(route, records.timeToFirstDeltaMs());
      answer.add(e);
      chunks.whole(e);
      finishAnswer();
    });
  }

  /** An embeddings job: one JSON answer, no chunks ({@link EmbeddingsExchange}). */
  private void readEmbeddings(HttpClientResponse resp) {
    new EmbeddingsExchange(protocol, EmbeddingsAnswer.expectedVectors(assignment.job().input()), env.maxResultBytes(),
        timers::activity, () -> finished, new EmbeddingsExchange.Listener() {
          @Override
          public void answered(EmbeddingsAnswer a) {
            records.embeddings(a);
            conclude(null);
          }

          @Override
          public void failure(Failure f) {
            conclude(f);
          }
        }).read(resp);
  }

  @Override
  public void onEvent(String type, String data, String lastEventId) {
    if (!finished) {
      decoder.decode(type, data, this);
    }
  }

  /** The parser's event as bytes: well-formed UTF-8 goes to the decoder as it is (the per-token path). */
  @Override
  public void onEvent(String type, byte[] data, int offset, int length, String lastEventId) {
    if (finished) {
      return;
    }
    decode(decoder, type, data, offset, length, this);
  }

  /**
   * An event's data to its decoder: well-formed UTF-8 as the bytes they are, parsed without a {@code String} of the
   * whole event (the per-token path); anything else decoded first as the SSE specification says (invalid UTF-8
   * becomes U+FFFD), as the text it then is.
   */
  static void decode(StreamDecoder decoder, String type, byte[] data, int offset, int length,
      StreamDecoder.Events out) {
    if (Utf8.isWellFormed(data, offset, length)) {
      decoder.decode(type, data, offset, length, out);
    } else {
      decoder.decode(type, Utf8.decode(data, offset, length), out);
    }
  }

  /** A failure the stream reported (an error event, or an event its protocol does not send). */
  @Override
  public void failure(Failure f) {
    conclude(f);
  }

  /** What one decoded event says about the answer. */
  @Override
  public void event(ChunkEvent e) {
    if (finished) {
      return;
    }
    answer.meta(e);
    if (e.hasDelta()) {
      // any delta ends the first-token wait (reasoning, tool call, refusal, text): a model that thinks is not cut
      if (records.delta(e.content() != null && !e.content().isEmpty())) {
        timers.firstDelta();
        env.meters().timeToFirstToken(route, records.timeToFirstDeltaMs());
      }
      answer.add(e);
      chunks.delta(e);
    } else if (e.logprobs() != null) {
      answer.add(e);
    }
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
    if (!decoder.complete()) {
      conclude(Failure.transientFailure(ErrorCodes.STREAM_CUT, "the stream ended before the provider said it was "
          + "complete, after " + chunks.published() + " chunks", 200));
    } else if (answer.finishReason() == null) {
      conclude(Failure.transientFailure(ErrorCodes.STREAM_CUT, "the stream ended without a finish_reason after "
          + chunks.published() + " chunks", 200));
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
    env.vertx().<Optional<String>>executeBlocking(() -> OutputValidator.problems(schema.get(), text), false)
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

  /**
   * Ends the attempt: success when {@code failure} is null. Coalesced text still goes out before the terminal
   * record, unless the provider rejected the request (a permanent failure).
   */
  private void conclude(Failure failure) {
    if (finished) {
      return;
    }
    finished = true;
    if (failure == null) {
      timers.stop();
      chunks.close(true);
    } else {
      abortTransfer(failure.kind() != FailureClass.PERMANENT);
    }
    Instant end = clock.instant();
    env.meters().tokens(route, records.usage());
    if (failure == null) {
      env.meters().streamDuration(route, records.elapsedMs(end));
      terminal.publish(records.succeeded(end));
      return;
    }
    OutcomeRecords.Terminal t = records.failed(failure, end);
    Failure f = t.failure();
    if (t.retry() != null) {
      LOG.debug("job {} attempt {} lease {}: {} failure {} - {}", assignment.job().jobId(), assignment.attempt(),
          assignment.leaseId(), f.kind().tag(), f.code(), f.message());
    } else {
      LOG.info("job {} attempt {} lease {} failed: {} {}", assignment.job().jobId(), assignment.attempt(),
          assignment.leaseId(), f.code(), f.message());
    }
    terminal.publish(t);
  }

  /** One chunk record to the reply topic, keyed by job id; runs once per chunk. */
  private void publishChunk(byte[] json, Callback acked) {
    env.meters().chunk();
    env.publisher().chunk(assignment.replyTo(), assignment.job().jobId(), json, acked);
  }

  /** Stops the timers and the coalescing (publishing what it holds when {@code publishPending}), resets the request. */
  private void abortTransfer(boolean publishPending) {
    timers.stop();
    chunks.close(publishPending);
    if (request != null) {
      request.reset();
    }
  }

  private static String describe(Throwable t) {
    return ConnectFailures.describe(t);
  }

  private static String truncate(String s) {
    return s.length() <= MAX_ERROR_BODY ? s : s.substring(0, MAX_ERROR_BODY) + "...";
  }
}
