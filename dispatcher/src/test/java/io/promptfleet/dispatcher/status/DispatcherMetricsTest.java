package io.promptfleet.dispatcher.status;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.dispatcher.status.DispatcherMetrics.Spec;
import org.junit.jupiter.api.Test;

/**
 * The dispatcher's own use of its catalogue. Every spec's name, description and tags, that no meter is built
 * outside a catalogue and that every series the dashboards query is exported are checked for all processes by the
 * architecture module's {@code MeterCatalogueTest}.
 */
class DispatcherMetricsTest {

  @Test
  void shouldRegisterTheFixedCountersAtOnceSoTheyExportZeroBeforeTheFirstEvent() {
    MeterRegistry registry = new SimpleMeterRegistry();
    DispatcherMetrics metrics = new DispatcherMetrics(registry);

    assertThat(registry.get(Spec.ASSIGNMENTS.meterName()).counter()).isSameAs(metrics.dispatched);
    assertThat(registry.get(Spec.TRANSACTIONS_ABORTED.meterName()).counter()).isSameAs(metrics.transactionsAborted);
    assertThat(metrics.dispatched.count()).isZero();
  }
}
