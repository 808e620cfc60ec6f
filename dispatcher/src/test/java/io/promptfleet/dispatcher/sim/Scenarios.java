package io.promptfleet.dispatcher.sim;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.promptfleet.common.job.Priority;
import io.promptfleet.dispatcher.sim.Step.Deadline;
import io.promptfleet.dispatcher.sim.Step.JobSpec;
import io.promptfleet.dispatcher.sim.Step.Limit;
import io.promptfleet.dispatcher.sim.Step.Reply;
import java.util.List;

/** Hand-written runs of the simulation ({@code KnownIssuesTest}, {@code FixedIssuesTest}): steps, and playing them. */
final class Scenarios {
  private Scenarios() {}

  /** A one-word job with max_tokens 10, no deadline, the default reply topic. */
  static JobSpec job(Priority p, String model, String tenant, boolean forbidden) {
    return new JobSpec(p, model, tenant, Limit.MAX_TOKENS, 10, Deadline.NONE, 0, Reply.DEFAULT, 1, forbidden);
  }

  static Step arrive(JobSpec... jobs) {
    return new Step.Arrive(List.of(jobs));
  }

  static Step round() {
    return Simulation.ROUND;
  }

  /** Plays the steps (and the drain) with {@code issues} on; returns what failed, or null. */
  static Throwable run(String issues, List<Step> steps) {
    return run(issues, false, steps);
  }

  /** As {@link #run(String, List)}, with {@code dispatcher.successors} on or off. */
  static Throwable run(String issues, boolean successors, List<Step> steps) {
    return catchThrowable(() -> play(issues, successors, steps));
  }

  /** Plays the steps and the drain; returns the simulation (for what it counted). */
  static Simulation play(String issues, boolean successors, List<Step> steps) {
    return play(issues, SimTenants.NONE, successors, steps);
  }

  private static Simulation play(String issues, SimTenants tenants, boolean successors, List<Step> steps) {
    Simulation sim = new Simulation(KnownIssues.of(issues), tenants, successors);
    steps.forEach(sim::play);
    sim.drain();
    return sim;
  }

  /** Every invariant holds through the steps and the drain, with no known issue on. */
  static void holds(List<Step> steps) {
    holds(false, steps);
  }

  /** As {@link #holds(List)}, with {@code dispatcher.successors} on or off. */
  static void holds(boolean successors, List<Step> steps) {
    assertThatCode(() -> play("", successors, steps)).doesNotThrowAnyException();
  }

  /** As {@link #holds(List)}, in a fleet with {@code tenants}. */
  static void holds(SimTenants tenants, List<Step> steps) {
    assertThatCode(() -> play("", tenants, false, steps)).doesNotThrowAnyException();
  }
}
