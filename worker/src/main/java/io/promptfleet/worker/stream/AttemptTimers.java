package io.promptfleet.worker.stream;

import io.promptfleet.worker.upstream.Failure;
import io.promptfleet.worker.upstream.FailureClass;
import io.promptfleet.common.config.ProviderSettings;
import io.promptfleet.common.job.ErrorCodes;
import io.vertx.core.Handler;
import java.time.Instant;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The timeouts of one attempt, but connect (the HTTP client's TCP connect and TLS handshake timeouts, {@code
 * ProviderClients}): the first delta (streaming routes; any
 * delta kind ends the wait, so a model that reasons is not cut), idle between reads once a 200 response began
 * (every read counts as activity, SSE comments included), and the provider's total timeout or the job's deadline,
 * whichever comes first. Each expiry is one transient {@link Failure} told to {@code expired}; once {@link #stop}
 * ran, none is.
 *
 * <p>Not thread-safe: confined to the attempt's event loop, where its timers fire and {@code expired} is told.
 */
final class AttemptTimers {
  private final EventLoopTimer timer;
  private final LongSupplier nanoTime;
  private final ProviderSettings provider;
  private final Instant deadline;
  private final LongSupplier chunks;
  private final Consumer<Failure> expired;
  private final Handler<Long> idleCheck = this::checkIdle;
  private long firstDeltaTimer = -1;
  private long idleTimer = -1;
  private long totalTimer = -1;
  private long lastActivityNanos;
  private boolean answering;
  private boolean streams;
  private boolean stopped;

  /**
   * @param nanoTime {@code System::nanoTime} (idle time is measured on it, not on the wall clock)
   * @param deadline the job's deadline, or null
   * @param chunks   how many chunks the attempt published so far (named in the idle and cut messages)
   * @param expired  told of the first timeout, on the event loop
   */
  AttemptTimers(EventLoopTimer timer, LongSupplier nanoTime, ProviderSettings provider, Instant deadline,
      LongSupplier chunks, Consumer<Failure> expired) {
    this.timer = timer;
    this.nanoTime = nanoTime;
    this.provider = provider;
    this.deadline = deadline;
    this.chunks = chunks;
    this.expired = expired;
  }

  /**
   * Starts the total timer (the deadline's, when it comes first); for a streaming route the first-delta timer starts
   * at {@link #sent}.
   *
   * @return the failure when the job's deadline passed before the attempt started (then no timer runs), else null
   */
  Failure start(Instant now, boolean streams) {
    long total = provider.totalTimeoutMs();
    boolean byDeadline = false;
    if (deadline != null) {
      long left = deadline.toEpochMilli() - now.toEpochMilli();
      if (left <= 0) {
        return new Failure(FailureClass.TRANSIENT, ErrorCodes.DEADLINE_EXCEEDED,
            "the job's deadline " + deadline + " passed before the attempt started", null);
      }
      byDeadline = left < total;
      total = Math.min(total, left);
    }
    long totalMs = total;
    totalTimer = byDeadline
        ? timer.set(totalMs, id -> expire(new Failure(FailureClass.TRANSIENT, ErrorCodes.DEADLINE_EXCEEDED,
            "the job's deadline passed after " + totalMs + " ms of streaming", status())))
        : timer.set(totalMs, id -> expire(Failure.transientFailure(ErrorCodes.TIMEOUT,
            "no complete answer within the provider's total timeout of " + totalMs + " ms", status())));
    this.streams = streams;
    return null;
  }

  /**
   * The request got its connection and went out: the first-delta timer starts now, so a wait for a connection in
   * the worker (its connect gate, a pool at its cap) is not taken for the provider's slowness. The total timer
   * and the deadline still bound that wait.
   */
  void sent() {
    if (streams && !stopped && firstDeltaTimer < 0) {
      long firstMs = provider.firstTokenTimeoutMs();
      firstDeltaTimer = timer.set(firstMs, id -> expire(Failure.transientFailure(ErrorCodes.TIMEOUT,
          "no first delta within " + firstMs + " ms of the request", status())));
    }
  }

  /** A 200 response began: the idle timer starts now. */
  void answering() {
    answering = true;
    lastActivityNanos = nanoTime.getAsLong();
    idleTimer = timer.set(provider.idleTimeoutMs(), idleCheck);
  }

  /** Bytes arrived (an SSE comment counts): the idle wait starts again. Runs once per read; allocates nothing. */
  void activity() {
    lastActivityNanos = nanoTime.getAsLong();
  }

  /** The first delta arrived: no first-delta timeout any more. */
  void firstDelta() {
    cancel(firstDeltaTimer);
    firstDeltaTimer = -1;
  }

  /** Cancels every timer; no timeout is told after this. Idempotent. */
  void stop() {
    stopped = true;
    cancel(firstDeltaTimer);
    cancel(totalTimer);
    cancel(idleTimer);
    firstDeltaTimer = totalTimer = idleTimer = -1;
  }

  /** The provider's status as the timeout messages give it: 200 once it answered, else none. */
  private Integer status() {
    return answering ? Integer.valueOf(200) : null;
  }

  /** The idle timer is set once and re-armed for the rest of the window after activity, not at every read. */
  private void checkIdle(long timerId) {
    if (stopped) {
      return;
    }
    long idleMs = provider.idleTimeoutMs();
    long quietMs = (nanoTime.getAsLong() - lastActivityNanos) / 1_000_000;
    if (quietMs >= idleMs) {
      expire(Failure.transientFailure(ErrorCodes.TIMEOUT, "the stream was idle for " + quietMs
          + " ms (idle timeout " + idleMs + " ms) after " + chunks.getAsLong() + " chunks", 200));
    } else {
      idleTimer = timer.set(idleMs - quietMs, idleCheck);
    }
  }

  private void expire(Failure failure) {
    if (!stopped) {
      expired.accept(failure);
    }
  }

  private void cancel(long id) {
    if (id >= 0) {
      timer.cancel(id);
    }
  }
}
