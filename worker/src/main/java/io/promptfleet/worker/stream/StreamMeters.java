package io.promptfleet.worker.stream;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every meter of the worker's streams, in one place. Outcome, error code and route go in tags; never a job id.
 * Thread-safe.
 */
public final class StreamMeters {
  private final MeterRegistry registry;
  private final Counter chunks;
  private final Map<String, Counter> attempts = new ConcurrentHashMap<>();
  private final Map<String, Timer> ttft = new ConcurrentHashMap<>();
  private final Map<String, Timer> duration = new ConcurrentHashMap<>();

  public StreamMeters(MeterRegistry registry) {
    this.registry = registry;
    this.chunks = Counter.builder("promptfleet.worker.chunks").description("chunk records published")
        .register(registry);
  }

  public void chunk() {
    chunks.increment();
  }

  /** An attempt ended: outcome is succeeded, failed or handed_back; code is the error code or "none". */
  public void attempt(String outcome, String code, String route) {
    attempts.computeIfAbsent(outcome + '|' + code + '|' + route, k -> Counter.builder("promptfleet.worker.attempts")
        .description("attempts that ended, by outcome and error code").tag("outcome", outcome).tag("code", code)
        .tag("route", route).register(registry)).increment();
  }

  public void timeToFirstToken(String route, long ms) {
    ttft.computeIfAbsent(route, r -> Timer.builder("promptfleet.worker.time.to.first.token")
        .description("from request to first content delta").tag("route", r).publishPercentileHistogram()
        .register(registry)).record(Duration.ofMillis(ms));
  }

  public void streamDuration(String route, long ms) {
    duration.computeIfAbsent(route, r -> Timer.builder("promptfleet.worker.stream.duration")
        .description("from request to the end of the stream").tag("route", r).publishPercentileHistogram()
        .register(registry)).record(Duration.ofMillis(ms));
  }
}
