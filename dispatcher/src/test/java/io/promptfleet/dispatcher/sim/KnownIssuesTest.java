package io.promptfleet.dispatcher.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.promptfleet.common.job.Priority;
import io.promptfleet.dispatcher.sim.Step.Deadline;
import io.promptfleet.dispatcher.sim.Step.Failure;
import io.promptfleet.dispatcher.sim.Step.JobSpec;
import io.promptfleet.dispatcher.sim.Step.Limit;
import io.promptfleet.dispatcher.sim.Step.Outcome;
import io.promptfleet.dispatcher.sim.Step.Reply;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The {@link KnownIssues}, each shown by the shortest run that trips an invariant once the issue is switched on,
 * and passing with it off (the simulation keeps out of its trigger). These pin the bugs as they are today: when a
 * fix lands, the run with the issue on passes, this test fails, and the issue (with its test here) should go.
 */
class KnownIssuesTest {

  private static JobSpec job(Priority p, String model, String tenant, boolean forbidden) {
    return new JobSpec(p, model, tenant, Limit.MAX_TOKENS, 10, Deadline.NONE, 0, Reply.DEFAULT, 1, forbidden);
  }

  private static Step arrive(JobSpec... jobs) {
    return new Step.Arrive(List.of(jobs));
  }

  private static Step round() {
    return Simulation.ROUND;
  }

  /** Plays the steps (and the drain) with the issue on; returns what failed, or null. */
  private static Throwable run(String issue, List<Step> steps) {
    return catchThrowable(() -> {
      Simulation sim = new Simulation(KnownIssues.of(issue));
      steps.forEach(sim::play);
      sim.drain();
    });
  }

  private static void passesWithEveryIssueOff(List<Step> steps) {
    assertThatCode(() -> {
      Simulation sim = new Simulation(KnownIssues.of(""));
      steps.forEach(sim::play);
      sim.drain();
    }).doesNotThrowAnyException();
  }

  @Test
  void aRetryOfATenantsJobRunsOnASharedKeyWhenItsLastKeyWasTheTenantsOnlyKeyOfTheRoute() {
    // acme's only key of model mini's route is qa; the retry avoids qa and is offered q1, a shared key.
    List<Step> steps = List.of(arrive(job(Priority.HIGH, "mini", "acme", false)), round(),
        new Step.Work(0, Outcome.RETRY_5XX, 0), round(), new Step.Tick(1_000), round());

    assertThat(run(KnownIssues.TENANT_RETRY, steps)).hasMessageContaining("invariant 2")
        .hasMessageContaining("of tenant acme went to key q1 of tenant null");
    passesWithEveryIssueOff(steps);
  }

  @Test
  void aJobHandledAboveAWaitingOneIsHandledAgainAfterATakeover() {
    // Five of j1..j6 fill every shared key of model chat, j5 waits; j7 (same partition as j5, after it) is rejected
    // and answered. The partition's committed offset stays at j5; the successor reads j7 again and answers it again.
    // (The second round reads nothing: six jobs paused the high lane, the round resumes it after its poll.)
    JobSpec chat = job(Priority.HIGH, "chat", null, false);
    List<Step> steps = List.of(arrive(chat, chat, chat, chat), arrive(chat, chat), round(),
        arrive(job(Priority.HIGH, "chat", null, true), chat), round(), round(), new Step.Takeover(false), round());

    assertThat(run(KnownIssues.REREAD, steps)).hasMessageContaining("invariant 1")
        .hasMessageContaining("record llm.jobs.high-1@3 of job j7 was answered already, but is read again");
    passesWithEveryIssueOff(steps);
  }

  @Test
  void aJobDispatchedAboveAWaitingOneIsDispatchedAgainAfterAnAbortedTransaction() {
    // As above, but j7 is acme's (model mini, its own key qa is free): it is dispatched while j5 waits below it. A
    // later round aborts (its commit fails) and rewinds to the committed offsets: j7 is read and dispatched again,
    // a second assignment of the same attempt, so the job runs twice.
    JobSpec chat = job(Priority.HIGH, "chat", null, false);
    List<Step> steps = List.of(arrive(chat, chat, chat, chat), arrive(chat, chat), round(),
        arrive(job(Priority.HIGH, "mini", "acme", false)), round(), round(),
        arrive(job(Priority.LOW, "chat", null, true)), new Step.Round(Failure.COMMIT, 0), round());

    assertThat(run(KnownIssues.REREAD, steps)).hasMessageContaining("invariant 1")
        .hasMessageContaining("record llm.jobs.high-1@3 of job j7 was dispatched already, but is read again");
    passesWithEveryIssueOff(steps);
  }

  @Test
  void anArchivedAssignmentsAnswerIsLostWhenASendFailsWhileTheOutboxIsWritten() {
    // The share group archives j1's assignment after five deliveries; the round that reads the dead letter fails
    // at its first send (the answer), the abort keeps nothing, and the lease is released already.
    List<Step> steps = new ArrayList<>(List.of(arrive(job(Priority.HIGH, "chat", null, false)), round()));
    for (int i = 0; i < Simulation.DELIVERY_LIMIT; i++) {
      steps.add(new Step.Work(0, Outcome.WORKER_CRASH, 0));
    }
    steps.add(new Step.Round(Failure.SEND, 0));

    assertThat(run(KnownIssues.OUTBOX_SEND_FAILURE, steps)).hasMessageContaining("invariant 1")
        .hasMessageContaining("job j1 is lost");
    passesWithEveryIssueOff(steps);
  }

  @Test
  void anUnreadableFleetEventThatArrivesWhileNoDispatcherIsActiveIsNeverDeadLettered() {
    List<Step> steps = List.of(new Step.Garbage(Step.Where.FLEET_EVENT), round());

    assertThat(run(KnownIssues.FEEDBACK_DEAD_LETTER_GAP, steps)).hasMessageContaining("invariant 1 (drained)")
        .hasMessageContaining("unreadable record llm.fleet.events-0@0 dead-lettered 0 times");
    passesWithEveryIssueOff(steps);
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
    passesWithEveryIssueOff(steps);
  }

  @Test
  void aHighJobOfATenantWaitsBehindASharedJobOfItsModelWhileItsOwnKeyIsFree() {
    // Five of j1..j6 fill every shared key of model chat; j5 (shared) heads the high lane and cannot go, which
    // blocks the model for the round; j7 of tenant acme waits although acme's key pa is idle.
    JobSpec chat = job(Priority.HIGH, "chat", null, false);
    List<Step> steps = List.of(arrive(chat, chat, chat, chat), arrive(chat, chat,
        job(Priority.HIGH, "chat", "acme", false)), round(), new Step.Tick(10), round());

    assertThat(run(KnownIssues.HEAD_OF_LINE, steps)).hasMessageContaining("invariant 5")
        .hasMessageContaining("high job j7 (model chat, tenant acme) waits while key pa");
    passesWithEveryIssueOff(steps);
  }
}
