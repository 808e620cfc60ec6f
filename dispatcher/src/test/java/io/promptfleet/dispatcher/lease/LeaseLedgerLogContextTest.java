package io.promptfleet.dispatcher.lease;

import static io.promptfleet.dispatcher.testing.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.common.logging.LogContext;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.Lease;
import io.promptfleet.dispatcher.route.RouteBreakers;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.status.StatusBoard;
import io.promptfleet.dispatcher.testing.Fixtures;
import io.promptfleet.dispatcher.testing.LogCapture;
import io.promptfleet.dispatcher.testing.ManualClock;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

/** The job and lease ids are in the dispatcher thread's logging context while the ledger ends a lease. */
class LeaseLedgerLogContextTest {
  private static final FleetConfig CONFIG = Fixtures.config(Fixtures.TWO_KEYS + """
      dispatcher:
        lease_grace_ms: 1000
        breaker: {window_size: 2, minimum_calls: 2, failure_rate_percent: 50}
      """);
  private static final String ROUTE = "p/first";

  private final ManualClock clock = new ManualClock();
  private final DispatcherMetrics metrics = new DispatcherMetrics(new SimpleMeterRegistry());
  private final KeyPool keys = new KeyPool(CONFIG.keys(), CONFIG.dispatcher().rateWindowMs());
  private final RouteBreakers breakers = new RouteBreakers(CONFIG.dispatcher().breaker(), metrics, clock);
  private final LeaseLedger ledger = new LeaseLedger(CONFIG, keys, breakers, new StatusBoard(CONFIG), metrics,
      "pf-dispatcher-test");
  private final LogCapture log = new LogCapture();

  @AfterEach
  void stopCapturing() {
    log.close();
  }

  private Lease dispatch(String jobId) {
    assertThat(breakers.tryAcquire(ROUTE)).isTrue();
    return ledger.acquire("k1", jobId, ROUTE, Instant.ofEpochMilli(T0 + 10_000), 100, T0);
  }

  @Test
  void shouldNameTheJobAndLeaseInTheContextOfTheExpiryWarning() {
    Lease l = dispatch("job-7");

    ledger.expire(T0 + 11_000);

    assertThat(log.containing("expired without release")).singleElement()
        .extracting(LogCapture.Line::context)
        .isEqualTo(Map.of(LogContext.JOB_ID, "job-7", LogContext.LEASE_ID, l.leaseId()));
    assertThat(MDC.getCopyOfContextMap()).as("cleared after the lease").isNullOrEmpty();
  }

  @Test
  void shouldNameTheReleaseThatOpenedARouteBreakerInTheBreakersOwnLogLine() {
    Lease first = dispatch("job-1");
    Lease second = dispatch("job-2");

    ledger.released(failed(first, "job-1"), T0 + 5, T0 + 5);
    ledger.released(failed(second, "job-2"), T0 + 6, T0 + 6);

    assertThat(log.containing("breaker (errors) CLOSED -> OPEN")).singleElement()
        .extracting(LogCapture.Line::context)
        .isEqualTo(Map.of(LogContext.JOB_ID, "job-2", LogContext.LEASE_ID, second.leaseId()));
    assertThat(MDC.getCopyOfContextMap()).isNullOrEmpty();
  }

  private static FleetEvent failed(Lease l, String jobId) {
    return FleetEvent.leaseReleased(l.leaseId(), jobId, l.keyId(), ROUTE, LeaseOutcome.FAILED)
        .error(ErrorCodes.UPSTREAM_ERROR).status(502).by("w1", Instant.ofEpochMilli(T0));
  }
}
