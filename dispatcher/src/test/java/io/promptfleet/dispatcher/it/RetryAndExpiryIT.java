package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.simulator.Fault;
import io.promptfleet.simulator.SimulatorOptions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The dispatcher owns retries: a job whose every attempt fails transiently is retried with backoff up to
 * max_attempts, then ends in one failed result with retries_exhausted and the last error; a job that cannot start
 * before its deadline ends in one expired result.
 */
class RetryAndExpiryIT {

  @Test
  void shouldGiveUpAfterMaxAttemptsAndExpireJobsThatCannotStartInTime() throws Exception {
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0),
        Map.of("k", "{max_concurrency: 1}"), """
        models:
          sim:
            routes:
              - {provider: sim, model: sim}
        dispatcher:
          retry: {base_ms: 50, cap_ms: 100, max_attempts: 3}
          breaker: {minimum_calls: 100}
        """)) {
      fleet.startDispatcher("d1");
      fleet.startWorkers(1);
      var t = fleet.config.topics();
      fleet.produce(t.jobsNormal(), "doomed", fleet.job("doomed", "sim", "x " + Fault.status(503).toDirective(), 8));
      fleet.flush();
      Map<String, List<Result>> first = fleet.awaitResults(1, Duration.ofSeconds(60));
      assertThat(first.get("doomed")).singleElement().satisfies(r -> {
        assertThat(r.status()).isEqualTo(JobStatus.FAILED);
        assertThat(r.error().code()).isEqualTo(ErrorCodes.RETRIES_EXHAUSTED);
        assertThat(r.error().message()).contains("after 3 attempt(s)").contains(ErrorCodes.UPSTREAM_ERROR);
      });
      List<Assignment> attempts = fleet.readUntil(t.assignments(), Duration.ofSeconds(5), rs -> rs.size() >= 3)
          .stream().map(r -> Json.read(r.value(), Assignment.class)).toList();
      assertThat(attempts).extracting(Assignment::attempt).containsExactly(1, 2, 3);
      assertThat(attempts.get(0).lastError()).as("a first attempt has no last error").isNull();
      assertThat(attempts.subList(1, 3)).as("a retry carries why the previous attempt failed")
          .allSatisfy(a -> assertThat(a.lastError()).isNotNull()
              .satisfies(e -> assertThat(e.code()).isEqualTo(ErrorCodes.UPSTREAM_ERROR)));

      // The key's only stream is busy for 3 s; a job with a 1 s ttl cannot start in time.
      fleet.produce(t.jobsNormal(), "busy", fleet.job("busy", "sim", "slow " + Fault.slow(3_000, 0).toDirective(),
          8));
      fleet.flush();
      assertThat(fleet.assignments(4, Duration.ofSeconds(30))).hasSize(4);
      var late = Json.mapper().readTree(fleet.job("late", "sim", "hi", 8));
      ((com.fasterxml.jackson.databind.node.ObjectNode) late).put("ttl_ms", 1_000);
      fleet.produce(t.jobsHigh(), "late", Json.bytes(late));
      fleet.flush();

      Map<String, List<Result>> results = fleet.awaitResults(3, Duration.ofSeconds(60));
      assertThat(results.get("late")).singleElement().satisfies(r -> {
        assertThat(r.status()).isEqualTo(JobStatus.EXPIRED);
        assertThat(r.error().code()).isEqualTo(ErrorCodes.DEADLINE_EXCEEDED);
      });
      assertThat(results.get("busy")).singleElement()
          .satisfies(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED));
      assertThat(results.get("doomed")).hasSize(1);
    }
  }
}
