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
 * Two models on one priority topic, as a new user would try it: 3,000 jobs for a slow model whose key allows two
 * streams, then 20 jobs for a fast model. The slow model's backlog beyond its share of the buffer goes to its
 * spill topic instead of pausing the topic, so the fast model's jobs are read and answered at once (before the
 * spill topics, none of the 20 was answered within 45 s).
 */
class ModelIsolationIT {

  @Test
  void shouldAnswerTheFastModelPromptlyBehindTheSlowModelsBacklog() throws Exception {
    try (Fleet fleet = Fleet.twoModels(2, 4)) {
      DispatcherService d = fleet.startDispatcher("d1");
      Fleet.awaitActive(d, Duration.ofSeconds(60));
      fleet.startWorkers(1);
      String topic = fleet.config.topics().jobsNormal();
      String slow = "slow " + Fault.slow(30_000, 0).toDirective();
      int backlog = 3_000;
      for (int i = 0; i < backlog; i++) {
        fleet.produce(topic, "s" + i, fleet.job("s" + i, "slow", slow, 8));
      }
      fleet.flush();
      int fast = 20;
      long start = System.nanoTime();
      for (int i = 0; i < fast; i++) {
        fleet.produce(topic, "f" + i, fleet.job("f" + i, "fast", "hi " + i, 8));
      }
      fleet.flush();

      Map<String, List<Result>> results = fleet.awaitResults(fast, Duration.ofSeconds(30));
      long tookMs = (System.nanoTime() - start) / 1_000_000;

      for (int i = 0; i < fast; i++) {
        assertThat(results.get("f" + i)).as("f%d answered", i).isNotNull().singleElement()
            .satisfies(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED));
      }
      assertThat(tookMs).as("the fast model's 20 jobs, behind a 3,000-job backlog of the slow one").isLessThan(15_000);
      assertThat(results.keySet().stream().filter(k -> k.startsWith("s"))).as("the slow model is busy").isEmpty();
      assertThat(Fleet.counter(d, "promptfleet_dispatcher_spill_backlog")).as("they wait there: the backlog gauge")
          .isGreaterThanOrEqualTo(backlog - fleet.config.dispatcher().maxBufferedJobs());
      assertThat(Fleet.counter(d, "promptfleet_dispatcher_spilled_total")).as("the slow model's jobs beyond its share went to its spill topic")
          .isGreaterThanOrEqualTo(backlog - fleet.config.dispatcher().maxBufferedJobs());
    }
  }

}
