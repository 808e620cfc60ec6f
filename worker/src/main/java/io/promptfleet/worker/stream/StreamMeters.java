package io.promptfleet.worker.stream;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.promptfleet.common.job.Route;
import io.promptfleet.common.job.Usage;
import io.promptfleet.worker.metrics.WorkerMetrics;
import io.promptfleet.worker.metrics.WorkerMetrics.Spec;
import java.time.Duration;

/**
 * What the streams record, in their terms; the meters themselves are declared in {@link WorkerMetrics}
 * ({@code chunks}, {@code attempts}, {@code tokens}, {@code time.to.first.token}, {@code stream.duration}).
 * Outcome, failure class, error code, provider and model go in tags; never a job id. Thread-safe.
 */
public final class StreamMeters {
  private final WorkerMetrics metrics;
  private final Counter chunks;

  public StreamMeters(WorkerMetrics metrics) {
    this.metrics = metrics;
    this.chunks = metrics.counter(Spec.CHUNKS);
  }

  /** Over a catalogue of its own (tests). */
  public StreamMeters(MeterRegistry registry) {
    this(new WorkerMetrics(registry));
  }

  public void chunk() {
    chunks.increment();
  }

  /**
   * An attempt ended.
   *
   * @param outcome succeeded, failed, retry, cancelled or handed_back
   * @param failureClass transient, key_fatal, permanent, or none
   * @param code    the error code or none
   */
  public void attempt(String outcome, String failureClass, String code, Route route) {
    metrics.counter(Spec.ATTEMPTS, outcome, failureClass, code, route.provider(), route.model()).increment();
  }

  public void tokens(Route route, Usage usage) {
    if (usage == null) {
      return;
    }
    metrics.counter(Spec.TOKENS, "prompt", route.provider(), route.model()).increment(usage.promptTokens());
    metrics.counter(Spec.TOKENS, "completion", route.provider(), route.model()).increment(usage.completionTokens());
  }

  public void timeToFirstToken(Route route, long ms) {
    metrics.timer(Spec.TIME_TO_FIRST_TOKEN, route.provider(), route.model()).record(Duration.ofMillis(ms));
  }

  public void streamDuration(Route route, long ms) {
    metrics.timer(Spec.STREAM_DURATION, route.provider(), route.model()).record(Duration.ofMillis(ms));
  }
}
