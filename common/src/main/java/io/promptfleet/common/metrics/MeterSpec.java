package io.promptfleet.common.metrics;

import io.micrometer.core.instrument.Meter;
import java.util.List;

/**
 * One meter of a process's catalogue ({@link MeterCatalogue}): what Prometheus shows, and the tag keys its
 * registrations must give values for. Implemented by each process's {@code Spec} enum, whose constants hold a
 * {@link Def}.
 */
public interface MeterSpec {

  /** The definition of this meter. */
  Def def();

  default String meterName() {
    return def().meterName();
  }

  default Meter.Type type() {
    return def().type();
  }

  default String baseUnit() {
    return def().baseUnit();
  }

  default boolean histogram() {
    return def().histogram();
  }

  default String description() {
    return def().description();
  }

  default List<String> tagKeys() {
    return def().tagKeys();
  }

  /**
   * @param meterName   lowercase with dots (Prometheus: underscores, counters end in {@code _total}, timers in
   *                    {@code _seconds}); renaming one breaks the dashboards and scalers that query it
   * @param type        counter, timer, distribution summary, gauge, or other for a family bound by a binder
   * @param baseUnit    for timers the unit Prometheus exports (documentation: timers have no base unit of their
   *                    own); else set on the meter, null for none (setting one renames the Prometheus series)
   * @param histogram   publishes percentile histogram buckets (timers and distribution summaries)
   * @param description shown by Prometheus
   * @param tagKeys     the tags every registration gives values for, in this order; never a job id
   */
  record Def(String meterName, Meter.Type type, String baseUnit, boolean histogram, String description,
      List<String> tagKeys) {
    public Def {
      tagKeys = List.copyOf(tagKeys);
    }
  }
}
