package io.promptfleet.dispatcher.route;

import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Route;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.TokenEstimator;
import io.promptfleet.dispatcher.capacity.TokenLimits;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.intake.Pending;
import io.promptfleet.dispatcher.intake.ServabilityCheck;
import java.time.Instant;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Fallback routing: which route of a job's chain and which key of that route serve the job now.
 *
 * <p>{@link #plan} walks the model's chain in order. A route is skipped when the job's completion limit exceeds its
 * {@code max_tokens_cap}, when the prompt (estimated for that route) exceeds its {@code max_prompt_tokens}, when its
 * breaker refuses a permit (open: down the chain), or when none of its keys has room for one more stream, one more
 * request and the token reservation (prompt estimate plus completion limit, {@link TokenLimits}). Among the keys
 * with room the least-utilised wins ({@link KeyPool#choose}); a retry avoids its previous key when another has room.
 * A plan holds the route's breaker permit; the lease taken for it gives the permit back when it ends.
 *
 * <p>{@link #whyUnservable} is the admission-time question: could any route ever serve the job, whatever the load?
 *
 * <p>Not thread-safe: owned by the dispatcher thread.
 */
public final class RoutePlanner implements ServabilityCheck {

  /**
   * Where a job goes now.
   *
   * @param route          the route (provider, upstream model, prices), as the assignment carries it
   * @param keyId          the key with room for it
   * @param reservedTokens the prompt estimate on this route plus the completion limit
   * @param deadline       the job's deadline (its own, or now plus {@code default_job_ttl_ms})
   */
  public record Plan(Route route, String keyId, long reservedTokens, Instant deadline) {}

  private final FleetConfig config;
  private final KeyPool keys;
  private final RouteBreakers breakers;
  private final Map<RouteSettings, List<String>> keysOfRoute = new IdentityHashMap<>();

  public RoutePlanner(FleetConfig config, KeyPool keys, RouteBreakers breakers) {
    this.config = config;
    this.keys = keys;
    this.breakers = breakers;
  }

  /**
   * The first route of the job's chain with a permit and a key with room, or null when none has (the breaker
   * permits taken on the way are handed back).
   */
  public Plan plan(Pending p, Instant now) {
    Decision.Dispatch d = p.dispatch();
    Job job = d.job();
    long nowMs = now.toEpochMilli();
    for (RouteSettings route : d.routes()) {
      if (TokenLimits.exceedsCap(job, route)) {
        continue;
      }
      long prompt = p.prompt().forRoute(route);
      if (route.maxPromptTokens() != null && prompt > route.maxPromptTokens()) {
        continue;
      }
      long reserve = prompt + TokenLimits.reserved(job, route);
      Route wire = route.toRoute(job.model());
      List<String> candidates = keysOf(route);
      if (!breakers.tryAcquire(wire.name())) {
        continue; // open: down the fallback chain
      }
      Optional<String> key = Optional.empty();
      if (p.lastKey() != null && candidates.size() > 1 && candidates.contains(p.lastKey())) {
        List<String> others = new ArrayList<>(candidates);
        others.remove(p.lastKey());
        key = keys.choose(others, job.tenant(), reserve, nowMs);
      }
      if (key.isEmpty()) {
        key = keys.choose(candidates, job.tenant(), reserve, nowMs);
      }
      if (key.isEmpty()) {
        breakers.release(wire.name());
        continue;
      }
      Instant deadline = d.deadline() != null ? d.deadline()
          : now.plusMillis(config.dispatcher().defaultJobTtlMs());
      return new Plan(wire, key.get(), reserve, deadline);
    }
    return null;
  }

  @Override
  public String whyUnservable(Decision.Dispatch d, TokenEstimator.Estimate estimate) {
    Job job = d.job();
    RouteSettings first = d.routes().get(0);
    long firstPrompt = estimate.forRoute(first);
    if (first.maxPromptTokens() != null && firstPrompt > first.maxPromptTokens()) {
      return "the prompt has about " + firstPrompt + " tokens, more than max_prompt_tokens "
          + first.maxPromptTokens() + " of model " + job.model();
    }
    boolean anyKey = false;
    long smallest = Long.MAX_VALUE;
    long smallestPrompt = firstPrompt;
    for (RouteSettings route : d.routes()) {
      if (TokenLimits.exceedsCap(job, route)) {
        continue;
      }
      List<String> candidates = keysOf(route);
      if (!keys.hasKeyFor(candidates, job.tenant())) {
        continue;
      }
      anyKey = true;
      long prompt = estimate.forRoute(route);
      long reserve = prompt + TokenLimits.reserved(job, route);
      if (reserve < smallest) {
        smallest = reserve;
        smallestPrompt = prompt;
      }
      if (keys.canEverAdmit(candidates, job.tenant(), reserve)) {
        return null;
      }
    }
    if (!anyKey) {
      return "no key serves model " + job.model() + (job.tenant() == null ? "" : " for tenant " + job.tenant());
    }
    return "the prompt (about " + smallestPrompt + " tokens) plus the completion limit needs " + smallest
        + " tokens, more than any key of model " + job.model() + " may use per rate window";
  }

  private List<String> keysOf(RouteSettings route) {
    return keysOfRoute.computeIfAbsent(route, config::keysOf);
  }
}
