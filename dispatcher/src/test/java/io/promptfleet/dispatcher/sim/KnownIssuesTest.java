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

  @Test
  void aTakeoverGivesBothLinksOfASuccessorChainAUnit() {
    // t1-0 (mini, on q) only shifts the ids: t1-1 (L) on p2 (max_concurrency 1), t1-2 (S1) follows it, L ends, S1
    // starts and its lease_started is read, t1-3 (S2) follows S1. The fresh dispatcher meets t1-3 before t1-2.
    JobSpec pinned = job(Priority.HIGH, "pinned", null, false);
    List<Step> steps = List.of(arrive(job(Priority.HIGH, "mini", null, false)), round(),
        arrive(pinned, pinned, pinned), round(), round(), new Step.Work(1, Step.Outcome.SUCCEEDED, 50), round(),
        new Step.Takeover(false), round());

    assertThat(run(KnownIssues.SUCCESSOR_CHAIN_TAKEOVER, true, steps)).hasMessageContaining("key p2 has 2 leases in flight, max_concurrency 1")
        .hasMessageContaining("t1-3 (job j3, round 4, RUNNING, after t1-2, granted)");
    assertThat(run("", true, steps)).isNull();
  }

  @Test
  void aTakeoverMakesAGrantedSuccessorWaitAgainForItsRunningPredecessor() {
    // q1 (max_concurrency 2) runs t1-0 and t1-1; t1-2 follows t1-0; t1-1 ends without a successor, so t1-2 takes its
    // unit (granted) and starts while t1-0 runs. A fresh dispatcher makes t1-2 wait for t1-0 again: one unit looks
    // free, and the next job goes to q1 as a third call.
    JobSpec mini = job(Priority.HIGH, "mini", null, false);
    List<Step> steps = List.of(arrive(mini, mini, mini), round(), round(),
        new Step.Work(1, Step.Outcome.SUCCEEDED, 50), round(), arrive(mini), new Step.Takeover(false), round());

    assertThat(run(KnownIssues.SUCCESSOR_GRANT_TAKEOVER, true, steps))
        .hasMessageContaining("key q1 has 3");
    assertThat(run("", true, steps)).isNull();
  }

  @Test
  void aGrantLostWithAnAbortedRoundIsWrittenAfterAStandByForASuccessorThatWaitsAgain() {
    // q1 runs t1-0 and t1-1, t1-2 follows t1-0; t1-1 ends, its unit goes to t1-2, but the round's transaction
    // fails: the grant waits for the next. The same instance stands by and comes back: t1-2 waits for t1-0 again,
    // and the old lease_granted is written; the next job goes to q1 as a third call.
    JobSpec mini = job(Priority.HIGH, "mini", null, false);
    List<Step> steps = List.of(arrive(mini, mini, mini), round(), round(),
        new Step.Work(1, Step.Outcome.SUCCEEDED, 50), new Step.Round(Step.Failure.COMMIT, 0), arrive(mini),
        new Step.Takeover(true), round());

    assertThat(run(KnownIssues.SUCCESSOR_GRANT_AFTER_STANDBY, true, steps)).hasMessageContaining("key q1 has 3");
    assertThat(run("", true, steps)).isNull();
  }
}
