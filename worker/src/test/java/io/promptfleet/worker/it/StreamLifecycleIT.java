package io.promptfleet.worker.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.kafka.embedded.KafkaTestSupport;
import io.promptfleet.simulator.SimulatorOptions;
import io.promptfleet.worker.Worker;
import io.promptfleet.worker.WorkerOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Cancellation, drain and lock renewal of a real worker on the shared broker. */
class StreamLifecycleIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  /** About 4 s: 16 tokens at 4 tokens/s. */
  private static final String SLOW = " [[sim:slow ttft_ms=10 tps=4]]";
  private WorkerHarness h;

  private WorkerHarness harness(Map<String, String> groupConfigs) throws Exception {
    return harness("slots: 8, lanes: 2", groupConfigs);
  }

  private WorkerHarness harness(String workerYaml, Map<String, String> groupConfigs) throws Exception {
    h = WorkerHarness.start(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0), "",
        workerYaml, groupConfigs);
    return h;
  }

  @AfterEach
  void stop() throws Exception {
    if (h != null) {
      h.close();
    }
  }

  @Test
  void shouldAbortAStreamWhenItsCancelArrivesAndPublishOneCancelledResult() throws Exception {
    harness(Map.of()).addWorker(WorkerOptions.defaults());
    String jobId = h.jobId();
    h.send(h.assignment(jobId, "a long answer" + SLOW, 1));
    h.awaitFirstChunk(jobId);

    h.cancel(jobId);
    Result result = h.awaitResult(jobId, WAIT);

    assertThat(result.status()).isEqualTo(JobStatus.CANCELLED);
    assertThat(result.error().code()).isEqualTo(ErrorCodes.CANCELLED);
    assertThat(result.attempt()).isEqualTo(1);
    assertThat(h.tokensStreamed(jobId, 1)).as("cut short").isLessThan(16);
    FleetEvent released = h.awaitReleased(jobId, 1, WAIT).get(0);
    assertThat(released.outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.CANCELLED);
    assertThat(h.retries(jobId)).isEmpty();
    Thread.sleep(300);
    assertThat(h.results(jobId)).hasSize(1);
  }

  /**
   * A lane busy with its batch takes nothing new, and a share group gives each lane only some partitions of the
   * assignments topic: with several partitions, a job on a partition whose lanes are all busy waits although other
   * lanes are idle (measured in dev mode: half the key's concurrency idle). Three of four lanes (two workers) hold
   * stalled streams; each of three quick jobs must still be run by the idle lane while the stalls go on.
   *
   * <p>A busy lane's share consumer may have acquired a quick job in the background that it hands out only after
   * its own batch (the stall) is done (Kafka 4.4.0's share consumer, see docs/DESIGN.md, "Fleet utilisation"): such a
   * job reaches the idle lane once its acquisition lock expires. So the group's lock is 10 s here, not the default
   * 30 s, which equals this test's wait (a CI run failed so). A job on a partition whose lanes are all busy (the
   * several-partitions case this test is about) never reaches the idle lane, whatever the lock.
   */
  @Test
  void shouldRunAJobOnTheIdleLaneWhileTheFleetsOtherLanesAreBusy() throws Exception {
    harness("slots: 2, lanes: 2", Map.of("share.record.lock.duration.ms", "10000"));
    h.addWorker(WorkerOptions.defaults());
    h.addWorker(WorkerOptions.defaults());
    List<String> stalled = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      String jobId = h.jobId();
      h.send(h.assignment(jobId, "hold a lane [[sim:stall after=1]]", 1));
      h.awaitFirstChunk(jobId); // one lane holds it: a lane's batch is one assignment here
      stalled.add(jobId);
    }

    for (int i = 0; i < 3; i++) {
      String quick = h.jobId();
      h.send(h.assignment(quick, "quick " + i, 1));
      assertThat(h.awaitResult(quick, WAIT).status()).as("quick job %d, run by the idle lane", i)
          .isEqualTo(JobStatus.SUCCEEDED);
    }

    for (String jobId : stalled) {
      assertThat(h.results(jobId)).as("still stalled while the quick jobs ran").isEmpty();
      h.cancel(jobId);
    }
    for (String jobId : stalled) {
      assertThat(h.awaitResult(jobId, WAIT).status()).isEqualTo(JobStatus.CANCELLED);
    }
  }

  /**
   * An idle worker parks the lanes beyond {@code worker.idle_lanes}: they leave the share group (the broker's member
   * count shows it). A burst bigger than the open lane's batch brings them all back into the group, and every job of
   * it is answered once, as attempt 1.
   */
  @Test
  void shouldParkAnIdleWorkersSurplusLanesAndRejoinThemForABurst() throws Exception {
    harness("slots: 8, lanes: 4, idle_lanes: 1", Map.of());
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    h.addWorker(WorkerOptions.defaults().withParkLanesAfter(Duration.ofMillis(300)), registry);
    String group = h.config.worker().shareGroup();
    try (Admin admin = KafkaTestSupport.admin(h.config.kafka().bootstrapServers())) {
      awaitMembers(admin, group, 1);
      assertThat(registry.get("promptfleet.worker.lanes.open").gauge().value()).isEqualTo(1.0);

      List<String> jobs = new ArrayList<>();
      long burst = System.nanoTime();
      for (int i = 0; i < 8; i++) { // the open lane takes 2 (its batch: 8 slots / 4 lanes)
        jobs.add(h.jobId());
        h.send(h.assignment(jobs.get(i), "burst " + i + " [[sim:slow ttft_ms=10 tps=16]]", 1));
      }
      awaitMembers(admin, group, 4);
      System.out.printf("StreamLifecycleIT: the parked lanes were back in the share group %d ms after the burst%n",
          (System.nanoTime() - burst) / 1_000_000);
      for (String j : jobs) {
        Result r = h.awaitResult(j, WAIT);
        assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
        assertThat(r.attempt()).isEqualTo(1);
      }
      awaitMembers(admin, group, 1); // idle again
      Thread.sleep(300);
      for (String j : jobs) {
        assertThat(h.results(j)).hasSize(1);
      }
    }
  }

  private static void awaitMembers(Admin admin, String group, int members) throws Exception {
    long until = System.nanoTime() + WAIT.toNanos();
    int seen = -1;
    while (System.nanoTime() < until) {
      try {
        seen = admin.describeShareGroups(List.of(group)).describedGroups().get(group).get().members().size();
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof GroupIdNotFoundException)) {
          throw e;
        }
        seen = 0; // no lane joined yet
      }
      if (seen == members) {
        return;
      }
      Thread.sleep(50);
    }
    assertThat(seen).as("members of share group %s", group).isEqualTo(members);
  }

  /**
   * A share partition's new leader (after a broker failover) delivers again, with delivery count 1, an assignment
   * whose worker answered it and released its lease: not run again, no second result.
   */
  @Test
  void shouldNotRunAnAssignmentWhoseLeaseWasReleasedAlready() throws Exception {
    harness(Map.of());
    var early = h.assignment(h.jobId(), "released before the worker started", 1);
    release(early);
    Worker w = h.addWorker(WorkerOptions.defaults());
    assertThat(sawReleased(w, early.leaseId())).as("a release of the minute before its start").isTrue();
    String jobId = h.jobId();
    var a = h.assignment(jobId, "answered by another worker", 1);
    var released = io.promptfleet.common.job.FleetEvent.leaseReleased(a,
        io.promptfleet.common.job.LeaseOutcome.SUCCEEDED).by("another-worker", java.time.Instant.now());
    // its gist header alone says so: the worker does not parse the value of an event that has one
    h.produce(new org.apache.kafka.clients.producer.ProducerRecord<>(h.config.topics().fleetEvents(), null,
        a.keyId(), "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8),
        io.promptfleet.common.kafka.FleetEventHeaders.of(released)));
    assertThat(sawReleased(w, a.leaseId())).as("the worker saw the release").isTrue();
    long requestsBefore = h.sim.stats().totalRequests();
    String control = h.jobId();

    h.sendTo(0, a); // one partition, in order: a lane hands them out one after the other
    h.sendTo(0, h.assignment(control, "a fresh one", 1));
    h.awaitResult(control, WAIT);

    assertThat(h.results(jobId)).as("not run again").isEmpty();
    assertThat(h.chunks(jobId, 1)).isEmpty();
    assertThat(h.sim.stats().totalRequests()).as("only the fresh one").isEqualTo(requestsBefore + 1);
  }

  private static boolean sawReleased(Worker w, String leaseId) throws InterruptedException {
    long until = System.nanoTime() + WAIT.toNanos();
    while (!w.isLeaseReleased(leaseId) && System.nanoTime() < until) {
      Thread.sleep(20);
    }
    return w.isLeaseReleased(leaseId);
  }

  /** A release as a worker wrote it before fleet events had a gist header: read from its JSON. */
  private void release(io.promptfleet.common.job.Assignment a) {
    h.produce(h.config.topics().fleetEvents(), a.keyId(), io.promptfleet.common.codec.Json.bytes(
        io.promptfleet.common.job.FleetEvent.leaseReleased(a, io.promptfleet.common.job.LeaseOutcome.SUCCEEDED)
            .by("another-worker", java.time.Instant.now())));
  }

  /**
   * A share partition's new leader may deliver an assignment again to the worker that still runs it, or has just
   * answered it, before any fleet event says so (BrokerFailoverIT saw both: one worker answering one lease twice). The
   * same lease arrives three times: to the other lane while it streams, then once more after its result. One
   * upstream call, one result; every delivery is acknowledged (the control job after them runs).
   */
  @Test
  void shouldRunALeaseOnceWhenItsAssignmentIsDeliveredAgainWhileItRunsAndAfter() throws Exception {
    harness(Map.of()).addWorker(WorkerOptions.defaults());
    String jobId = h.jobId();
    var a = h.assignment(jobId, "answered once [[sim:slow ttft_ms=10 tps=20]]", 1); // ~0.8 s
    long requestsBefore = h.sim.stats().totalRequests();
    h.sendTo(0, a);
    h.awaitFirstChunk(jobId);

    h.sendTo(0, a); // the other lane takes it: the first holds its batch until the stream ends
    h.awaitResult(jobId, WAIT);
    h.sendTo(0, a);
    String control = h.jobId();
    h.sendTo(0, h.assignment(control, "after them", 1));
    h.awaitResult(control, WAIT);

    assertThat(h.sim.stats().totalRequests()).as("one call for the lease, one for the control job")
        .isEqualTo(requestsBefore + 2);
    assertThat(h.results(jobId)).hasSize(1);
    h.assertStreamedAnswer(jobId, 1, h.results(jobId).get(0));
    assertThat(h.chunks(jobId, 2)).isEmpty();
  }

  /**
   * A share partition's new leader may deliver an assignment to a second worker while the first still streams it
   * (the fault suite saw two workers answer one lease). The first worker's {@code lease_started} claim, while it is
   * alive (heartbeats), holds the delivery: not run; once that run's release comes, accepted without running. A
   * claim of a worker silent for longer than two heartbeats and a second does not hold: that lease runs at once.
   */
  @Test
  void shouldHoldALeaseAnotherLiveWorkerRunsAndRunOneOfAGoneWorker() throws Exception {
    harness(Map.of()).addWorker(WorkerOptions.defaults());
    String jobId = h.jobId();
    var claimed = h.assignment(jobId, "streamed by another worker", 1);
    var orphan = h.assignment(h.jobId(), "claimed by a worker gone since", 1);
    java.time.Instant now = java.time.Instant.now();
    event(io.promptfleet.common.job.FleetEvent.heartbeat(now, "other-worker", 8, 7));
    event(io.promptfleet.common.job.FleetEvent.leaseStarted(claimed, "other-worker", now));
    event(io.promptfleet.common.job.FleetEvent.leaseStarted(orphan, "gone-worker", now.minusSeconds(60)));
    long requestsBefore = h.sim.stats().totalRequests();

    h.sendTo(0, claimed);
    h.sendTo(0, orphan);
    assertThat(h.awaitResult(orphan.job().jobId(), WAIT).status()).isEqualTo(JobStatus.SUCCEEDED);
    Thread.sleep(500); // the claimed one waits meanwhile
    assertThat(h.chunks(jobId, 1)).as("held, not run").isEmpty();
    release(claimed);
    String control = h.jobId();
    h.sendTo(0, h.assignment(control, "after them", 1));
    h.awaitResult(control, WAIT);

    assertThat(h.results(jobId)).as("the other worker's run answers it").isEmpty();
    assertThat(h.sim.stats().totalRequests()).as("the orphan and the control job").isEqualTo(requestsBefore + 2);
  }

  /** An event as workers write it now: the JSON and its gist header. */
  private void event(io.promptfleet.common.job.FleetEvent e) {
    h.produce(new org.apache.kafka.clients.producer.ProducerRecord<>(h.config.topics().fleetEvents(), null,
        e.workerId(), io.promptfleet.common.codec.Json.bytes(e), io.promptfleet.common.kafka.FleetEventHeaders.of(e)));
  }

  @Test
  void shouldCancelAnAssignmentThatArrivesJustAfterItsCancelWithoutCallingTheProvider() throws Exception {
    Worker w = harness(Map.of()).addWorker(WorkerOptions.defaults());
    String jobId = h.jobId();
    h.cancel(jobId);
    h.awaitCancelSeen(w, jobId);
    long requestsBefore = h.sim.stats().totalRequests();

    h.send(h.assignment(jobId, "never asked", 1));
    Result result = h.awaitResult(jobId, WAIT);

    assertThat(result.status()).isEqualTo(JobStatus.CANCELLED);
    assertThat(h.chunks(jobId, 1)).isEmpty();
    assertThat(h.sim.stats().totalRequests()).isEqualTo(requestsBefore);
  }

  @Test
  void shouldHandBackAStreamThatOutlivesTheDrainGraceSoAnotherWorkerRunsItAsTheNextAttempt() throws Exception {
    Worker first = harness(Map.of()).addWorker(WorkerOptions.defaults());
    String jobId = h.jobId();
    h.send(h.assignment(jobId, "a long answer" + SLOW, 1));
    h.awaitFirstChunk(jobId);

    CompletableFuture<Void> drained = CompletableFuture.runAsync(() -> first.drain(Duration.ofMillis(300)));
    Thread.sleep(50);
    assertThat(first.notReadyReason()).isEqualTo("draining");
    assertThat(first.freeSlots()).isZero();
    drained.get(30, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(h.results(jobId)).as("a handed-back attempt publishes no result").isEmpty();
    assertThat(h.awaitReleased(jobId, 1, WAIT).get(0).outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.HANDED_BACK);

    h.addWorker(WorkerOptions.defaults());
    Result result = h.awaitResult(jobId, WAIT);

    assertThat(result.status()).isEqualTo(JobStatus.SUCCEEDED);
    assertThat(result.attempt()).as("redelivered: deliveryCount 2 makes attempt 2").isEqualTo(2);
    h.assertStreamedAnswer(jobId, 2, result);
    Thread.sleep(300);
    assertThat(h.results(jobId)).hasSize(1);
  }

  @Test
  void shouldLetStreamsFinishWithinTheDrainGrace() throws Exception {
    Worker w = harness(Map.of()).addWorker(WorkerOptions.defaults());
    String jobId = h.jobId();
    h.send(h.assignment(jobId, "short" + " [[sim:slow ttft_ms=10 tps=20]]", 1));
    h.awaitFirstChunk(jobId);

    w.drain(Duration.ofSeconds(20));

    assertThat(h.results(jobId)).singleElement().satisfies(r -> {
      assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
      assertThat(r.attempt()).isEqualTo(1);
    });
  }

  @Test
  void shouldNeverHoldMoreAssignmentsThanItHasSlots() throws Exception {
    Worker w = harness("slots: 2, lanes: 1", Map.of()).addWorker(WorkerOptions.defaults());
    List<String> jobs = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      jobs.add(h.jobId());
      h.send(h.assignment(jobs.get(i), "job " + i + " [[sim:slow ttft_ms=10 tps=20]]", 1));
    }
    int mostActive = 0;
    long until = System.nanoTime() + WAIT.toNanos();
    while (h.results(jobs.get(4)).isEmpty() && System.nanoTime() < until) {
      mostActive = Math.max(mostActive, w.activeStreams());
      assertThat(w.freeSlots()).isBetween(0, 2);
      Thread.sleep(10);
    }

    for (String j : jobs) {
      assertThat(h.awaitResult(j, WAIT).status()).isEqualTo(JobStatus.SUCCEEDED);
    }
    assertThat(mostActive).isEqualTo(2);
    assertThat(h.sim.stats().maxConcurrentRequests("Bearer " + h.secret)).isEqualTo(2);
  }

  @Test
  void shouldRenewLongStreamsSoTheyKeepTheirLockAndFinishAsAttempt1() throws Exception {
    // a 1 s lock: the lane renews every 500 ms; four 4 s streams in one lane, one 0.3 s stream finishing while
    // the others are renewed
    harness(Map.of("share.record.lock.duration.ms", "1000"));
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    h.addWorker(WorkerOptions.defaults(), registry);
    List<String> jobs = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      jobs.add(h.jobId());
      h.send(h.assignment(jobs.get(i), "long " + i + SLOW, 1));
    }
    String quick = h.jobId();
    h.send(h.assignment(quick, "quick [[sim:slow ttft_ms=10 tps=50]]", 1));

    for (String j : jobs) {
      Result r = h.awaitResult(j, WAIT);
      assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
      assertThat(r.attempt()).as("never redelivered").isEqualTo(1);
    }
    assertThat(h.awaitResult(quick, WAIT).attempt()).isEqualTo(1);
    assertThat(registry.get("promptfleet.worker.lock.renewals").counter().count()).isGreaterThan(3);
    Thread.sleep(1500); // past a lock: an assignment not acknowledged would come back now
    for (String j : jobs) {
      assertThat(h.results(j)).hasSize(1);
      assertThat(h.released(j)).hasSize(1);
    }
  }
}
