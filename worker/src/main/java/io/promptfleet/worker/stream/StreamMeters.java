package io.promptfleet.worker.stream;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.promptfleet.common.job.Route;
import io.promptfleet.common.job.Usage;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every meter of the worker's streams, in one place. Outcome, failure class, error code, provider and model go in
 * tags; never a job id. Thread-safe.
 *
 * <ul>
 *   <li>{@code promptfleet.worker.chunks} - chunk records published</li>
 *   <li>{@code promptfleet.worker.attempts{outcome,class,code,provider,model}} - attempts that ended</li>
 *   <li>{@code promptfleet.worker.tokens{kind=prompt|completion,provider,model}} - tokens reported by providers</li>
 *   <li>{@code promptfleet.worker.time.to.first.token{provider,model}} - request to first content delta</li>
 *   <li>{@code promptfleet.worker.stream.duration{provider,model}} - request to end of a successful stream</li>
 * </ul>
 * The worker itself registers {@code promptfleet.worker.streams.active}, {@code promptfleet.worker.slots.free},
 * {@code promptfleet.worker.lock.renewals}, {@code promptfleet.worker.assignment.pickup} (dispatch to a lane
 * acquiring the assignment) and {@code promptfleet.worker.lane.acquired} (assignments per poll of a lane).
 */
public final class StreamMeters {
  private final MeterRegistry registry;
  private final Counter chunks;
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();
  private final Map<String, Timer> timers = new ConcurrentHashMap<>();

  public StreamMeters(MeterRegistry registry) {
    this.registry = registry;
    this.chunks = Counter.builder("promptfleet.worker.chunks").description("chunk records published")
        .register(registry);
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
    counters.computeIfAbsent("a|" + outcome + '|' + failureClass + '|' + code + '|' + route.provider() + '|'
        + route.model(), k -> Counter.builder("promptfleet.worker.attempts")
        .description("attempts that ended, by outcome, failure class and error code").tag("outcome", outcome)
        .tag("class", failureClass).tag("code", code).tag("provider", route.provider()).tag("model", route.model())
        .register(registry)).increment();
  }

  public void tokens(Route route, Usage usage) {
    if (usage == null) {
      return;
    }
    tokenCounter("prompt", route).increment(usage.promptTokens());
    tokenCounter("completion", route).increment(usage.completionTokens());
  }

  private Counter tokenCounter(String kind, Route route) {
    return counters.computeIfAbsent("t|" + kind + '|' + route.provider() + '|' + route.model(),
        k -> Counter.builder("promptfleet.worker.tokens").description("tokens reported by providers")
            .tag("kind", kind).tag("provider", route.provider()).tag("model", route.model()).register(registry));
  }

  public void timeToFirstToken(Route route, long ms) {
    timer("promptfleet.worker.time.to.first.token", "from request to first content delta", route)
        .record(Duration.ofMillis(ms));
  }

  public void streamDuration(Route route, long ms) {
    timer("promptfleet.worker.stream.duration", "from request to the end of a successful stream", route)
        .record(Duration.ofMillis(ms));
  }

  private Timer timer(String name, String description, Route route) {
    return timers.computeIfAbsent(name + '|' + route.provider() + '|' + route.model(), k -> Timer.builder(name)
        .description(description).tag("provider", route.provider()).tag("model", route.model())
        .publishPercentileHistogram().register(registry));
  }
}
