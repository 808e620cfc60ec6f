package io.promptfleet.worker.stream;

import io.promptfleet.worker.upstream.ChunkEvent;
import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Chunk;
import io.vertx.core.Handler;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Turns one attempt's deltas into its chunk records and follows them until Kafka acks them. Owns: the chunk
 * numbering ({@code seq} from 0); coalescing by kind (consecutive content, reasoning or refusal text within
 * {@code coalesceMs} goes out as one chunk, flushed when the kind changes; tool-call, function-call and other
 * delta fields flush the text first and go out at once; a piece that carries logprobs is never coalesced); the
 * hand-encoded form of plain text chunks ({@link ChunkEncoder}: the per-token path); the count of unacked chunks;
 * the first chunk that could not be written; and the "all chunks acked" future the terminal record waits for.
 *
 * <p>Adaptive coalescing ({@code maxInFlight} > 0, without a {@code coalesceMs} window): a text delta goes out at once
 * while fewer than {@code maxInFlight} of the attempt's chunks wait for Kafka's ack; otherwise it is held, with the
 * text of the same kind that follows, until an ack arrives, and then goes out as one chunk. A stream whose deltas
 * come slower than Kafka acks (a provider's pace: tens of ms apart, an ack takes a few) sends every delta at once,
 * as without coalescing; a burst (an instant upstream, a backlog in one network read, a producer that is behind)
 * becomes a few records instead of one per token. Nothing is reordered: a delta goes out directly only when
 * nothing is held, a kind change or another delta field sends what is held first, and the held text is one
 * buffer.
 *
 * <p>Thread confinement: deltas, {@link #flush}, {@link #close}, the coalescing timer and the held text's release
 * run on the attempt's event loop. {@link #onCompletion} runs on the producer's I/O thread and touches only the
 * unacked count, the first error, that future, and asks the loop to release held text (so {@link #error},
 * {@link #unacked} and {@link #allAcked} may be called from any thread).
 */
final class ChunkSink implements Callback {

  /** Where chunk records go: the attempt's reply topic, keyed by its job id. Never blocks; calls back once. */
  @FunctionalInterface
  interface Publisher {
    void send(byte[] chunkJson, Callback acked);
  }

  /** The kinds of text delta; consecutive deltas of one kind may be coalesced into one chunk. */
  enum TextKind { CONTENT, REASONING, REFUSAL }

  private final String jobId;
  private final int attempt;
  private final long coalesceMs;
  private final int maxInFlight;
  private final Executor loop;
  private final EventLoopTimer timer;
  private final Publisher publisher;
  private final Consumer<Exception> onFirstError;
  private final ChunkEncoder encoder;
  private final StringBuilder pending = new StringBuilder();
  private final Handler<Long> flushTask = id -> {
    this.flushTimer = -1;
    flush();
  };
  private final Runnable releaseHeld = this::releaseHeld;
  /** Text is held until an ack (adaptive coalescing); set and cleared on the loop, read by the I/O thread. */
  private volatile boolean holding;
  private TextKind pendingKind;
  private long flushTimer = -1;
  private long seq;
  private final AtomicInteger unacked = new AtomicInteger();
  private volatile Exception error;
  private volatile CompletableFuture<Void> allAcked;

  /**
   * @param coalesceMs   text of one kind arriving within this window goes out as one chunk; 0 = one chunk per delta
   * @param onFirstError told once, on the producer's I/O thread, of the first chunk Kafka did not take
   */
  ChunkSink(String jobId, int attempt, long coalesceMs, EventLoopTimer timer, Publisher publisher,
      Consumer<Exception> onFirstError) {
    this(jobId, attempt, coalesceMs, 0, Runnable::run, timer, publisher, onFirstError);
  }

  /**
   * @param coalesceMs   text of one kind arriving within this window goes out as one chunk; 0 = no window
   * @param maxInFlight  without a window: text waits while this many chunks are unacked (adaptive coalescing);
   *                     0 = every delta at once
   * @param loop         runs a task on the attempt's event loop (the release of held text after an ack)
   * @param onFirstError told once, on the producer's I/O thread, of the first chunk Kafka did not take
   */
  ChunkSink(String jobId, int attempt, long coalesceMs, int maxInFlight, Executor loop, EventLoopTimer timer,
      Publisher publisher, Consumer<Exception> onFirstError) {
    this.jobId = jobId;
    this.attempt = attempt;
    this.coalesceMs = coalesceMs;
    this.maxInFlight = coalesceMs > 0 ? 0 : maxInFlight;
    this.loop = loop;
    this.timer = timer;
    this.publisher = publisher;
    this.onFirstError = onFirstError;
    this.encoder = new ChunkEncoder(jobId, attempt);
  }

  /**
   * One streamed event with a delta: each kind it carries becomes a chunk, in a fixed order (reasoning, refusal,
   * content, then tool calls, function call and other fields together). The logprobs go with the content, else
   * with the refusal.
   */
  void delta(ChunkEvent e) {
    if (!e.hasOtherDelta()) {
      text(TextKind.CONTENT, e.content(), e.logprobs()); // the per-token path of a plain answer
      return;
    }
    boolean content = e.content() != null && !e.content().isEmpty();
    if (e.reasoning() != null && !e.reasoning().isEmpty()) {
      text(TextKind.REASONING, e.reasoning(), null);
    }
    if (e.refusal() != null && !e.refusal().isEmpty()) {
      text(TextKind.REFUSAL, e.refusal(), content ? null : e.logprobs());
    }
    if (content) {
      text(TextKind.CONTENT, e.content(), e.logprobs());
    }
    if (e.toolCalls() != null || e.functionCall() != null || e.extra() != null) {
      flush();
      send(Json.bytes(new Chunk(jobId, attempt, seq++, "", null, null, null, e.toolCalls(), e.functionCall(), e.extra(),
          null)));
    }
  }

  /** The whole answer of a route that does not stream, as one chunk with every kind in it. */
  void whole(ChunkEvent e) {
    flush();
    send(Json.bytes(new Chunk(jobId, attempt, seq++, e.content() == null ? "" : e.content(), null, e.reasoning(),
        e.refusal(), e.toolCalls(), e.functionCall(), e.extra(), e.logprobs())));
  }

  /** A text delta: published at once, or coalesced with the deltas of the same kind that follow within the window. */
  void text(TextKind kind, String delta, JsonNode logprobs) {
    if (maxInFlight > 0 && logprobs == null) {
      hold(kind, delta);
      return;
    }
    if (coalesceMs <= 0 || logprobs != null) {
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
      flushTimer = timer.set(coalesceMs, flushTask);
    }
  }

  /**
   * Adaptive coalescing: sends the delta at once when nothing is held and fewer than {@code maxInFlight} chunks are
   * unacked; else holds it (a kind change sends the held text first). After marking text held it looks at the
   * unacked count again: an ack that came in between saw {@code holding} false and asked for no release.
   */
  private void hold(TextKind kind, String delta) {
    if (pending.length() == 0 && unacked.get() < maxInFlight) {
      publishText(kind, delta, null);
      return;
    }
    if (pendingKind != kind) {
      flush();
      pendingKind = kind;
    }
    pending.append(delta);
    holding = true;
    if (unacked.get() < maxInFlight) {
      flush();
    }
  }

  /** On the loop after an ack: sends the held text if the chunks in flight allow it now. */
  private void releaseHeld() {
    if (pending.length() > 0 && unacked.get() < maxInFlight) {
      flush();
    }
  }

  /** Publishes the coalesced text, if any. */
  void flush() {
    holding = false;
    if (pending.length() > 0) {
      publishText(pendingKind, pending.toString(), null);
      pending.setLength(0);
    }
  }

  /**
   * The attempt ended: no more coalescing. Publishes the coalesced text when {@code publishPending} (the attempt ends
   * with a result or a retry record, which the text belongs before), else drops it.
   */
  void close(boolean publishPending) {
    if (flushTimer >= 0) {
      timer.cancel(flushTimer);
      flushTimer = -1;
    }
    if (publishPending) {
      flush();
    } else {
      holding = false;
      pending.setLength(0);
    }
  }

  /** Chunks published so far (the next chunk's seq). */
  long published() {
    return seq;
  }

  /** Chunks sent and not yet acked or failed. */
  int unacked() {
    return unacked.get();
  }

  /** The first chunk send that failed, or null: then the attempt has a gap and must not end in a record. */
  Exception error() {
    return error;
  }

  /**
   * Completes once every chunk sent so far is acked or failed (at once when none is outstanding). Call it once the
   * attempt ended, on its event loop: the future completes on the producer's I/O thread or the caller's.
   */
  CompletableFuture<Void> allAcked() {
    CompletableFuture<Void> drained = new CompletableFuture<>();
    allAcked = drained;
    if (unacked.get() == 0) {
      drained.complete(null);
    }
    return drained;
  }

  /** Kafka's answer for one chunk, on the producer's I/O thread (or the caller's, when the send failed at once). */
  @Override
  public void onCompletion(RecordMetadata metadata, Exception e) {
    if (e != null && error == null) {
      error = e;
      onFirstError.accept(e);
    }
    int left = unacked.decrementAndGet();
    if (holding) {
      loop.execute(releaseHeld);
    }
    if (left == 0) {
      CompletableFuture<Void> drained = allAcked;
      if (drained != null) {
        drained.complete(null);
      }
    }
  }

  private void publishText(TextKind kind, String text, JsonNode logprobs) {
    if (kind == TextKind.CONTENT && logprobs == null) {
      send(encoder.encode(seq++, text));
      return;
    }
    send(Json.bytes(new Chunk(jobId, attempt, seq++, kind == TextKind.CONTENT ? text : "", null,
        kind == TextKind.REASONING ? text : null, kind == TextKind.REFUSAL ? text : null, null, null, null,
        logprobs)));
  }

  private void send(byte[] record) {
    unacked.incrementAndGet();
    publisher.send(record, this);
  }
}
