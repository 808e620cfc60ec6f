package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.simulator.Fault;
import io.promptfleet.simulator.SimulatorOptions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A 429 storm on one key (every request answered 429 with retry-after-ms) moves traffic to the other keys: the
 * stormed key cools down after each 429, retries go to other keys, and no job fails.
 */
class RateLimitStormIT {

  @Test
  void shouldMoveTrafficToOtherKeysDuringAStormOnOneKeyWithNoFailedJob() throws Exception {
    Map<String, String> keys = new LinkedHashMap<>();
    keys.put("k1", "{max_concurrency: 4}");
    keys.put("k2", "{max_concurrency: 4}");
    keys.put("k3", "{max_concurrency: 4}");
    // Breaker defaults (open above 10 % 429s): a storm on one key cools that key down and does not open the
    // route, since 429s from a key already cooling down count once.
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(20).withTokensPerSecond(0)
        .withDefaultCompletionTokens(4), keys, """
        models:
          sim:
            routes:
              - {provider: sim, model: sim}
        dispatcher:
          retry: {base_ms: 20, cap_ms: 200, max_attempts: 6}
        """)) {
      fleet.sim.faults().forKey(fleet.auth("k1"), Fault.status(429).retryAfterMs(400));
      fleet.startDispatcher("d1");
      fleet.startWorkers(1);
      int jobs = 300;
      for (int i = 0; i < jobs; i++) {
        fleet.produce(fleet.config.topics().jobsNormal(), "j" + i, fleet.job("j" + i, "sim", "hi " + i, 8));
      }
      fleet.flush();

      Map<String, List<Result>> results = fleet.awaitResults(jobs, Duration.ofSeconds(90));

      assertThat(results).hasSize(jobs);
      assertThat(results.values()).allSatisfy(rs -> assertThat(rs).singleElement()
          .satisfies(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED)));
      long stormed = fleet.sim.stats().requestStarts(fleet.auth("k1")).size();
      long k2 = fleet.sim.stats().requestStarts(fleet.auth("k2")).size();
      long k3 = fleet.sim.stats().requestStarts(fleet.auth("k3")).size();
      assertThat(stormed).as("the stormed key was tried, then cooled down").isPositive();
      assertThat(stormed).as("most traffic moved away from the stormed key").isLessThan(jobs / 4);
      assertThat(k2 + k3).isGreaterThanOrEqualTo(jobs);
      String metrics = Fleet.scrape(fleet.dispatchers.get(0));
      assertThat(metrics).as("the route stayed closed").containsPattern(
          "promptfleet_route_breaker_state\\{[^}]*route=\"sim/sim\"[^}]*} 0\\.0");
      assertThat(metrics).as("the stormed key cooled down").containsPattern(
          "promptfleet_key_events_total\\{[^}]*event=\"cooldown\"[^}]*key=\"k1\"[^}]*} [1-9]");
      assertThat(fleet.assignments(jobs, Duration.ofSeconds(10)).stream().filter(a -> a.attempt() > 1)
          .filter(a -> a.keyId().equals("k1")).count()).as("retries avoid the key that failed them when others "
          + "have room").isLessThan(jobs / 10);
    }
  }
}
