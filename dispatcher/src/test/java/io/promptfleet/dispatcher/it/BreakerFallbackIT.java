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
 * A route answering 30 % of its calls with HTTP 500 opens its circuit breaker (above the 5 % error trigger), and
 * the model's fallback route serves the traffic; the failed attempts are retried, so no job fails.
 */
class BreakerFallbackIT {

  @Test
  void shouldOpenTheBreakerOfAFailingRouteAndServeFromTheFallback() throws Exception {
    Map<String, String> keys = new LinkedHashMap<>();
    keys.put("primary", "{max_concurrency: 6}");
    keys.put("backup", "{max_concurrency: 6}");
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(10).withTokensPerSecond(0)
        .withDefaultCompletionTokens(4), keys, """
        models:
          chat:
            routes:
              - {provider: sim, model: model-a, keys: [primary]}
              - {provider: sim, model: model-b, keys: [backup]}
        dispatcher:
          retry: {base_ms: 20, cap_ms: 200, max_attempts: 8}
          breaker: {window_size: 40, minimum_calls: 20, open_ms: 120000}
        """)) {
      fleet.sim.faults().seed(42).forKey(fleet.auth("primary"), Fault.status(500).probability(0.3));
      var d = fleet.startDispatcher("d1");
      fleet.startWorkers(1);
      int jobs = 300;
      for (int i = 0; i < jobs; i++) {
        fleet.produce(fleet.config.topics().jobsNormal(), "j" + i, fleet.job("j" + i, "chat", "hi " + i, 8));
      }
      fleet.flush();

      Map<String, List<Result>> results = fleet.awaitResults(jobs, Duration.ofSeconds(90));

      assertThat(results).hasSize(jobs);
      assertThat(results.values()).allSatisfy(rs -> assertThat(rs).singleElement()
          .satisfies(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED)));
      long servedByFallback = results.values().stream().filter(rs -> rs.get(0).route().equals("sim/model-b"))
          .count();
      assertThat(servedByFallback).as("the fallback route serves once the primary's breaker opened")
          .isGreaterThan(jobs / 2);
      long primaryCalls = fleet.sim.stats().requestStarts(fleet.auth("primary")).size();
      assertThat(primaryCalls).as("an open breaker stops traffic to the failing route").isLessThan(jobs / 3);
      String metrics = Fleet.scrape(d);
      assertThat(metrics).containsPattern(
          "promptfleet_route_breaker_transitions_total\\{[^}]*route=\"sim/model-a\"[^}]*to=\"open\"");
      assertThat(metrics).containsPattern("promptfleet_route_breaker_state\\{[^}]*route=\"sim/model-a\"[^}]*} 2\\.0");
    }
  }
}
