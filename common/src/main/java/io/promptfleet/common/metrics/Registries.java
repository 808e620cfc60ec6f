package io.promptfleet.common.metrics;

import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/** Creates Prometheus registries with the JVM's own meters and a {@code process_role} tag. */
public final class Registries {
  private Registries() {}

  public static PrometheusMeterRegistry prometheus(String role, String instance) {
    PrometheusMeterRegistry r = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    r.config().commonTags("role", role, "instance", instance);
    new JvmMemoryMetrics().bindTo(r);
    new JvmThreadMetrics().bindTo(r);
    new ProcessorMetrics().bindTo(r);
    return r;
  }

  /** For a process that also wants GC metrics; the binder must be closed with the process. */
  public static JvmGcMetrics gc(PrometheusMeterRegistry r) {
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(r);
    return gc;
  }
}
