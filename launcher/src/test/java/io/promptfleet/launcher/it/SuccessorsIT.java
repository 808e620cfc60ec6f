package io.promptfleet.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.Result;
import io.promptfleet.simulator.SimulatorOptions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Successor assignments end to end ({@code dispatcher.successors}, issue 13): a dispatcher and two workers on a real
 * broker, a provider that takes its time, a key of few streams and a backlog many times its size. Successors are
 * written and run, every job gets one succeeded result, and the provider never sees more concurrent calls on the key
 * than its {@code max_concurrency}.
 */
class SuccessorsIT {
  private static final int KEY_STREAMS = 4;

  @Test
  void shouldRunSuccessorsWithoutEverTakingTheKeyOverItsLimit() throws Exception {
    SimulatorOptions slow = SimulatorOptions.defaults().withFirstTokenDelayMs(150).withTokensPerSecond(40);
    try (TestFleet fleet = TestFleet.start(2, slow, Map.of("dispatcher.successors", "true",
        "keys.k1.max_concurrency", Integer.toString(KEY_STREAMS)))) {
      int n = 48;
      for (int i = 0; i < n; i++) {
        String id = fleet.prefix + "-job-" + i;
        fleet.produceAsync(fleet.config.topics().jobs(Priority.NORMAL), id, fleet.job(id, "question " + i, 6));
      }
      fleet.flush();

      Map<String, List<Reply>> byJob = fleet.awaitResults(n, Duration.ofSeconds(120));

      assertThat(byJob).hasSize(n);
      for (var e : byJob.entrySet()) {
        List<Result> results = TestFleet.results(e.getValue());
        assertThat(results).as("results of %s", e.getKey()).hasSize(1);
        assertThat(results.get(0).status()).as("status of %s: %s", e.getKey(), results.get(0).error())
            .isEqualTo(JobStatus.SUCCEEDED);
      }
      assertThat(fleet.provider.stats().maxConcurrentRequests("Bearer sk-test-canary-" + fleet.prefix))
          .as("the key's concurrent calls at the provider").isLessThanOrEqualTo(KEY_STREAMS);
      var assignments = TestFleet.readUntil(fleet.config.kafka().bootstrapServers(), fleet.config.topics()
          .assignments(), Duration.ofSeconds(10), all -> all.size() >= n);
      long successors = assignments.stream().map(r -> Json.read(r.value(), Assignment.class))
          .filter(Assignment::isSuccessor).count();
      assertThat(successors).as("assignments written as successors of a started lease").isPositive();
    }
  }
}
