package io.promptfleet.simulator.internal;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import java.util.Arrays;

/**
 * Writes one successful-status (200) completion response, streamed or not, paced by timers and shaped by
 * its {@link ResponsePlan} (cut, stall, error event, ...). What the response says is its {@link Answer};
 * how each event looks is its protocol's {@link AnswerEncoder} ({@link ChunkEncoder} for chat completions,
 * {@link MessagesEncoder} for Anthropic's Messages, {@link ResponsesEncoder} for the Responses API): this class is
 * the transport.
 *
 * <p>Not thread-safe: created and driven on the event loop of the request's connection; its timers fire
 * on that same event loop. It never blocks: waiting is {@link Vertx#setTimer}.
 */
final class CompletionExchange {

  private static final String EVENT_STREAM = "text/event-stream";
  private static final String APPLICATION_JSON = "application/json";

  private final Vertx vertx;
  private final HttpServerRequest request;
  private final HttpServerResponse response;
  private final StatsRecorder stats;
  private final StatsRecorder.Lease lease;
  private final ResponsePlan plan;
  private final Answer answer;
  private final AnswerEncoder encoder;

  private long startNanos;
  private int sent;
  private int stopAt;
  private int badJsonAt;
  private long timerId = -1;
  private boolean closed;
  private boolean streamOpen;

  CompletionExchange(Vertx vertx, HttpServerRequest request, StatsRecorder stats, StatsRecorder.Lease lease,
      ResponsePlan plan, Answer answer, AnswerEncoder encoder) {
    this.vertx = vertx;
    this.request = request;
    this.response = request.response();
    this.stats = stats;
    this.lease = lease;
    this.plan = plan;
    this.answer = answer;
    this.encoder = encoder;
    response.closeHandler(v -> onConnectionClosed()); // replaces the caller's; the end handler stays
  }

  // ------------------------------------------------------------------ streaming

  /** Sends the headers and the role chunk now, then the answer chunks as they fall due. */
  void startStream() {
    int count = answer.size();
    stopAt = switch (plan.ending()) {
      case CUT, STALL, ERROR_EVENT -> Math.min(plan.endingFault().after(), count);
      case GIANT_LINE -> 0;
      default -> count;
    };
    badJsonAt = plan.badJsonAfter() < 0 ? -1 : Math.min(plan.badJsonAfter(), count);
    response.setStatusCode(200).setChunked(true)
        .putHeader(HttpHeaders.CONTENT_TYPE, EVENT_STREAM)
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache");
    if (plan.ending() == ResponsePlan.Ending.ERROR_EVENT && !http2(request)) {
      // announced, so that a client does not reuse the connection the server is about to close (HTTP/2 forbids the
      // header, and there only the stream ends)
      response.putHeader(HttpHeaders.CONNECTION, "close");
    }
    stats.streamOpened();
    streamOpen = true;
    startNanos = System.nanoTime();
    StringBuilder out = encoder.opening(new StringBuilder(256), answer);
    if (plan.ending() == ResponsePlan.Ending.GIANT_LINE) {
      response.write(Buffer.buffer(out.toString()));
      writeThenClose(giantLine(plan.endingFault().bytes()));
      return;
    }
    if (badJsonAt == 0) {
      encoder.badJson(out);
    }
    pump(out);
  }

  /** Appends every answer chunk that is due, then either ends the stream or waits for the next one. */
  private void pump(StringBuilder out) {
    long elapsed = System.nanoTime() - startNanos;
    while (sent < stopAt) {
      long due = plan.dueNanos(sent);
      if (due > elapsed) {
        flush(out);
        long delayMs = Math.max(1, (due - elapsed + 999_999) / 1_000_000);
        timerId = vertx.setTimer(delayMs, id -> {
          timerId = -1;
          if (!closed) {
            pump(new StringBuilder(256));
          }
        });
        return;
      }
      encoder.step(out, answer, sent);
      sent++;
      if (sent == badJsonAt) {
        encoder.badJson(out);
      }
      if (plan.keepaliveEvery() > 0 && sent % plan.keepaliveEvery() == 0) {
        encoder.keepalive(out);
      }
    }
    endStream(out);
  }

