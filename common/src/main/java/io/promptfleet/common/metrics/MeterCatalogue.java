package io.promptfleet.common.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * Registers the meters of one process's catalogue ({@code S}, its {@code Spec} enum): the only place that builds
 * meters. Each registration is checked against its spec (type, number of tag values) and cached per tag values, so
 * callers may ask for a meter on every use. The worker's {@code WorkerMetrics} and the dispatcher's
 * {@code DispatcherMetrics} extend it with their own {@code Spec}; the architecture module's
 * {@code MeterCatalogueTest} fails on a meter registered anywhere else and checks every spec.
 *
 * <p>Thread-safe.
 *
 * @param <S> the process's meter specs
 */
public class MeterCatalogue<S extends MeterSpec> {
  private record Key(MeterSpec spec, List<String> tagValues) {}

  private interface Registration {
    Meter register(Tags tags);
  }

  private final MeterRegistry registry;
  private final Map<Key, Meter> meters = new ConcurrentHashMap<>();

  protected MeterCatalogue(MeterRegistry registry) {
    this.registry = registry;
  }

  /** The counter of {@code spec} with these tag values, in the order of its tag keys. */
  public Counter counter(S spec, String... tagValues) {
    return (Counter) meter(spec, Meter.Type.COUNTER, tagValues, tags -> Counter.builder(spec.meterName())
        .description(spec.description()).baseUnit(spec.baseUnit()).tags(tags).register(registry));
  }

  /** The timer of {@code spec} with these tag values. */
  public Timer timer(S spec, String... tagValues) {
    return (Timer) meter(spec, Meter.Type.TIMER, tagValues, tags -> {
      Timer.Builder b = Timer.builder(spec.meterName()).description(spec.description()).tags(tags);
      return (spec.histogram() ? b.publishPercentileHistogram() : b).register(registry);
    });
  }

  /** The distribution summary of {@code spec} with these tag values. */
  public DistributionSummary summary(S spec, String... tagValues) {
    return (DistributionSummary) meter(spec, Meter.Type.DISTRIBUTION_SUMMARY, tagValues, tags -> {
      DistributionSummary.Builder b = DistributionSummary.builder(spec.meterName()).description(spec.description())
          .baseUnit(spec.baseUnit()).tags(tags);
      return (spec.histogram() ? b.publishPercentileHistogram() : b).register(registry);
    });
  }

  /**
   * The gauge of {@code spec}: {@code value} applied to {@code state} at each scrape. Like Micrometer's own gauges
   * it holds {@code state} weakly: the caller keeps it alive.
   */
  public <T> Gauge gauge(S spec, T state, ToDoubleFunction<T> value, String... tagValues) {
    return (Gauge) meter(spec, Meter.Type.GAUGE, tagValues, tags -> Gauge.builder(spec.meterName(), state, value)
        .description(spec.description()).baseUnit(spec.baseUnit()).tags(tags).register(registry));
  }

  /** The gauge of {@code spec}, read from {@code value} at each scrape (held strongly). */
  public Gauge gauge(S spec, Supplier<Number> value, String... tagValues) {
    return (Gauge) meter(spec, Meter.Type.GAUGE, tagValues, tags -> Gauge.builder(spec.meterName(), value)
        .description(spec.description()).baseUnit(spec.baseUnit()).tags(tags).register(registry));
  }

  /**
   * Binds a Kafka client's own metrics: pass Micrometer's {@code KafkaClientMetrics} made by the client's owner, and
   * close it with the client (closing removes its meters).
   */
  public KafkaClientMetrics kafkaClient(KafkaClientMetrics binder) {
    binder.bindTo(registry);
    return binder;
  }

  private Meter meter(S spec, Meter.Type type, String[] tagValues, Registration registration) {
    if (spec.type() != type) {
      throw new IllegalArgumentException(spec + " is a " + spec.type() + ", not a " + type);
    }
    if (tagValues.length != spec.tagKeys().size()) {
      throw new IllegalArgumentException(spec + " takes tags " + spec.tagKeys() + ", got "
          + Arrays.toString(tagValues));
    }
    return meters.computeIfAbsent(new Key(spec, List.of(tagValues)), k -> {
      Tags tags = Tags.empty();
      for (int i = 0; i < tagValues.length; i++) {
        tags = tags.and(spec.tagKeys().get(i), tagValues[i]);
      }
      return registration.register(tags);
    });
  }
}
