package io.promptfleet.worker.stream;

import io.promptfleet.worker.upstream.Failure;
import io.promptfleet.worker.upstream.FailureClass;
import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.config.ProviderSettings;
import io.promptfleet.common.job.ErrorCodes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The attempt's timeouts on a hand-driven timer: which fires first, and with which error. */
class AttemptTimersTest {
  private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
  /** connect 10, first delta 100, idle 50, total 1000 (ms). */
  private static final ProviderSettings PROVIDER = new ProviderSettings("http://p", 10L, 100L, 50L, 1_000L);

  private final ManualTimer timer = new ManualTimer();
  private final List<Failure> expired = new ArrayList<>();
  private long chunks;

  private AttemptTimers timers(Instant deadline) {
    return new AttemptTimers(timer, timer::nanoTime, PROVIDER, deadline, () -> chunks, expired::add);
  }

  @Test
  void shouldTimeOutWhenNoDeltaOfAnyKindArrivesWithinTheFirstDeltaTimeoutOfTheRequestGoingOut() {
    AttemptTimers t = timers(null);
    assertThat(t.start(NOW, true)).isNull();
    timer.advance(500); // waiting for a connection in the worker: not the provider's first-token time
    assertThat(expired).isEmpty();
    t.sent();

    timer.advance(99);
    assertThat(expired).isEmpty();
    timer.advance(1);

    assertThat(expired).singleElement().satisfies(f -> {
      assertThat(f.kind()).isEqualTo(FailureClass.TRANSIENT);
      assertThat(f.code()).isEqualTo(ErrorCodes.TIMEOUT);
      assertThat(f.message()).isEqualTo("no first delta within 100 ms of the request");
      assertThat(f.statusCode()).as("no response yet").isNull();
    });
  }

  @Test
  void shouldStopWaitingForTheFirstDeltaOnceOneArrived() {
    AttemptTimers t = timers(null);
    t.start(NOW, true);
    t.sent();
    t.answering();

    for (int i = 0; i < 10; i++) {
      timer.advance(30);
      t.activity();
      if (i == 1) {
        t.firstDelta();
      }
    }

    assertThat(expired).isEmpty();
  }

  @Test
  void shouldSetNoFirstDeltaTimerForARouteThatDoesNotStream() {
    AttemptTimers t = timers(null);
    t.start(NOW, false);

    timer.advance(999);

    assertThat(expired).isEmpty();
    timer.advance(1);
    assertThat(expired).extracting(Failure::message)
        .containsExactly("no complete answer within the provider's total timeout of 1000 ms");
  }

  @Test
  void shouldCountEveryReadAsActivityAndTimeOutOnlyAfterAWholeQuietIdleWindow() {
    AttemptTimers t = timers(null);
    t.start(NOW, true);
    t.firstDelta();
    t.answering();
    chunks = 7;

    timer.advance(40);
    t.activity(); // an SSE comment: a keep-alive counts
    timer.advance(40); // the first check (at 50) finds 10 ms of quiet and waits for the rest of the window
    assertThat(expired).isEmpty();
    timer.advance(9);
    assertThat(expired).isEmpty();
    timer.advance(1);

    assertThat(expired).singleElement().satisfies(f -> {
      assertThat(f.code()).isEqualTo(ErrorCodes.TIMEOUT);
      assertThat(f.message()).isEqualTo("the stream was idle for 50 ms (idle timeout 50 ms) after 7 chunks");
      assertThat(f.statusCode()).isEqualTo(200);
    });
  }

  @Test
  void shouldEndWithDeadlineExceededWhenTheJobsDeadlineComesBeforeTheProvidersTotal() {
    AttemptTimers t = timers(NOW.plusMillis(500));
    t.start(NOW, false);
    t.answering();
    keepActive(t, 500);

    assertThat(expired).singleElement().satisfies(f -> {
      assertThat(f.code()).isEqualTo(ErrorCodes.DEADLINE_EXCEEDED);
      assertThat(f.message()).isEqualTo("the job's deadline passed after 500 ms of streaming");
      assertThat(f.statusCode()).isEqualTo(200);
    });
  }

  @Test
  void shouldEndWithTheProvidersTotalTimeoutWhenItComesBeforeTheDeadline() {
    AttemptTimers t = timers(NOW.plusMillis(5_000));
    t.start(NOW, false);
    t.answering();
    keepActive(t, 1_000);

    assertThat(expired).singleElement().satisfies(f -> {
      assertThat(f.code()).isEqualTo(ErrorCodes.TIMEOUT);
      assertThat(f.message()).isEqualTo("no complete answer within the provider's total timeout of 1000 ms");
    });
  }

  @Test
  void shouldNotStartWhenTheJobsDeadlinePassedBeforeTheAttempt() {
    AttemptTimers t = timers(NOW);

    Failure late = t.start(NOW, true);

    assertThat(late.code()).isEqualTo(ErrorCodes.DEADLINE_EXCEEDED);
    assertThat(late.statusCode()).isNull();
    assertThat(timer.pending()).isZero();
  }

  @Test
  void shouldTellNothingOnceStopped() {
    AttemptTimers t = timers(NOW.plusMillis(500));
    t.start(NOW, true);
    t.answering();

    t.stop();
    timer.advance(10_000);

    assertThat(expired).isEmpty();
    assertThat(timer.pending()).isZero();
  }

  /** Reads every 10 ms for {@code ms}, so that only the total or the deadline can end the attempt. */
  private void keepActive(AttemptTimers t, long ms) {
    for (long at = 0; at < ms; at += 10) {
      timer.advance(10);
      if (expired.isEmpty()) {
        t.activity();
      }
    }
  }
}
