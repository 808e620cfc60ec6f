package io.promptfleet.worker.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.simulator.SimulatorOptions;
import io.promptfleet.worker.Worker;
import io.promptfleet.worker.WorkerOptions;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The reply producer's own Kafka metrics, on a real worker and the shared broker. */
class WorkerKafkaMetricsIT {
  private static final Duration WAIT = Duration.ofSeconds(30);

  private WorkerHarness h;

  @AfterEach
  void stop() throws Exception {
    if (h != null) {
      h.close();
    }
  }

  @Test
  void shouldBindTheReplyProducersKafkaMetricsUntilTheWorkerCloses() throws Exception {
    h = WorkerHarness.start(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0), "",
        "slots: 4, lanes: 1", Map.of());
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Worker w = h.addWorker(WorkerOptions.defaults(), registry);
    String jobId = h.jobId();
    h.send(h.assignment(jobId, "hello", 1));

    assertThat(h.awaitResult(jobId, WAIT).status()).isEqualTo(JobStatus.SUCCEEDED);
    assertThat(registry.get("kafka.producer.record.send.total").tag("client.id", "pf-" + w.id()).functionCounter()
        .count()).as("chunks, the result and fleet events were sent").isPositive();

    w.close();

    assertThat(registry.getMeters()).as("closed with the producer")
        .noneMatch(m -> m.getId().getName().startsWith("kafka."));
    assertThat(registry.get("promptfleet.worker.chunks").counter().count()).isPositive();
  }
}
