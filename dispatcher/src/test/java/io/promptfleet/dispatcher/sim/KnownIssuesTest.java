package io.promptfleet.dispatcher.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static io.promptfleet.dispatcher.sim.Scenarios.arrive;
import static io.promptfleet.dispatcher.sim.Scenarios.holds;
import static io.promptfleet.dispatcher.sim.Scenarios.job;
import static io.promptfleet.dispatcher.sim.Scenarios.round;
import static io.promptfleet.dispatcher.sim.Scenarios.run;

import io.promptfleet.common.job.Priority;
import io.promptfleet.dispatcher.sim.Step.Deadline;
import io.promptfleet.dispatcher.sim.Step.JobSpec;
import io.promptfleet.dispatcher.sim.Step.Limit;
import io.promptfleet.dispatcher.sim.Step.Reply;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The {@link KnownIssues}, each shown by the shortest run that trips an invariant once the issue is switched on,
 * and passing with it off (the simulation keeps out of its trigger). These pin the bugs as they are today: when a
 * fix lands, the run with the issue on passes, this test fails, and the issue (with its test here) should go.
 */
class KnownIssuesTest {

  @Test
  void anUnreadableFleetEventThatArrivesWhileNoDispatcherIsActiveIsNeverDeadLettered() {
    List<Step> steps = List.of(new Step.Garbage(Step.Where.FLEET_EVENT), round());

    assertThat(run(KnownIssues.FEEDBACK_DEAD_LETTER_GAP, steps)).hasMessageContaining("invariant 1 (drained)")
        .hasMessageContaining("unreadable record llm.fleet.events-0@0 dead-lettered 0 times");
    holds(steps);
  }

  @Test
  void aTakeoverForgetsARunningLeaseOfAJobWhoseDeadlineIsLongerThanTheDefaultTtl() {
    // j1 sets ttl_ms 900 s (default_job_ttl_ms is 600 s, so rebuild_lookback_ms 620 s) and runs on p2 (one stream
    // at most). 700 s later a fresh dispatcher takes over: the assignment is older than the lookback.
    JobSpec longJob = new JobSpec(Priority.HIGH, "pinned", null, Limit.MAX_TOKENS, 10, Deadline.TTL, 900_000,
        Reply.DEFAULT, 1, false);
    List<Step> steps = List.of(arrive(longJob), round(), new Step.Tick(300_000), round(), new Step.Tick(300_000),
        round(), new Step.Tick(100_000), round(), new Step.Takeover(false), round());

    assertThat(run(KnownIssues.LOOKBACK, steps)).hasMessageContaining("invariant 3")
        .hasMessageContaining("lease t1-0 of job j1 on key p2").hasMessageContaining("the dispatcher does not hold it");
    holds(steps);
  }
}
