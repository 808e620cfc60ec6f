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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The fallback policy on a real broker: a primary route whose one key allows one stream is busy most of the time
 * under a burst. By default the jobs wait for it (every result names the primary, the fallback model gets nothing);
 * with {@code overflow: true} on the primary, some go to the fallback while the primary is busy, and the
 * dispatcher counts them ({@code promptfleet.route.fallbacks}, reason overflow; the status shows them).
 */
class FallbackPolicyIT {
  private static final int JOBS = 24;

  private static Map<String, List<Result>> run(boolean overflow, String[] metricsOut) throws Exception {
    Map<String, String> keys = new LinkedHashMap<>();
    keys.put("primary", "{max_concurrency: 1}");
    keys.put("backup", "{max_concurrency: 4}");
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(40).withTokensPerSecond(0)
        .withDefaultCompletionTokens(4), keys, """
        models:
          chat:
            routes:
              - {provider: sim, model: model-a, keys: [primary], overflow: %s}
              - {provider: sim, model: model-b, keys: [backup]}
        """.formatted(overflow))) {
      var d = fleet.startDispatcher("d1");
      fleet.startWorkers(1);
      for (int i = 0; i < JOBS; i++) {
        fleet.produce(fleet.config.topics().jobsNormal(), "j" + i, fleet.job("j" + i, "chat", "hi " + i, 8));
      }
      fleet.flush();

      Map<String, List<Result>> results = fleet.awaitResults(JOBS, Duration.ofSeconds(30));
      HttpClient http = HttpClient.newHttpClient();
      metricsOut[0] = Fleet.scrape(d);
      Thread.sleep(600); // one status period
      metricsOut[1] = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + d.httpPort()
          + "/api/status")).build(), HttpResponse.BodyHandlers.ofString()).body();
      assertThat(results).hasSize(JOBS);
      assertThat(results.values()).allSatisfy(rs -> assertThat(rs).singleElement()
          .satisfies(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED)));
      return results;
    }
  }

  private static long onRoute(Map<String, List<Result>> results, String route) {
    return results.values().stream().filter(rs -> route.equals(rs.get(0).route())).count();
  }

  @Test
  void shouldKeepJobsWaitingForABusyPrimaryByDefault() throws Exception {
    String[] out = new String[2];
    Map<String, List<Result>> results = run(false, out);

    assertThat(onRoute(results, "sim/model-a")).as("every job waited for the primary").isEqualTo(JOBS);
    assertThat(out[0]).doesNotContain("promptfleet_route_fallbacks_total{");
  }

  @Test
  void shouldOverflowToTheFallbackWhileTheOptedInPrimaryIsBusy() throws Exception {
    String[] out = new String[2];
    Map<String, List<Result>> results = run(true, out);

    long fallback = onRoute(results, "sim/model-b");
    assertThat(fallback).as("jobs the busy primary overflowed").isPositive();
    assertThat(onRoute(results, "sim/model-a") + fallback).isEqualTo(JOBS);
    assertThat(out[0]).containsPattern("promptfleet_route_fallbacks_total\\{[^}]*from=\"sim/model-a\"[^}]*"
        + "reason=\"overflow\"[^}]*to=\"sim/model-b\"[^}]*} [1-9]");
    assertThat(out[1]).contains("\"name\":\"sim/model-b\"").containsPattern(
        "\"name\":\"sim/model-b\",\"breaker\":\"CLOSED\",\"slow\":false,\"fallbacks_in\":[1-9]");
  }
}
