package io.promptfleet.simulator.internal;

import io.promptfleet.simulator.BatchBehaviour;
import io.promptfleet.simulator.BatchPlan;
import java.time.Clock;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@link BatchPlan} of one provider. Thread-safe: behaviours and limits are replaced atomically (volatile
 * fields, a concurrent map); the endpoint faults are a {@link DefaultFaultPlan} of their own.
 */
public final class DefaultBatchPlan implements BatchPlan {

  /** The limits the batch endpoints enforce. */
  record Limits(int openAiMaxRequests, long openAiMaxFileBytes, int anthropicMaxRequests, long anthropicMaxBytes) {
    static final Limits PROVIDERS = new Limits(OPENAI_MAX_REQUESTS, OPENAI_MAX_FILE_BYTES, ANTHROPIC_MAX_REQUESTS,
        ANTHROPIC_MAX_BYTES);
  }

  private final ConcurrentHashMap<String, BatchBehaviour> byKey = new ConcurrentHashMap<>();
  private final DefaultFaultPlan endpointFaults = new DefaultFaultPlan();
  private volatile BatchBehaviour defaults = BatchBehaviour.defaults();
  private volatile Limits limits = Limits.PROVIDERS;
  private volatile Clock clock = Clock.systemUTC();

  @Override
  public BatchPlan forAll(BatchBehaviour behaviour) {
    defaults = Objects.requireNonNull(behaviour, "behaviour");
    return this;
  }

  @Override
  public BatchPlan forKey(String authorization, BatchBehaviour behaviour) {
    byKey.put(Objects.requireNonNull(authorization, "authorization"), Objects.requireNonNull(behaviour, "behaviour"));
    return this;
  }

  @Override
  public BatchPlan limits(int openAiMaxRequests, long openAiMaxFileBytes, int anthropicMaxRequests,
      long anthropicMaxBytes) {
    if (openAiMaxRequests < 1 || openAiMaxFileBytes < 1 || anthropicMaxRequests < 1 || anthropicMaxBytes < 1) {
      throw new IllegalArgumentException("batch limits must be >= 1");
    }
    limits = new Limits(openAiMaxRequests, openAiMaxFileBytes, anthropicMaxRequests, anthropicMaxBytes);
    return this;
  }

  @Override
  public DefaultFaultPlan endpointFaults() {
    return endpointFaults;
  }

  @Override
  public BatchPlan clock(Clock c) {
    clock = Objects.requireNonNull(c, "clock");
    return this;
  }

  /** Now, in epoch milliseconds of the batch clock. */
  long nowMs() {
    return clock.millis();
  }

  @Override
  public BatchPlan clearAll() {
    byKey.clear();
    defaults = BatchBehaviour.defaults();
    limits = Limits.PROVIDERS;
    clock = Clock.systemUTC();
    endpointFaults.clearAll();
    return this;
  }

  /** The behaviour of a batch created with {@code key}. */
  BatchBehaviour behaviourFor(String key) {
    BatchBehaviour own = key == null ? null : byKey.get(key);
    return own != null ? own : defaults;
  }

  Limits limits() {
    return limits;
  }
}
