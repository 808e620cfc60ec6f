package io.promptfleet.worker.stream;

import io.vertx.core.Handler;
import io.vertx.core.Vertx;

/**
 * One-shot timers on the event loop that drives an attempt: Vert.x's in a worker ({@link #of}), a hand-driven clock
 * in unit tests. Its users set and cancel timers on that event loop only, and the tasks run there.
 */
interface EventLoopTimer {

  /** Runs {@code task} once, {@code delayMs} from now, on the calling event loop; returns the timer's id (>= 0). */
  long set(long delayMs, Handler<Long> task);

  /** Cancels the timer; ids of timers that already fired or were cancelled are ignored. */
  void cancel(long id);

  /** Vert.x's timers: set on an event loop, a timer fires on that loop's context. */
  static EventLoopTimer of(Vertx vertx) {
    return new EventLoopTimer() {
      @Override
      public long set(long delayMs, Handler<Long> task) {
        return vertx.setTimer(delayMs, task);
      }

      @Override
      public void cancel(long id) {
        vertx.cancelTimer(id);
      }
    };
  }
}
