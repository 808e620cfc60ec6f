package io.promptfleet.dispatcher.route;

import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Route;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.SuccessorGate;
import io.promptfleet.dispatcher.capacity.TokenEstimator;
import io.promptfleet.dispatcher.capacity.TokenLimits;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.intake.Pending;
import io.promptfleet.dispatcher.intake.ServabilityCheck;
import java.time.Instant;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Fallback routing: which route of a job's chain and which key of that route serve the job now, by the fallback
 * policy: a job waits for its route while the route is merely busy, and goes down the chain only when the route
 * cannot take it.
 *
 * <p>{@link #plan} walks the model's chain in order and at each route decides one of three things:
 * <ul>
 *   <li><b>down the chain</b> when the route cannot serve the job (its completion limit exceeds
 *       {@code max_tokens_cap}, the prompt estimated for that route exceeds {@code max_prompt_tokens}, no key the
 *       job's tenant may use could ever hold the reservation), when its breaker is open (errors or 429s), when it is
 *       slow and a later route can take the job ({@link RouteBreakers#permit}), or when every key the tenant may use
 *       there is disabled or cooling down after a 429 ({@link KeyPool.Availability});</li>
 *   <li><b>wait</b> (no plan: the job stays queued and is planned again next round) when the route is merely busy:
 *       a key it may use is up but at its max_concurrency or its requests or tokens per window. The rest of the
 *       chain is not looked at. A route with {@code overflow: true} sends the job down the chain instead;</li>
 *   <li><b>dispatch</b> on the least-utilised key with room for one more stream, one more request and the token
 *       reservation (prompt estimate plus completion limit, {@link TokenLimits}); a retry avoids its previous key
 *       when another key the tenant may use has room ({@link KeyPool#choose(List, String, long, long, String)}).
 *       While the {@link SuccessorGate} is open ({@code dispatcher.successors}), a route merely busy because every
 *       unit of a key is held dispatches the job as a <b>successor</b> of a started lease of that key when its rates
 *       admit it ({@link KeyPool#chooseSuccessor}): it starts when that lease ends.</li>
 * </ul>
 * Slowness alone never leaves a job without a route: a slow route skipped for a fallback that then cannot take the
 * job is taken after all. A plan on a later route than the first is counted by {@link Fallbacks} with the reason
 * the first route gave. A plan holds the route's breaker permit; the lease taken for it gives the permit back when
 * it ends.
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
   * @param successor      a successor of a started lease of the key ({@code dispatcher.successors}), not a new stream
   */
  public record Plan(Route route, String keyId, long reservedTokens, Instant deadline, boolean successor) {

    public Plan(Route route, String keyId, long reservedTokens, Instant deadline) {
      this(route, keyId, reservedTokens, deadline, false);
    }
  }

  private final FleetConfig config;
  private final KeyPool keys;
  private final RouteBreakers breakers;
  private final Fallbacks fallbacks;
  private final SuccessorGate successorGate;
  private final Map<RouteSettings, List<String>> keysOfRoute = new IdentityHashMap<>();
  /** Per model group, per tenant: its pool (computed once; no key is built on the hot path). */
  private final Map<String, Map<String, String>> pools = new java.util.HashMap<>();

  /**
   * A planner whose fallbacks are counted but not exported and whose successor gate hears no heartbeat (tests: with
   * {@code dispatcher.successors: true} it plans successors, else none).
   */
  public RoutePlanner(FleetConfig config, KeyPool keys, RouteBreakers breakers) {
    this(config, keys, breakers, new Fallbacks(null), SuccessorGate.of(config.dispatcher()));
  }

  /** A planner that plans successors while {@code successorGate} is open. */
  public RoutePlanner(FleetConfig config, KeyPool keys, RouteBreakers breakers, Fallbacks fallbacks,
      SuccessorGate successorGate) {
    this.successorGate = successorGate;
    this.config = config;
    this.keys = keys;
    this.breakers = breakers;
    this.fallbacks = fallbacks;
  }

  /** The fallbacks counted so far. */
  public Fallbacks fallbacks() {
    return fallbacks;
  }

  /**
   * The route and key that serve the job now by the fallback policy, or null when it waits (its route is busy, or
   * no route of the chain can take it now). Breaker permits taken on the way and not used are handed back.
   */
  public Plan plan(Pending p, Instant now) {
    Decision.Dispatch d = p.dispatch();
    Job job = d.job();
    long nowMs = now.toEpochMilli();
    List<RouteSettings> routes = d.routes();
    Fallbacks.Reason firstRefused = null;
    int slowSkipped = -1;
    for (int i = 0; i < routes.size(); i++) {
      RouteSettings route = routes.get(i);
      boolean hasFallback = i < routes.size() - 1;
      Fallbacks.Reason refused;
      long reserve = reservation(route, p);
      KeyPool.Availability room = reserve < 0 ? KeyPool.Availability.UNSERVABLE
          : keys.availability(keysOf(route), job.tenant(), reserve, nowMs);
      if (room == KeyPool.Availability.UNSERVABLE) {
        refused = Fallbacks.Reason.CANNOT_SERVE;
      } else {
        String wire = route.toRoute(job.model()).name();
        RouteBreakers.Permit permit = breakers.permit(wire, hasFallback);
        if (permit == RouteBreakers.Permit.GRANTED) {
          Plan plan = onPermit(p, route, room, reserve, now);
          if (plan != null) {
            return counted(p, routes, i, plan, firstRefused);
          }
          if (room == KeyPool.Availability.BUSY && !(route.overflow() && hasFallback)) {
            return null; // merely busy: the job waits for this route
          }
          refused = room == KeyPool.Availability.BUSY ? Fallbacks.Reason.OVERFLOW : Fallbacks.Reason.UNAVAILABLE;
        } else if (permit == RouteBreakers.Permit.SLOW) {
          refused = Fallbacks.Reason.SLOW;
          slowSkipped = slowSkipped < 0 ? i : slowSkipped;
        } else {
          refused = Fallbacks.Reason.OPEN;
        }
      }
      firstRefused = firstRefused == null ? refused : firstRefused;
    }
    if (slowSkipped >= 0) {
      // No fallback took it: slowness alone does not stop a job, so the slow route serves it after all.
      RouteSettings route = routes.get(slowSkipped);
      long reserve = reservation(route, p);
      KeyPool.Availability room = keys.availability(keysOf(route), job.tenant(), reserve, nowMs);
      if (breakers.permit(route.toRoute(job.model()).name(), false) == RouteBreakers.Permit.GRANTED) {
        Plan plan = onPermit(p, route, room, reserve, now);
        if (plan != null) {
          return counted(p, routes, slowSkipped, plan, firstRefused);
        }
      }
    }
    return null;
  }

  /**
   * With the route's permit held: the plan on its best key when one has room, else null (the permit is handed
   * back).
   */
  private Plan onPermit(Pending p, RouteSettings route, KeyPool.Availability room, long reserve, Instant now) {
    Job job = p.dispatch().job();
    Route wire = route.toRoute(job.model());
    Optional<String> key = room == KeyPool.Availability.ROOM
        ? keys.choose(keysOf(route), job.tenant(), reserve, now.toEpochMilli(), p.lastKey()) : Optional.empty();
    boolean successor = false;
    if (key.isEmpty() && room == KeyPool.Availability.BUSY && successorGate.open(now.toEpochMilli())) {
      key = keys.chooseSuccessor(keysOf(route), job.tenant(), reserve, now.toEpochMilli());
      successor = key.isPresent();
    }
    if (key.isEmpty()) {
      breakers.release(wire.name());
      return null;
    }
    Instant deadline = p.dispatch().deadline() != null ? p.dispatch().deadline()
        : now.plusMillis(config.dispatcher().defaultJobTtlMs());
    return new Plan(wire, key.get(), reserve, deadline, successor);
  }

  /** The prompt estimate on {@code route} plus the completion limit, or -1 when the route cannot serve the job. */
  private static long reservation(RouteSettings route, Pending p) {
    Job job = p.dispatch().job();
    if (TokenLimits.exceedsCap(job, route)) {
      return -1;
    }
    long prompt = p.prompt().forRoute(route);
    if (route.maxPromptTokens() != null && prompt > route.maxPromptTokens()) {
      return -1;
    }
    return prompt + TokenLimits.reserved(job, route);
  }

  private Plan counted(Pending p, List<RouteSettings> routes, int used, Plan plan, Fallbacks.Reason firstRefused) {
    if (used > 0) {
      String model = config.models().containsKey(p.dispatch().job().model()) ? p.dispatch().job().model() : "*";
      fallbacks.record(model, routes.get(0).name(), routes.get(used).name(), firstRefused);
    }
    return plan;
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

  /**
   * The capacity pool a tenant's jobs of model group {@code group} draw from: the tenant's own when it may not use
   * shared keys, or when every route of the model's chain has keys of the tenant (on such a route it uses only
   * those); else {@code ""}, the shared keys, drawn on by every tenantless job and every tenant without keys of its
   * own there. Pools never share a key, so a job that cannot be planned blocks its pool for the round and another
   * pool's jobs of the same model still go; within one pool the head waits first (a large job is not passed by
   * small ones of its pool forever).
   */
  public String poolOf(String group, String tenant) {
    if (tenant == null) {
      return "";
    }
    return pools.computeIfAbsent(group, g -> new java.util.HashMap<>()).computeIfAbsent(tenant, k -> {
      var t = config.tenants().get(tenant);
      if (t != null && !t.sharedKeys()) {
        return tenant;
      }
      var model = config.models().get(group);
      if (model == null || model.routes().isEmpty()) {
        return "";
      }
      for (RouteSettings route : model.routes()) {
        boolean own = keysOf(route).stream().anyMatch(key -> tenant.equals(config.keys().get(key).tenant()));
        if (!own) {
          return "";
        }
      }
      return tenant;
    });
  }

  private List<String> keysOf(RouteSettings route) {
    return keysOfRoute.computeIfAbsent(route, config::keysOf);
  }
}
