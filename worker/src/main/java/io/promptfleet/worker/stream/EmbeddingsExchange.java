package io.promptfleet.worker.stream;

import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.upstream.EmbeddingsAnswer;
import io.promptfleet.worker.upstream.Failure;
import io.promptfleet.worker.upstream.FailureClass;
import io.promptfleet.worker.upstream.Failures;
import io.promptfleet.worker.upstream.UpstreamProtocol;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;

/**
 * The 200 answer of an embeddings attempt: one JSON body (never streamed, so no chunks), read up to a bound and
 * checked to hold one vector per input. A body larger than the bound cannot become one reply record: the attempt
 * fails permanently with {@code result_too_large} naming both sizes, and the rest of the body is not read (never
 * a silent cut). The exact size of the result record is checked again when it is published ({@link
 * TerminalPublisher}).
 *
 * <p>Not thread-safe: confined to the attempt's event loop, where the response's handlers run and {@code listener}
 * is told, at most once, unless {@code finished} says the attempt already ended.
 */
final class EmbeddingsExchange {
  /**
   * What an answer body may hold beyond the result's vectors: its envelope and each entry's {@code "object":
   * "embedding"} (2,048 inputs &times; 28 bytes). The result leaves them out, so a body up to the result bound plus
   * this may still fit.
   */
  static final int ENVELOPE_BYTES = 64 * 1024;

  /** How the exchange ends. */
  interface Listener {
    void answered(EmbeddingsAnswer answer);

    void failure(Failure failure);
  }

  private final UpstreamProtocol protocol;
  private final int expectedVectors;
  private final long maxBodyBytes;
  private final long maxResultBytes;
  private final Runnable activity;
  private final BooleanSupplier finished;
  private final Listener listener;

  /**
   * @param expectedVectors how many inputs the job has
   * @param maxResultBytes  the largest reply record (the worker producer's bound)
   * @param activity        told at each read (the idle timer)
   * @param finished        whether the attempt already ended (then nothing more is read or told)
   */
  EmbeddingsExchange(UpstreamProtocol protocol, int expectedVectors, long maxResultBytes, Runnable activity,
      BooleanSupplier finished, Listener listener) {
    this.protocol = protocol;
    this.expectedVectors = expectedVectors;
    this.maxResultBytes = maxResultBytes;
    this.maxBodyBytes = maxResultBytes + ENVELOPE_BYTES;
    this.activity = activity;
    this.finished = finished;
    this.listener = listener;
  }

  /** Reads the body of a 200 response. */
  void read(HttpClientResponse resp) {
    Buffer body = Buffer.buffer();
    resp.handler(buf -> {
      if (finished.getAsBoolean()) {
        return;
      }
      activity.run();
      if (body.length() + buf.length() > maxBodyBytes) {
        listener.failure(tooLarge(body.length() + buf.length()));
        return;
      }
      body.appendBuffer(buf);
    });
    resp.exceptionHandler(e -> listener.failure(Failure.transientFailure(ErrorCodes.STREAM_CUT,
        "the embeddings answer broke off after " + body.length() + " bytes: " + e, 200)));
    resp.endHandler(v -> {
      if (!finished.getAsBoolean()) {
        body(body.toString(StandardCharsets.UTF_8));
      }
    });
  }

  /** What a whole body means: the answer, or why it is not one. */
  void body(String data) {
    EmbeddingsAnswer answer;
    try {
      answer = protocol.embeddingsAnswer(data);
    } catch (IOException e) {
      // only a body that is no answer is read again, for an error object
      listener.failure(EmbeddingsAnswer.isError(data) ? Failures.ofStreamError(data)
          : Failure.transientFailure(ErrorCodes.STREAM_INVALID, "the answer is not an embeddings list ("
              + e.getMessage() + "): " + Failures.clip(data), 200));
      return;
    }
    if (answer.data().size() != expectedVectors) {
      listener.failure(Failure.transientFailure(ErrorCodes.STREAM_INVALID, "the answer has "
          + answer.data().size() + " vectors for " + expectedVectors + " inputs", 200));
      return;
    }
    listener.answered(answer);
  }

  private Failure tooLarge(long atLeast) {
    return new Failure(FailureClass.PERMANENT, ErrorCodes.RESULT_TOO_LARGE, "the embeddings answer is larger than "
        + atLeast + " bytes, more than one reply record holds (" + maxResultBytes + " bytes, the worker producer's"
        + " max.request.size less headroom): send fewer inputs per job, fewer dimensions, or encoding_format base64",
        200);
  }
}
