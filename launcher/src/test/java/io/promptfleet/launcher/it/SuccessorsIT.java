package io.promptfleet.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.kafka.FleetEventHeaders;
import io.promptfleet.dispatcher.status.StatusSnapshot;
import io.promptfleet.simulator.SimulatorOptions;
import io.promptfleet.worker.WorkerOptions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * Successor assignments end to end ({@code dispatcher.successors}, issue 13): a dispatcher and two workers on a real
 * broker, a provider that takes its time, a key of few streams and a backlog many times its size. Successors are
 * written and run, every job gets one succeeded result, and the provider never sees more concurrent calls on the key
 * than its {@code max_concurrency}. With {@code auto} (the default) they are written only while every live worker's
 * heartbeat reports the current successor protocol.
 */
class SuccessorsIT {
  private static final int KEY_STREAMS = 4;
  private static final int JOBS = 48;
  private static final SimulatorOptions SLOW = SimulatorOptions.defaults().withFirstTokenDelayMs(150)
      .withTokensPerSecond(40);
  /**
   * How long {@code auto} listens to heartbeats before it opens ({@code dispatcher.successors_listen_ms}; 11 s by
   * default): the test knows every worker of its fleet, and each beats at once when it starts.
   */
  private static final long LISTEN_MS = 2_000;
  private static final Map<String, String> KEY = Map.of("keys.k1.max_concurrency", Integer.toString(KEY_STREAMS),
      "dispatcher.successors", "auto", "dispatcher.successors_listen_ms", Long.toString(LISTEN_MS));
  /** The workers' heartbeat interval (TestFleet starts them with the defaults). */
  private static final long HEARTBEAT_MS = WorkerOptions.defaults().heartbeatInterval().toMillis();

  @Test
  void shouldRunSuccessorsWithoutEverTakingTheKeyOverItsLimit() throws Exception {
    try (TestFleet fleet = TestFleet.start(2, SLOW, Map.of("dispatcher.successors", "true",
        "keys.k1.max_concurrency", Integer.toString(KEY_STREAMS)))) {
      assertThat(runBacklog(fleet)).as("assignments written as successors of a started lease").isPositive();
    }
  }

  @Test
  void shouldWriteSuccessorsInAutoOnceEveryWorkerReportsTheCurrentProtocol() throws Exception {
    try (TestFleet fleet = TestFleet.start(2, SLOW, KEY)) {
      awaitStatus(fleet, s -> s.dispatcher().successorsEnabled(), "successors enabled by the workers' heartbeats");

      assertThat(runBacklog(fleet)).as("assignments written as successors of a started lease").isPositive();
    }
  }

  /**
   * A worker that does not know {@code after_lease} (its heartbeat has no {@code successor_protocol}, as the workers
   * before it wrote them) would start a successor at once, over the key's limit: with it on the board, {@code auto}
   * writes none, however long the fleet has listened.
   */
  @Test
  void shouldWriteNoSuccessorInAutoWhileAWorkerDoesNotReportTheProtocol() throws Exception {
    ScheduledExecutorService oldWorker = Executors.newSingleThreadScheduledExecutor();
    try (TestFleet fleet = TestFleet.start(2, SLOW, KEY)) {
      String oldId = fleet.prefix + "-old-worker";
      oldWorker.scheduleWithFixedDelay(() -> {
        FleetEvent beat = FleetEvent.heartbeat(Instant.now(), oldId, 16, 16);
        fleet.produce(fleet.config.topics().fleetEvents(), oldId, Json.bytes(beat), FleetEventHeaders.of(beat));
      }, 0, 1, TimeUnit.SECONDS);
      awaitStatus(fleet, s -> s.workers().size() == 3, "the old worker and the two current ones on the board");
      // as long as the current workers alone would have needed to open the gate, and a heartbeat round more
      Thread.sleep(LISTEN_MS + HEARTBEAT_MS + 1_000);
      assertThat(fleet.dispatcher.dispatcher().status().dispatcher().successorsEnabled()).isFalse();

      assertThat(runBacklog(fleet)).as("successor assignments written").isZero();
    } finally {
      oldWorker.shutdownNow();
    }
  }

  /**
   * Runs a backlog of many times the key's streams: every job gets one succeeded result and the provider never sees
   * more than the key's streams at once. Returns how many assignments were written as successors.
   */
  private static long runBacklog(TestFleet fleet) {
    for (int i = 0; i < JOBS; i++) {
      String id = fleet.prefix + "-job-" + i;
      fleet.produceAsync(fleet.config.topics().jobs(Priority.NORMAL), id, fleet.job(id, "question " + i, 6));
    }
    fleet.flush();

    Map<String, List<Reply>> byJob = fleet.awaitResults(JOBS, Duration.ofSeconds(120));

    assertThat(byJob).hasSize(JOBS);
    for (var e : byJob.entrySet()) {
      List<Result> results = TestFleet.results(e.getValue());
      assertThat(results).as("results of %s", e.getKey()).hasSize(1);
      assertThat(results.get(0).status()).as("status of %s: %s", e.getKey(), results.get(0).error())
          .isEqualTo(JobStatus.SUCCEEDED);
    }
    assertThat(fleet.provider.stats().maxConcurrentRequests("Bearer sk-test-canary-" + fleet.prefix))
        .as("the key's concurrent calls at the provider").isLessThanOrEqualTo(KEY_STREAMS);
    var assignments = TestFleet.readUntil(fleet.config.kafka().bootstrapServers(), fleet.config.topics()
        .assignments(), Duration.ofSeconds(10), all -> all.size() >= JOBS);
    return assignments.stream().map(r -> Json.read(r.value(), Assignment.class)).filter(Assignment::isSuccessor)
        .count();
  }

  private static void awaitStatus(TestFleet fleet, Predicate<StatusSnapshot> until, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!until.test(fleet.dispatcher.dispatcher().status())) {
      assertThat(System.nanoTime()).as("waiting for: %s", what).isLessThan(deadline);
      Thread.sleep(100);
    }
  }
}
