package io.promptfleet.dispatcher.tenant;

import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.config.TenantSettings;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Route;
import io.promptfleet.common.job.Usage;
import io.promptfleet.dispatcher.capacity.TokenLimits;
import io.promptfleet.dispatcher.intake.Pending;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tenants' daily budgets ({@code tenants.NAME.budget}): what each tenant has spent and has reserved today (UTC),
 * and whether a job fits what is left. A budget is never exceeded:
 *
 * <ul>
 *   <li>before a job is planned, its worst case — the largest over its routes of the prompt estimate plus the
 *       completion limit, as the key's token reservation counts it ({@link TokenLimits}), and that many tokens at
 *       the route's prices (prompt at the larger of the input and cached-input price, completion at the output
 *       price) — must fit: {@link #check};</li>
 *   <li>a dispatched job reserves its worst case on the route it got ({@link #reserve}), and its worker's
 *       {@code lease_released} event settles the reservation to the usage it reports ({@link #released}); a lease
 *       that ends otherwise (expired, archived) stays counted at its worst case;</li>
 *   <li>a job that does not fit even what is spent already (without the reservations) is over budget: rejected
 *       ({@code on_exceeded: reject}) or waits for the next UTC day ({@code queue}); a job that fits what is spent
 *       but not the reservations waits for them to settle, in either mode.</li>
 * </ul>
 *
 * A job counts against the UTC day it was dispatched on. Every job's usage also goes to the per-tenant, per-model
 * meters (tokens and cost), budget or not. Spend survives a failover through {@link SpendSnapshot}s written in the
 * dispatch transactions and {@link SpendRebuild} on takeover.
 *
 * <p>Not thread-safe: owned by the dispatcher thread, except the remaining-budget gauges, which read a concurrent
 * map.
 */
public final class TenantBudgets {
  static final long DAY_MS = 86_400_000L;
  /** A tenant's snapshot is written at most this often while it changes. */
  static final long SNAPSHOT_MIN_INTERVAL_MS = 1_000;

  /** What to do with a job now. */
  public enum Verdict {
    /** It fits: plan it. */
    GO,
    /** It fits what is spent but not the reservations in flight: it waits for them to settle. */
    WAIT,
    /** It does not fit what is left today: rejected, or it waits for the next UTC day, as the tenant says. */
    EXCEEDED
  }

  /**
   * A verdict on one job.
   *
   * @param verdict  what to do
   * @param tenant   the job's tenant (null: none)
   * @param queues   for {@link Verdict#EXCEEDED}: true when the job waits for the next day, false when rejected
   * @param message  for {@link Verdict#EXCEEDED}: names the tenant, the budget and the UTC day
   */
  public record Check(Verdict verdict, String tenant, boolean queues, String message) {
    static final Check GO = new Check(Verdict.GO, null, false, null);

    /** True when the job is answered {@code rejected}/{@code budget_exceeded}. */
    public boolean rejects() {
      return verdict == Verdict.EXCEEDED && !queues;
    }
  }

  /** A lease's reservation: the tenant and model it counts for, its UTC day, and its worst case. */
  public record Charge(String tenant, String model, long day, long tokens, double cost, Route route) {}

  /** One budgeted tenant's day. */
  static final class Day {
    final long day;
    long spentTokens;
    double spentCost;
    long reservedTokens;
    double reservedCost;
    final Map<String, Charge> inFlight = new LinkedHashMap<>();
    boolean dirty;
    long writtenAtMs = Long.MIN_VALUE;

    Day(long day) {
      this.day = day;
    }
  }

  private final FleetConfig config;
  private final Map<String, TenantSettings.Budget> budgets = new LinkedHashMap<>();
  private final DispatcherMetrics metrics;
  private final long rewriteEveryMs;
  /** Every in-flight lease's reservation, by lease id (budgeted or not: the meters need its tenant and model). */
  private final Map<String, Charge> charges = new HashMap<>();
  /** Today's state of each budgeted tenant. */
  private final Map<String, Day> days = new HashMap<>();
  /** Settlements and undos per tenant: waiting jobs look again when it moves. */
  private final Map<String, Long> versions = new HashMap<>();
  /** The UTC day of the last purge of charges that no release will ever settle. */
  private long purgedDay = Long.MIN_VALUE;
  /** For the gauges (any thread): tenant|kind to what is left. */
  private final Map<String, Double> remaining = new ConcurrentHashMap<>();

  public TenantBudgets(FleetConfig config, DispatcherMetrics metrics) {
    this.config = config;
    this.metrics = metrics;
    // A snapshot older than the takeover's lookback would not be read back: rewrite well within it.
    this.rewriteEveryMs = Math.max(SNAPSHOT_MIN_INTERVAL_MS, config.dispatcher().rebuildLookbackMs() / 3);
    config.tenants().forEach((name, t) -> {
      if (t.budget() != null) {
        budgets.put(name, t.budget());
        if (t.budget().tokensPerDay() != null) {
          remaining.put(name + "|tokens", (double) t.budget().tokensPerDay());
          metrics.tenantBudgetRemaining(name, "tokens", () -> remaining.get(name + "|tokens"));
        }
        if (t.budget().costPerDayUsd() != null) {
          remaining.put(name + "|cost_usd", t.budget().costPerDayUsd());
          metrics.tenantBudgetRemaining(name, "cost_usd", () -> remaining.get(name + "|cost_usd"));
        }
      }
    });
  }

  /** Every tenant's own job topics. */
  public static Set<String> tenantTopics(FleetConfig config) {
    Set<String> out = new HashSet<>();
    config.tenants().values().forEach(t -> out.addAll(t.topics().all()));
    return out;
  }

  /** True when some tenant has a budget. */
  public boolean any() {
    return !budgets.isEmpty();
  }

  /** The UTC day (days since the epoch) of an instant. */
  static long dayOf(long ms) {
    return Math.floorDiv(ms, DAY_MS);
  }

  /** Changes when the tenant's spend settles or a reservation is undone (a waiting job may fit then). */
  public long version(String tenant) {
    return versions.getOrDefault(tenant, 0L);
  }

  /** Whether a job of the pending entry fits its tenant's budget now. */
  public Check check(Pending p, long nowMs) {
    Job job = p.dispatch().job();
    String tenant = job.tenant();
    TenantSettings.Budget b = tenant == null ? null : budgets.get(tenant);
    if (b == null) {
      return Check.GO;
    }
    long worstTokens = 0;
    double worstCost = 0;
    for (RouteSettings r : p.dispatch().routes()) {
      if (TokenLimits.exceedsCap(job, r)) {
        continue;
      }
      long prompt = p.prompt().forRoute(r);
      long completion = TokenLimits.reserved(job, r);
      worstTokens = Math.max(worstTokens, prompt + completion);
      worstCost = Math.max(worstCost, cost(r, prompt, completion));
    }
    Day d = today(tenant, nowMs);
    String day = LocalDate.ofEpochDay(d.day) + " (UTC)";
    if (b.tokensPerDay() != null && d.spentTokens + worstTokens > b.tokensPerDay()) {
      return new Check(Verdict.EXCEEDED, tenant, b.queues(), "tenant " + tenant + " has used " + d.spentTokens
          + " of its tokens_per_day " + b.tokensPerDay() + " on " + day + "; this job may use up to " + worstTokens
          + " tokens (prompt estimate plus completion limit)");
    }
    if (b.costPerDayUsd() != null && d.spentCost + worstCost > b.costPerDayUsd()) {
      return new Check(Verdict.EXCEEDED, tenant, b.queues(), "tenant " + tenant + " has spent "
          + usd(d.spentCost) + " of its cost_per_day_usd " + usd(b.costPerDayUsd()) + " on " + day
          + "; this job may cost up to " + usd(worstCost));
    }
    if (b.tokensPerDay() != null && d.spentTokens + d.reservedTokens + worstTokens > b.tokensPerDay()
        || b.costPerDayUsd() != null && d.spentCost + d.reservedCost + worstCost > b.costPerDayUsd()) {
      return new Check(Verdict.WAIT, tenant, true, null);
    }
    return Check.GO;
  }

  /**
   * A job was dispatched under {@code leaseId} on {@code route} (of its chain, by name) with a reservation of
   * {@code reservedTokens} (prompt estimate on that route plus completion limit): its worst case is reserved.
   */
  public void reserve(String leaseId, Pending p, Route route, long reservedTokens, long nowMs) {
    Job job = p.dispatch().job();
    double cost = 0;
    RouteSettings settings = null;
    for (RouteSettings r : p.dispatch().routes()) {
      if (r.toRoute(job.model()).name().equals(route.name())) {
        settings = r;
        break;
      }
    }
    if (settings != null) {
      long completion = TokenLimits.reserved(job, settings);
      cost = cost(settings, Math.max(0, reservedTokens - completion), completion);
    } else {
      cost = worstCost(route, reservedTokens);
    }
    charge(leaseId, new Charge(tagOf(job.tenant()), p.group(), dayOf(nowMs), reservedTokens, cost, route),
        job.tenant(), nowMs);
  }

  /** Records a reservation; a budgeted tenant's day counts it. */
  void charge(String leaseId, Charge c, String tenant, long nowMs) {
    charges.put(leaseId, c);
    if (tenant != null && budgets.containsKey(tenant) && c.day() == dayOf(nowMs)) {
      Day d = today(tenant, nowMs);
      d.reservedTokens += c.tokens();
      d.reservedCost += c.cost();
      d.inFlight.put(leaseId, c);
      changed(tenant, d);
    }
  }

  /**
   * Whether a {@code lease_released} says nothing about what the lease used: the one a dispatcher writes when it
   * answers an archived assignment ({@code delivery_limit}: workers took it and died or could not publish, and the
   * provider may have charged any of it). Such a lease stays counted at its worst case, as an expired one does;
   * only a worker's release without usage (the provider never answered) costs nothing.
   */
  static boolean usageUnknown(FleetEvent e) {
    return ErrorCodes.DELIVERY_LIMIT.equals(e.errorCode());
  }

  /**
   * A lease was released ({@code lease_released}, not {@code handed_back}): its usage goes to the meters and
   * settles its tenant's reservation; a worker's release without usage (the provider never answered) costs nothing,
   * an archived assignment's release ({@link #usageUnknown}) its worst case.
   */
  public void released(FleetEvent e, long nowMs) {
    if (e.leaseId() == null) {
      return;
    }
    Charge c = charges.remove(e.leaseId());
    if (c == null) {
      return;
    }
    Usage u = e.usage();
    long tokens = u == null ? 0 : u.totalTokens();
    Double cost = c.route() == null ? null : c.route().cost(u);
    if (u != null) {
      metrics.tenantTokens(c.tenant(), c.model(), "prompt", u.promptTokens());
      metrics.tenantTokens(c.tenant(), c.model(), "completion", u.completionTokens());
    }
    if (cost != null && cost > 0) {
      metrics.tenantCost(c.tenant(), c.model(), cost);
    }
    Day d = days.get(c.tenant());
    if (d != null && d.day == c.day() && d.inFlight.remove(e.leaseId()) != null) {
      boolean unknown = usageUnknown(e);
      d.reservedTokens -= c.tokens();
      d.reservedCost -= c.cost();
      d.spentTokens += unknown ? c.tokens() : tokens;
      d.spentCost += unknown ? c.cost() : cost == null ? 0 : cost;
      changed(c.tenant(), d);
    }
  }

  /** Leases whose assignments were never written (their transaction aborted): their reservations go back. */
  public void undo(Collection<String> leaseIds, long nowMs) {
    for (String id : leaseIds) {
      Charge c = charges.remove(id);
      Day d = c == null ? null : days.get(c.tenant());
      if (d != null && d.day == c.day() && d.inFlight.remove(id) != null) {
        d.reservedTokens -= c.tokens();
        d.reservedCost -= c.cost();
        changed(c.tenant(), d);
      }
    }
    // The snapshots of the aborted transaction are lost: write them again.
    days.values().forEach(d -> d.dirty = true);
  }

  /**
   * The snapshots due in this round's transaction: each budgeted tenant whose day changed (at most one per
   * {@value #SNAPSHOT_MIN_INTERVAL_MS} ms), and each with spend today whose last one is a third of the takeover's
   * lookback old, so the newest is always read back.
   */
  public List<SpendSnapshot> snapshotsDue(long nowMs) {
    purge(nowMs);
    List<SpendSnapshot> out = new ArrayList<>();
    for (String tenant : budgets.keySet()) {
      Day d = today(tenant, nowMs);
      long age = d.writtenAtMs == Long.MIN_VALUE ? Long.MAX_VALUE : nowMs - d.writtenAtMs;
      boolean any = d.spentTokens > 0 || d.spentCost > 0 || !d.inFlight.isEmpty();
      boolean written = d.writtenAtMs != Long.MIN_VALUE; // a day without one has spent nothing
      if (d.dirty && (any || written) && age >= SNAPSHOT_MIN_INTERVAL_MS || any && age >= rewriteEveryMs) {
        out.add(snapshotOf(tenant, d, nowMs));
      }
    }
    return out;
  }

  /** The reservation an in-flight lease holds (its tenant, model, route), or null (for a state snapshot). */
  public Charge charge(String leaseId) {
    return charges.get(leaseId);
  }

  /**
   * Every budgeted tenant's snapshot, due or not: written with a dispatcher state snapshot, so that a successor
   * reading fleet events from the state snapshot's positions finds each tenant's newest one.
   */
  public List<SpendSnapshot> snapshotsNow(long nowMs) {
    purge(nowMs);
    List<SpendSnapshot> out = new ArrayList<>();
    for (String tenant : budgets.keySet()) {
      Day d = today(tenant, nowMs);
      out.add(snapshotOf(tenant, d, nowMs));
    }
    return out;
  }

  private SpendSnapshot snapshotOf(String tenant, Day d, long nowMs) {
    Map<String, SpendSnapshot.Reserved> inFlight = new LinkedHashMap<>();
    d.inFlight.forEach((id, c) -> inFlight.put(id, new SpendSnapshot.Reserved(c.tokens(), c.cost())));
    d.dirty = false;
    d.writtenAtMs = nowMs;
    return new SpendSnapshot(tenant, LocalDate.ofEpochDay(d.day).toString(), nowMs, d.spentTokens, d.spentCost,
        inFlight);
  }

  /** A rebuild for a takeover: feed it what was read back, then {@link SpendRebuild#finish}. */
  public SpendRebuild rebuild() {
    return new SpendRebuild(this);
  }

  /** Forgets everything (a rebuild starts from what was read back). */
  void reset() {
    charges.clear();
    days.clear();
    versions.clear();
  }

  /** The configured budgets, by tenant. */
  Set<String> budgeted() {
    return budgets.keySet();
  }

  /** Sets a budgeted tenant's day as rebuilt from Kafka. */
  void restored(String tenant, long day, long spentTokens, double spentCost, Map<String, Charge> inFlight,
      long nowMs) {
    Day d = new Day(day);
    d.spentTokens = spentTokens;
    d.spentCost = spentCost;
    inFlight.forEach((id, c) -> {
      d.inFlight.put(id, c);
      d.reservedTokens += c.tokens();
      d.reservedCost += c.cost();
    });
    days.put(tenant, d);
    changed(tenant, d);
  }

  /** Records an in-flight lease's charge without counting it in a day (the rebuild counted it). */
  void restoredCharge(String leaseId, Charge c) {
    charges.put(leaseId, c);
  }

  /** The model tag of a job's meters: its configured model name, {@code *} for a pass-through name. */
  String modelOf(String model) {
    return model != null && config.models().containsKey(model) ? model : "*";
  }

  /** The tenant tag of a job's meters: its tenant when configured (or named by a key), else {@code none}. */
  String tagOf(String tenant) {
    if (tenant == null) {
      return "none";
    }
    if (config.tenants().containsKey(tenant)) {
      return tenant;
    }
    return config.keys().values().stream().anyMatch(k -> tenant.equals(k.tenant())) ? tenant : "none";
  }

  private Day today(String tenant, long nowMs) {
    long day = dayOf(nowMs);
    Day d = days.get(tenant);
    if (d == null || d.day != day) {
      d = new Day(day);
      d.dirty = true;
      days.put(tenant, d);
      versions.merge(tenant, 1L, Long::sum);
      purge(nowMs);
      publish(tenant, d);
    }
    return d;
  }

  /**
   * Once a day, forgets the charges of leases dispatched before yesterday: a lease that expired or was archived
   * is never released (leases live for hours, not days).
   */
  public void purge(long nowMs) {
    long day = dayOf(nowMs);
    if (day != purgedDay) {
      purgedDay = day;
      charges.values().removeIf(c -> c.day() < day - 1);
    }
  }

  private void changed(String tenant, Day d) {
    d.dirty = true;
    versions.merge(tenant, 1L, Long::sum);
    publish(tenant, d);
  }

  private void publish(String tenant, Day d) {
    TenantSettings.Budget b = budgets.get(tenant);
    if (b.tokensPerDay() != null) {
      remaining.put(tenant + "|tokens", (double) Math.max(0, b.tokensPerDay() - d.spentTokens - d.reservedTokens));
    }
    if (b.costPerDayUsd() != null) {
      remaining.put(tenant + "|cost_usd", Math.max(0, b.costPerDayUsd() - d.spentCost - d.reservedCost));
    }
  }

  /** What is left of a tenant's budget today, reservations taken off: tokens and USD (NaN where unlimited). */
  public double[] left(String tenant, long nowMs) {
    TenantSettings.Budget b = budgets.get(tenant);
    if (b == null) {
      return new double[] {Double.NaN, Double.NaN};
    }
    Day d = today(tenant, nowMs);
    return new double[] {
        b.tokensPerDay() == null ? Double.NaN : b.tokensPerDay() - d.spentTokens - d.reservedTokens,
        b.costPerDayUsd() == null ? Double.NaN : b.costPerDayUsd() - d.spentCost - d.reservedCost};
  }

  /** The worst-case cost of a prompt and completion on a route: prompt at its dearest input price. */
  static double cost(RouteSettings r, long prompt, long completion) {
    double in = Math.max(Math.max(price(r.priceInputPerMtok()), price(r.priceCachedInputPerMtok())),
        price(r.priceCacheWritePerMtok()));
    return (prompt * in + completion * price(r.priceOutputPerMtok())) / 1_000_000d;
  }

  /** The worst-case cost of {@code tokens} on a wire route: every token at its dearest price. */
  static double worstCost(Route r, long tokens) {
    if (r == null) {
      return 0;
    }
    double max = Math.max(Math.max(price(r.priceOutputPerMtok()), price(r.priceCacheWritePerMtok())),
        Math.max(price(r.priceInputPerMtok()), price(r.priceCachedInputPerMtok())));
    return tokens * max / 1_000_000d;
  }

  private static double price(Double p) {
    return p == null ? 0 : p;
  }

  private static String usd(double v) {
    return String.format(Locale.ROOT, "$%.4f", v);
  }
}
