package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.dispatcher.DispatcherService;
import io.promptfleet.dispatcher.testing.LogCapture;
import io.promptfleet.simulator.SimulatorOptions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A dispatcher hands over while most of a model's backlog waits in its spill topic (a small buffer: 10 jobs per
 * model and lane in memory): the successor reads the spill partition from its committed offset and skips what
 * was handled; every job gets exactly one result, none is lost or run twice.
 */
class SpillHandoverIT {

  @Test
  void shouldAnswerEveryJobOnceWhenADispatcherHandsOverWithJobsSpilled() throws Exception {
    Map<String, String> keys = new LinkedHashMap<>();
    keys.put("k", "{max_concurrency: 2}");
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0)
        .withDefaultCompletionTokens(3), keys, """
        models:
          m:
            routes:
              - {provider: sim, model: m}
        dispatcher:
          max_buffered_jobs: 40
        """)) {
      DispatcherService first = fleet.startDispatcher("d1");
      Fleet.awaitActive(first, Duration.ofSeconds(60));
      fleet.startWorkers(1);
      int jobs = 200;
      for (int i = 0; i < jobs; i++) {
        fleet.produce(fleet.config.topics().jobsNormal(), "j" + i, fleet.job("j" + i, "m", "hi " + i, 4));
      }
      fleet.flush();
      assertThat(fleet.awaitResults(40, Duration.ofSeconds(60))).as("some answered by the first").hasSizeGreaterThan(30);

      first.close();
      DispatcherService second = fleet.startDispatcher("d2");
      Fleet.awaitActive(second, Duration.ofSeconds(60));

      Map<String, List<Result>> results = fleet.awaitResults(jobs, Duration.ofSeconds(90));
      Map<String, List<Result>> settled = fleet.awaitResults(Integer.MAX_VALUE, Duration.ofSeconds(2));
      assertThat(results).as("every job answered").hasSize(jobs);
      assertThat(settled.values()).allSatisfy(rs -> assertThat(rs).as("exactly one result").singleElement()
          .satisfies(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED)));
      assertThat(fleet.assignments(Integer.MAX_VALUE, Duration.ofSeconds(2))).as("one assignment per job")
          .hasSize(jobs);
    }
  }

  @Test
  void shouldNameASpillTopicOfAModelNoLongerConfiguredThatStillHoldsJobs() throws Exception {
    Map<String, String> keys = new LinkedHashMap<>();
    keys.put("k", "{max_concurrency: 2}");
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults(), keys, """
        models:
          m:
            routes:
              - {provider: sim, model: m}
        """); LogCapture logs = new LogCapture()) {
      String orphan = fleet.config.topics().prefix() + ".jobs.spill.gone";
      try (var admin = org.apache.kafka.clients.admin.Admin.create(Map.of("bootstrap.servers",
          fleet.config.kafka().bootstrapServers()))) {
        admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(orphan, 4, (short) 1))).all().get();
      }
      fleet.produce(orphan, "left", fleet.job("left", "gone", "spilled before the model was removed", 4));
      fleet.flush();

      Fleet.awaitActive(fleet.startDispatcher("d1"), Duration.ofSeconds(60));

      assertThat(logs.containing("SPILL TOPIC OF A MODEL NO LONGER CONFIGURED")).singleElement()
          .satisfies(l -> assertThat(l.message()).contains(orphan).contains("holds 1 record"));
    }
  }
}
