package io.promptfleet.dispatcher.sim;

import java.util.List;
import java.util.Locale;

/**
 * The tenants of a simulated fleet ({@code tenants:} in its configuration) and the settings that make their
 * competition visible: 2 to 4 tenants (acme always, whose keys {@code pa} and {@code qa} the base configuration
 * dedicates to it) with weights, dedicated keys of their own or only the shared ones, {@code shared_keys: false}
 * for some, and optional daily token and cost budgets that reject or queue; how many jobs the dispatcher may hold
 * in memory (more lets tenants' backlogs compete in the ready queues rather than wait in a spill partition); aging
 * (0: off); and how long before a UTC midnight the run starts, so that budgets see the day change.
 * {@link #NONE} is the fleet without tenants (the base configuration as it is). Immutable.
 *
 * @param tenants          acme first; empty: no {@code tenants:} block at all
 * @param maxBufferedJobs  {@code dispatcher.max_buffered_jobs}
 * @param agingMs          {@code dispatcher.priority.aging_ms}
 * @param beforeMidnightMs the run starts this long before a UTC midnight (0: at midnight, as without tenants)
 */
record SimTenants(List<Tenant> tenants, int maxBufferedJobs, long agingMs, long beforeMidnightMs) {
  /** The base configuration: no tenants (a job's own {@code tenant} field selects acme's keys). */
  static final SimTenants NONE = new SimTenants(List.of(), 16, 5_000, 0);

  /** Every name a tenant may have, acme first (the generators pick among the first n). */
  static final List<String> NAMES = List.of("acme", "beta", "gamma", "delta");

  /**
   * One tenant.
   *
   * @param keys          keys dedicated to it: none, one on provider p, or one on p and one on q (for acme, the
   *                      base configuration's {@code pa} and {@code qa}; those it does not own are shared)
   * @param tokensPerDay  {@code budget.tokens_per_day}, or null
   * @param costPerDayUsd {@code budget.cost_per_day_usd}, or null
   * @param queue         {@code budget.on_exceeded: queue} (else reject)
   */
  record Tenant(String name, int weight, boolean sharedKeys, Keys keys, Long tokensPerDay, Double costPerDayUsd,
      boolean queue) {
    boolean budgeted() {
      return tokensPerDay != null || costPerDayUsd != null;
    }

    /** Whether it has keys of its own on provider p / q (acme's are pa and qa of the base configuration). */
    boolean ownOn(String provider) {
      return keys == Keys.P_AND_Q || keys == Keys.P && provider.equals("p");
    }
  }

  /** Dedicated keys of a tenant. */
  enum Keys { NONE, P, P_AND_Q }

  boolean any() {
    return !tenants.isEmpty();
  }

  Tenant tenant(String name) {
    return tenants.stream().filter(t -> t.name.equals(name)).findFirst().orElse(null);
  }

  /** The fleet's configuration: {@code base} with these tenants, their keys, buffer size and aging. */
  String yaml(String base) {
    String y = base.replace("max_buffered_jobs: 16", "max_buffered_jobs: " + maxBufferedJobs)
        .replace("priority: {aging_ms: 5000}", "priority: {aging_ms: " + agingMs + "}");
    if (tenants.isEmpty()) {
      return y;
    }
    Tenant acme = tenant("acme");
    if (acme != null && !acme.ownOn("p")) {
      y = y.replaceFirst("(pa: \\{provider: p[^}]*?),\\s*tenant: acme}", "$1}"); // pa is shared
    }
    if (acme != null && !acme.ownOn("q")) {
      y = y.replaceFirst("(qa: \\{provider: q[^}]*?),\\s*tenant: acme}", "$1}"); // qa is shared
    }
    StringBuilder keys = new StringBuilder();
    for (Tenant t : tenants) {
      for (String provider : List.of("p", "q")) {
        if (!t.name.equals("acme") && t.ownOn(provider)) {
          keys.append("  ").append(provider).append('_').append(t.name).append(": {provider: ").append(provider)
              .append(", secret_env: PF_SIM, max_concurrency: 1, requests_per_minute: 30, tokens_per_minute: 6000,")
              .append(" tenant: ").append(t.name).append("}\n");
        }
      }
    }
    StringBuilder block = new StringBuilder("tenants:\n");
    for (Tenant t : tenants) {
      block.append("  ").append(t.name).append(":\n    weight: ").append(t.weight).append('\n')
          .append("    shared_keys: ").append(t.sharedKeys).append('\n');
      if (t.budgeted()) {
        block.append("    budget: {on_exceeded: ").append(t.queue ? "queue" : "reject");
        if (t.tokensPerDay != null) {
          block.append(", tokens_per_day: ").append(t.tokensPerDay);
        }
        if (t.costPerDayUsd != null) {
          block.append(", cost_per_day_usd: ").append(String.format(Locale.ROOT, "%.6f", t.costPerDayUsd));
        }
        block.append("}\n");
      }
    }
    return y.replace("models:\n", keys + "models:\n") + block;
  }

  @Override
  public String toString() {
    return tenants.isEmpty() ? "no tenants" : tenants + ", max_buffered_jobs " + maxBufferedJobs + ", aging_ms "
        + agingMs + ", starts " + beforeMidnightMs + " ms before midnight";
  }
}
