package io.promptfleet.bench.worker;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerResponse;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An OpenAI-style SSE upstream paced by timers whose every content delta is the time it was sent, in epoch
 * microseconds: a reader of the reply topic computes the latency the worker added to each chunk. Thread-safe.
 */
final class PacedUpstream {
  private final AtomicInteger open = new AtomicInteger();
  private final int tokens;
  private final double tokensPerSecond;

  PacedUpstream(int tokens, double tokensPerSecond) {
    this.tokens = tokens;
    this.tokensPerSecond = tokensPerSecond;
  }

  int openStreams() {
    return open.get();
  }

  Future<HttpServer> start(Vertx vertx, int port) {
    return vertx.createHttpServer(new HttpServerOptions().setTcpNoDelay(true)).requestHandler(req ->
        req.body().onSuccess(b -> stream(vertx, req.response()))).listen(port, "127.0.0.1");
  }

  static long nowMicros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
  }

  private void stream(Vertx vertx, HttpServerResponse resp) {
    resp.setChunked(true).putHeader("content-type", "text/event-stream");
    resp.write("data: {\"model\":\"paced\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n");
    open.incrementAndGet();
    long period = Math.max(1, Math.round(1000 / tokensPerSecond));
    int[] sent = {0};
    long timer = vertx.setPeriodic(period, id -> {
      if (resp.closed()) {
        vertx.cancelTimer(id);
        return;
      }
      resp.write("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + nowMicros() + "\"}}]}\n\n");
      if (++sent[0] >= tokens) {
        vertx.cancelTimer(id);
        resp.end("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
            + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":" + tokens
            + ",\"total_tokens\":" + (tokens + 1) + "}}\n\ndata: [DONE]\n\n");
      }
    });
    resp.closeHandler(v -> vertx.cancelTimer(timer));
    resp.endHandler(v -> open.decrementAndGet());
  }
}
