package io.promptfleet.common.metrics;

import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Set;

/**
 * Creates Prometheus registries with the JVM's own meters, {@code role} and {@code instance} tags, and
 * {@link #kafkaClientSeries()}. Thread-safe (stateless).
 */
public final class Registries {
  /**
   * Per-partition meters of a consumer's fetch manager with no client-level meter of the same name. The other two
   * per-partition ones ({@code records.lag.max}, {@code records.lead.min}) stay: Micrometer's KafkaClientMetrics
   * keeps only the variant of a name with the most tags, so denying them would drop the client-level aggregate too.
   */
  private static final Set<String> PER_PARTITION_ONLY = Set.of("kafka.consumer.fetch.manager.records.lag",
      "kafka.consumer.fetch.manager.records.lag.avg", "kafka.consumer.fetch.manager.records.lead",
      "kafka.consumer.fetch.manager.records.lead.avg", "kafka.consumer.fetch.manager.preferred.read.replica");

  private Registries() {}

  public static PrometheusMeterRegistry prometheus(String role, String instance) {
    PrometheusMeterRegistry r = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    r.config().commonTags("role", role, "instance", instance);
    r.config().meterFilter(kafkaClientSeries()); // before any meter: Micrometer warns about filters added later
    new JvmMemoryMetrics().bindTo(r);
    new JvmThreadMetrics().bindTo(r);
    new ProcessorMetrics().bindTo(r);
    return r;
  }

  /**
   * Keeps the Kafka client meters ({@code kafka.*}, bound by each process's metrics catalogue) to a bounded number
   * of series: drops a producer's per-topic meters ({@code kafka.producer.topic.*}, 9 series per topic written, and
   * a worker writes to every reply topic its jobs name) and 5 of the 7 meters a consumer has per partition it reads
   * ({@code records.lag.max} and {@code records.lead.min} stay). Measured on Kafka 4.4 with one broker: a producer
   * has 98 series, a consumer about 130 to 200 (the catalogues give the formulas). To drop every Kafka client
   * meter, add {@code MeterFilter.denyNameStartsWith("kafka.")} to the registry before the clients start, or drop
   * {@code kafka_.*} in Prometheus's {@code metric_relabel_configs}.
   */
  public static MeterFilter kafkaClientSeries() {
    return MeterFilter.deny(id -> id.getName().startsWith("kafka.producer.topic.")
        || (id.getTag("partition") != null && PER_PARTITION_ONLY.contains(id.getName())));
  }

  /** For a process that also wants GC metrics; the binder must be closed with the process. */
  public static JvmGcMetrics gc(PrometheusMeterRegistry r) {
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(r);
    return gc;
  }
}
