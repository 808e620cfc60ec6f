package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.dispatcher.DispatcherService;
import io.promptfleet.simulator.Fault;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A dispatcher hands over (a rolling restart) while a job waits for its key below jobs it dispatched and answered
 * in the same partition: the committed offset stays at the waiting job, and the successor reads the partition again
 * from there. The offset commit's metadata names what was handled above it, so the successor skips those records:
 * no job is dispatched or answered twice. A job produced twice runs once with one result, before the handover and
 * after it (the successor learns the ids dispatched before it from the assignments it reads back).
 */
class HandoverIT {

  @Test
  void shouldNotDispatchOrAnswerAgainWhatWasHandledAboveAWaitingJob() throws Exception {
    try (Fleet fleet = Fleet.twoModels(1, 4)) {
      DispatcherService first = fleet.startDispatcher("d1");
      Fleet.awaitActive(first, Duration.ofSeconds(60));
      fleet.startWorkers(1);
      String topic = fleet.config.topics().jobsNormal();
      String partition = "one-partition"; // every job in one partition, in this order
      // s0 holds the slow model's only stream for 20 s, so s1 waits at the partition's committed offset.
      fleet.produce(topic, partition, fleet.job("s0", "slow", "long " + Fault.slow(20_000, 0).toDirective(), 8));
      fleet.produce(topic, partition, fleet.job("s1", "slow", "waits", 8));
      int fast = 20;
      for (int i = 0; i < fast; i++) {
        fleet.produce(topic, partition, fleet.job("f" + i, "fast", "hi " + i, 8));
      }
      fleet.produce(topic, partition, fleet.job("r0", "no-such-model", "rejected at once", 8));
      // produced twice (a producer's retry, a batch re-run): runs once, one result (idempotent job ids)
      fleet.produce(topic, partition, fleet.job("f0", "fast", "hi 0", 8));
      fleet.produce(topic, partition, fleet.job("m0", "fast", "after the copy", 8));
      fleet.flush();
      Map<String, List<Result>> before = fleet.awaitResults(fast + 2, Duration.ofSeconds(60));
      assertThat(before).as("the fast jobs and the rejected one are answered while s1 waits").hasSize(fast + 2)
          .doesNotContainKeys("s0", "s1");
      double duplicatesBefore = Fleet.counter(first, "promptfleet_dispatcher_duplicates_total");

      first.close();
      DispatcherService second = fleet.startDispatcher("d2");
      Fleet.awaitActive(second, Duration.ofSeconds(60));
      // the successor knows the ids dispatched before it took over (from the assignments it read back)
      fleet.produce(topic, partition, fleet.job("f1", "fast", "hi 1", 8));
      fleet.produce(topic, partition, fleet.job("m1", "fast", "after the copy", 8));
      fleet.flush();
      long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      double skipped = 0;
      while (skipped < fast + 2 && System.nanoTime() < until) {
        Thread.sleep(200);
        skipped = Fleet.counter(second, "promptfleet_dispatcher_records_skipped_total");
      }

      fleet.awaitResults(fast + 3, Duration.ofSeconds(30));
      Map<String, List<Result>> after = fleet.awaitResults(Integer.MAX_VALUE, Duration.ofSeconds(3));
      assertThat(after).containsKey("m1");
      for (int i = 0; i < fast; i++) {
        assertThat(after.get("f" + i)).as("f%d: one result", i).singleElement()
            .satisfies(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED));
      }
      assertThat(after.get("r0")).as("the rejected job: one result").singleElement()
          .satisfies(r -> assertThat(r.status()).isEqualTo(JobStatus.REJECTED));
      assertThat(fleet.assignments(Integer.MAX_VALUE, Duration.ofSeconds(2)).stream()
          .filter(a -> a.job().jobId().startsWith("f"))).as("one assignment per fast job").hasSize(fast);
      assertThat(skipped).as("records the successor read again and skipped").isGreaterThanOrEqualTo(fast + 2);
      assertThat(duplicatesBefore).as("the copy of f0").isEqualTo(1.0);
      assertThat(Fleet.counter(second, "promptfleet_dispatcher_duplicates_total")).as("the copy of f1").isEqualTo(1.0);
    }
  }
}
