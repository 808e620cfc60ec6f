package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.simulator.Fault;
import io.promptfleet.simulator.SimulatorOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A job_id on the cancels topic ends a job still queued at the dispatcher in exactly one cancelled result. */
class CancelIT {

  @Test
  void shouldAnswerAQueuedJobCancelledOnceAndNeverRunIt() throws Exception {
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0),
        Map.of("k", "{max_concurrency: 1}"), """
        models:
          sim:
            routes:
              - {provider: sim, model: sim}
        """)) {
      fleet.startDispatcher("d1");
      fleet.startWorkers(1);
      var t = fleet.config.topics();
      // The only stream of the key is busy for 3 s, so the next jobs wait in the dispatcher.
      fleet.produce(t.jobsNormal(), "busy", fleet.job("busy", "sim", "slow " + Fault.slow(3_000, 0).toDirective(),
          8));
      fleet.flush();
      assertThat(fleet.assignments(1, Duration.ofSeconds(30))).hasSize(1);
      fleet.produce(t.jobsNormal(), "queued", fleet.job("queued", "sim", "hi", 8));
      fleet.produce(t.jobsNormal(), "kept", fleet.job("kept", "sim", "hi", 8));
      fleet.flush();
      Thread.sleep(300);
      fleet.produce(t.cancels(), "queued", "\"queued\"".getBytes(StandardCharsets.UTF_8));
      // A cancel for a job not read yet is remembered until it arrives.
      fleet.produce(t.cancels(), "future", "{\"job_id\":\"future\"}".getBytes(StandardCharsets.UTF_8));
      fleet.flush();
      Thread.sleep(300);
      fleet.produce(t.jobsLow(), "future", fleet.job("future", "sim", "hi", 8));
      fleet.flush();

      Map<String, List<Result>> results = fleet.awaitResults(4, Duration.ofSeconds(60));
      for (String id : List.of("queued", "future")) {
        assertThat(results.get(id)).as(id).singleElement().satisfies(r -> {
          assertThat(r.status()).isEqualTo(JobStatus.CANCELLED);
          assertThat(r.error().code()).isEqualTo(ErrorCodes.CANCELLED);
        });
      }
      assertThat(results.get("kept")).singleElement()
          .satisfies(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED));
      assertThat(fleet.assignments(2, Duration.ofSeconds(5)).stream().map(a -> a.job().jobId()))
          .as("cancelled jobs are never assigned").containsExactlyInAnyOrder("busy", "kept");
    }
  }
}
