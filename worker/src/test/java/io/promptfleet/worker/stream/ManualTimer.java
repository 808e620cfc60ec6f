package io.promptfleet.worker.stream;

import io.vertx.core.Handler;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/** An {@link EventLoopTimer} driven by hand: {@link #advance} moves its clock and runs the timers that came due. */
final class ManualTimer implements EventLoopTimer {
  private record Pending(long id, long dueMs, Handler<Long> task) {}

  private final List<Pending> pending = new ArrayList<>();
  private long nowMs;
  private long nextId;

  @Override
  public long set(long delayMs, Handler<Long> task) {
    long id = nextId++;
    pending.add(new Pending(id, nowMs + delayMs, task));
    return id;
  }

  @Override
  public void cancel(long id) {
    pending.removeIf(p -> p.id() == id);
  }

  /** Moves the clock by {@code ms}, running every timer due by then in due order (and those they set). */
  void advance(long ms) {
    long until = nowMs + ms;
    while (true) {
      Optional<Pending> next = pending.stream().filter(p -> p.dueMs() <= until)
          .min(Comparator.comparingLong(Pending::dueMs).thenComparingLong(Pending::id));
      if (next.isEmpty()) {
        break;
      }
      pending.remove(next.get());
      nowMs = next.get().dueMs();
      next.get().task().handle(next.get().id());
    }
    nowMs = until;
  }

  /** The clock in nanoseconds, for what measures time on {@code System::nanoTime}. */
  long nanoTime() {
    return nowMs * 1_000_000;
  }

  /** Timers set and not yet fired or cancelled. */
  int pending() {
    return pending.size();
  }
}
