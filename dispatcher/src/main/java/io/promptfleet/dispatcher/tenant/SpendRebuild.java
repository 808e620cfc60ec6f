package io.promptfleet.dispatcher.tenant;

import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.common.job.Usage;
import io.promptfleet.dispatcher.intake.Inbound;
import java.time.LocalDate;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Rebuilds the tenants' spend of today when a dispatcher takes over, from what the loop owner read back for the
 * lease table ({@code ha.Takeover}): the assignments and fleet events of the lookback, the spend snapshots among
 * them included. Exact, never under the truth:
 *
 * <ul>
 *   <li>the newest snapshot of a tenant's day gives what was settled when it was taken, and the leases in flight
 *       then with their reservations;</li>
 *   <li>each of those leases, and each assignment of the tenant dispatched that day at or after the snapshot (or
 *       since the day began, without one), counts once: its reported usage when its {@code lease_released} was
 *       read back; its worst case, spent, when that release is the one a dispatcher wrote for an archived
 *       assignment (no usage: unknown); else its worst case, reserved again whether its lease is still held or
 *       expired, as the active dispatcher held it, so that a release read later (a worker may release an expired
 *       lease) settles it to its usage.</li>
 * </ul>
 *
 * A snapshot is written in the same transaction as the round that changed the spend and rewritten well within the
 * lookback ({@link TenantBudgets#snapshotsDue}), so the newest is always read back.
 *
 * <p>Not thread-safe: used once, on the dispatcher thread.
 */
public final class SpendRebuild {

  /** An assignment read back: the charge it would hold, and when it was dispatched. */
  private record Dispatched(TenantBudgets.Charge charge, String tenant, long atMs) {}

  private final TenantBudgets budgets;
  private final Map<String, SpendSnapshot> newest = new HashMap<>();
  private final Map<String, Dispatched> dispatched = new LinkedHashMap<>();
  private final Map<String, FleetEvent> releases = new HashMap<>();

  SpendRebuild(TenantBudgets budgets) {
    this.budgets = budgets;
  }

  /** An assignment of the lookback, with the token reservation the lease table rebuilt for it. */
  public void assignment(Assignment a, long reservedTokens, long atMs) {
    String tenant = a.job().tenant();
    String model = budgets.modelOf(a.job().model());
    TenantBudgets.Charge c = new TenantBudgets.Charge(budgets.tagOf(tenant), model, TenantBudgets.dayOf(atMs),
        reservedTokens, TenantBudgets.worstCost(a.route(), reservedTokens), a.route());
    dispatched.put(a.leaseId(), new Dispatched(c, tenant, atMs));
  }

  /**
   * A lease restored from a dispatcher state snapshot, with the reservation its predecessor held for it: counted as
   * an assignment of the lookback would be (dispatched at {@code atMs}).
   */
  public void restored(String leaseId, TenantBudgets.Charge charge, String tenant, long atMs) {
    dispatched.put(leaseId, new Dispatched(charge, tenant, atMs));
  }

  /** A fleet-events record that {@link SpendSnapshot#is} a snapshot. Unreadable ones are skipped. */
  public void snapshot(Inbound r) {
    SpendSnapshot s = SpendSnapshot.read(r);
    if (s == null) {
      return;
    }
    String k = s.tenant() + "|" + s.day();
    SpendSnapshot old = newest.get(k);
    if (old == null || s.atMs() >= old.atMs()) {
      newest.put(k, s);
    }
  }

  /** A {@code lease_released} of the lookback ({@code handed_back} ones are not releases). */
  public void released(FleetEvent e) {
    if (e.leaseId() != null && e.outcome() != LeaseOutcome.HANDED_BACK) {
      releases.put(e.leaseId(), e);
    }
  }

  /**
   * Replaces the budgets' state with the rebuilt one.
   *
   * @param held the leases the lease table holds after the rebuild (still in flight)
   */
  public void finish(long nowMs, Set<String> held) {
    budgets.reset();
    long today = TenantBudgets.dayOf(nowMs);
    String day = LocalDate.ofEpochDay(today).toString();
    Map<String, Boolean> counted = new HashMap<>();
    for (String tenant : budgets.budgeted()) {
      SpendSnapshot s = newest.get(tenant + "|" + day);
      long tokens = s == null ? 0 : s.tokens();
      double cost = s == null ? 0 : s.costUsd();
      long since = s == null ? today * TenantBudgets.DAY_MS : s.atMs();
      Map<String, TenantBudgets.Charge> inFlight = new LinkedHashMap<>();
      Map<String, TenantBudgets.Charge> count = new LinkedHashMap<>();
      if (s != null) {
        s.inFlight().forEach((id, r) -> {
          Dispatched d = dispatched.get(id);
          count.put(id, new TenantBudgets.Charge(tenant, d == null ? "*" : d.charge().model(), today, r.tokens(),
              r.costUsd(), d == null ? null : d.charge().route()));
        });
      }
      dispatched.forEach((id, d) -> {
        if (tenant.equals(d.tenant()) && d.charge().day() == today && d.atMs() >= since) {
          count.putIfAbsent(id, d.charge());
        }
      });
      for (var e : count.entrySet()) {
        TenantBudgets.Charge c = e.getValue();
        FleetEvent rel = releases.get(e.getKey());
        if (rel != null && !TenantBudgets.usageUnknown(rel)) {
          Usage u = rel.usage();
          tokens += u == null ? 0 : u.totalTokens();
          Double x = c.route() == null ? null : c.route().cost(u);
          cost += x == null ? 0 : x;
        } else if (rel == null) {
          // Held or not (expired): the live dispatcher keeps it reserved until a release settles it, and a worker
          // may still release an expired lease, with the usage the provider charged.
          inFlight.put(e.getKey(), c);
        } else {
          tokens += c.tokens();
          cost += c.cost();
        }
        counted.put(e.getKey(), true);
      }
      budgets.restored(tenant, today, tokens, cost, inFlight, nowMs);
      inFlight.forEach(budgets::restoredCharge);
    }
    // Leases of tenants without a budget (or of other days) still feed the meters when they are released.
    dispatched.forEach((id, d) -> {
      if (!counted.containsKey(id) && held.contains(id) && !releases.containsKey(id)) {
        budgets.restoredCharge(id, d.charge());
      }
    });
  }
}