  private void endStream(StringBuilder out) {
    switch (plan.ending()) {
      case CUT -> {
        closeStream(false);
        writeThenClose(out.length() == 0 ? null : Buffer.buffer(out.toString()));
      }
      case STALL -> flush(out); // silence; the close handler cleans up when the client gives up
      case ERROR_EVENT -> {
        // The response ends properly, so a client must recognise the event itself; then the connection closes.
        encoder.error(out, plan.endingFault().form());
        closeStream(false);
        response.end(Buffer.buffer(out.toString())).onComplete(ar -> {
          if (!http2(request)) {
            request.connection().close();
          }
        });
      }
      default -> {
        encoder.end(out, answer, plan.ending() != ResponsePlan.Ending.NO_DONE);
        closeStream(true);
        response.end(Buffer.buffer(out.toString()));
      }
    }
  }

  private void flush(StringBuilder out) {
    if (out.length() > 0) {
      response.write(Buffer.buffer(out.toString()));
      out.setLength(0);
    }
  }

  private void closeStream(boolean completed) {
    if (streamOpen) {
      streamOpen = false;
      stats.streamClosed(completed);
    }
  }

  // ------------------------------------------------------------------ non-streaming

  /** Waits as long as generating the whole answer would take, then sends it (or its fault). */
  void startNonStream() {
    if (plan.ending() == ResponsePlan.Ending.STALL) {
      return; // no header ever; the close handler cleans up when the client gives up
    }
    long dueNanos = plan.dueNanos(Math.max(0, answer.size() - 1));
    long delayMs = (dueNanos + 999_999) / 1_000_000;
    if (delayMs == 0) {
      sendNonStream();
    } else {
      timerId = vertx.setTimer(delayMs, id -> {
        timerId = -1;
        if (!closed) {
          sendNonStream();
        }
      });
    }
  }

  private void sendNonStream() {
    response.putHeader(HttpHeaders.CONTENT_TYPE, APPLICATION_JSON);
    switch (plan.ending()) {
      case ERROR_EVENT -> response.setStatusCode(500).end(encoder.serverError());
      case CUT -> {
        Buffer body = Buffer.buffer(encoder.completion(answer));
        response.setStatusCode(200).putHeader(HttpHeaders.CONTENT_LENGTH, Integer.toString(body.length()));
        writeThenClose(body.getBuffer(0, body.length() / 2));
      }
      case GIANT_LINE -> {
        response.setStatusCode(200).setChunked(true);
        writeThenClose(giantLine(plan.endingFault().bytes()));
      }
      default -> response.setStatusCode(200).end(encoder.completion(answer));
    }
  }

  // ------------------------------------------------------------------ shared

  /** Writes {@code last} (if any), then breaks the exchange off without ending the response ({@link #drop}). */
  private void writeThenClose(Buffer last) {
    if (last == null) {
      drop(request);
    } else {
      response.write(last).onComplete(ar -> drop(request));
    }
  }

  /**
   * Breaks an exchange off, as a failing server would: closes an HTTP/1.1 connection; over HTTP/2 resets only the
   * request's stream ({@code RST_STREAM}), since the connection carries other clients' streams.
   */
  static void drop(HttpServerRequest request) {
    if (http2(request)) {
      request.response().reset();
    } else {
      request.connection().close();
    }
  }

  static boolean http2(HttpServerRequest request) {
    return request.version() == HttpVersion.HTTP_2;
  }

  private void onConnectionClosed() {
    closed = true;
    if (timerId >= 0) {
      vertx.cancelTimer(timerId);
      timerId = -1;
    }
    closeStream(false);
    lease.release();
  }

  private static Buffer giantLine(int bytes) {
    byte[] xs = new byte[bytes];
    Arrays.fill(xs, (byte) 'x');
    return Buffer.buffer(xs);
  }
}
