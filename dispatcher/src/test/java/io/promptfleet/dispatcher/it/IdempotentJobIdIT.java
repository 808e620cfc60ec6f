package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.dispatcher.DispatcherService;
import io.promptfleet.simulator.SimulatorOptions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A job produced more than once (a producer's retry, a batch re-run after a crash) runs once and has one result:
 * again after it was answered, twice in a row while the first copy runs, and again after another dispatcher took
 * over (which learns the ids it must not run again from the assignments it reads back). A job after the copies, in
 * the same partition, shows they were all handled.
 */
class IdempotentJobIdIT {

  @Test
  void shouldRunAJobProducedSeveralTimesOnceWithOneResult() throws Exception {
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(300).withTokensPerSecond(0),
        Map.of("k", "{max_concurrency: 4}"), """
        models:
          sim:
            routes:
              - {provider: sim, model: sim}
        """)) {
      DispatcherService first = fleet.startDispatcher("d1");
      Fleet.awaitActive(first, Duration.ofSeconds(60));
      fleet.startWorkers(1);
      String topic = fleet.config.topics().jobsNormal();
      String partition = "one-partition";

      fleet.produce(topic, partition, fleet.job("answered", "sim", "hi", 8));
      fleet.flush();
      assertThat(fleet.awaitResults(1, Duration.ofSeconds(30))).containsKey("answered");
      fleet.produce(topic, partition, fleet.job("answered", "sim", "hi again", 8));
      fleet.produce(topic, partition, fleet.job("twice", "sim", "hi", 8));
      fleet.produce(topic, partition, fleet.job("twice", "sim", "hi", 8));
      fleet.produce(topic, partition, fleet.job("marker-1", "sim", "hi", 8));
      fleet.flush();
      Map<String, List<Result>> before = fleet.awaitResults(3, Duration.ofSeconds(30));
      assertThat(before).containsKey("marker-1");
      double firstDuplicates = Fleet.counter(first, "promptfleet_dispatcher_duplicates_total");

      first.close();
      DispatcherService second = fleet.startDispatcher("d2");
      Fleet.awaitActive(second, Duration.ofSeconds(60));
      fleet.produce(topic, partition, fleet.job("answered", "sim", "after the takeover", 8));
      fleet.produce(topic, partition, fleet.job("twice", "sim", "after the takeover", 8));
      fleet.produce(topic, partition, fleet.job("marker-2", "sim", "hi", 8));
      fleet.flush();
      Map<String, List<Result>> all = fleet.awaitResults(4, Duration.ofSeconds(30));

      assertThat(all).containsKey("marker-2");
      for (String id : List.of("answered", "twice", "marker-1", "marker-2")) {
        assertThat(all.get(id)).as("%s: one result", id).singleElement()
            .satisfies(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED));
      }
      assertThat(fleet.assignments(Integer.MAX_VALUE, Duration.ofSeconds(2)).stream()
          .filter(a -> a.job().jobId().equals("answered") || a.job().jobId().equals("twice")))
          .as("one run each").hasSize(2);
      assertThat(firstDuplicates).as("the copies before the takeover").isEqualTo(2.0);
      assertThat(Fleet.counter(second, "promptfleet_dispatcher_duplicates_total")).as("and after").isEqualTo(2.0);
    }
  }
}
