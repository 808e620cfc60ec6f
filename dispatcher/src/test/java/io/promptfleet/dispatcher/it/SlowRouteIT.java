package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.simulator.SimulatorOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A slow but healthy route with no fallback keeps serving: every first token takes longer than the route's
 * {@code slow_call_ms}, far above the slow-call rate, yet nothing is stopped. The slowness is reported: the
 * {@code promptfleet.route.slow} gauge, the status ({@code slow: true}) and the breaker state still closed.
 */
class SlowRouteIT {

  @Test
  void shouldKeepServingFromASlowButHealthyRouteWithoutFallback() throws Exception {
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(150).withTokensPerSecond(0)
        .withDefaultCompletionTokens(4), Map.of("only", "{max_concurrency: 8}"), """
        models:
          think:
            routes:
              - {provider: sim, model: model-a, breaker: {slow_call_ms: 50, window_size: 20, open_ms: 120000}}
        """)) {
      var d = fleet.startDispatcher("d1");
      fleet.startWorkers(1);
      int jobs = 60;
      for (int i = 0; i < jobs; i++) {
        fleet.produce(fleet.config.topics().jobsNormal(), "j" + i, fleet.job("j" + i, "think", "hi " + i, 8));
      }
      fleet.flush();

      Map<String, List<Result>> results = fleet.awaitResults(jobs, Duration.ofSeconds(30));

      assertThat(results).hasSize(jobs);
      assertThat(results.values()).allSatisfy(rs -> assertThat(rs).singleElement()
          .satisfies(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED)));
      HttpClient http = HttpClient.newHttpClient();
      String metrics = Fleet.scrape(d);
      assertThat(metrics).as("reported slow").containsPattern(
          "promptfleet_route_slow\\{[^}]*route=\"sim/model-a\"[^}]*} 1\\.0");
      assertThat(metrics).as("never stopped").containsPattern(
          "promptfleet_route_breaker_state\\{[^}]*route=\"sim/model-a\"[^}]*} 0\\.0");
      assertThat(metrics).containsPattern("promptfleet_route_breaker_transitions_total\\{[^}]*route=\"sim/model-a\""
          + "[^}]*to=\"open\"[^}]*trigger=\"slow\"");
      Thread.sleep(600); // one status period
      String status = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + d.httpPort()
          + "/api/status")).build(), HttpResponse.BodyHandlers.ofString()).body();
      assertThat(status).contains("\"name\":\"sim/model-a\",\"breaker\":\"CLOSED\",\"slow\":true");
    }
  }
}
