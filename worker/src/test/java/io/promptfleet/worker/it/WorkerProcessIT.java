package io.promptfleet.worker.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.simulator.SimulatorOptions;
import io.promptfleet.worker.WorkerOptions;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A worker in a child JVM, killed mid-stream: with SIGKILL, and with SIGTERM (drain, exit 0). */
class WorkerProcessIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  /** About 4 s: 16 tokens at 4 tokens/s. */
  private static final String SLOW = " [[sim:slow ttft_ms=10 tps=4]]";
  private WorkerHarness h;
  private Process child;

  @BeforeEach
  void start() throws Exception {
    // A killed worker stays a member of the share group, holding its partitions, until its session times out
    // (45 s by default; 3 s here): only then do its records go to another member.
    h = WorkerHarness.start(SimulatorOptions.defaults().withFirstTokenDelayMs(5), "", "slots: 4, lanes: 1",
        Map.of("share.session.timeout.ms", "3000"));
  }

  @AfterEach
  void stop() throws Exception {
    if (child != null && child.isAlive()) {
      child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    h.close();
  }

  private Process startChild(long graceMs) throws Exception {
    Path yaml = Files.createTempFile("worker-child", ".yaml");
    Files.writeString(yaml, h.yaml);
    yaml.toFile().deleteOnExit();
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-Xmx256m", "-D" + h.secretVar + "=" + h.secret,
        "-cp", System.getProperty("java.class.path"), WorkerChild.class.getName(), yaml.toString(),
        h.prefix + "-child", Long.toString(graceMs))
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line = CompletableFuture.supplyAsync(() -> {
      try {
        return out.readLine();
      } catch (java.io.IOException e) {
        return null;
      }
    }).get(90, TimeUnit.SECONDS);
    assertThat(line).as("child worker").isEqualTo("READY");
    return p;
  }

  /**
   * Three streams on a worker killed with SIGKILL: one mid-stream, which another worker runs again; one whose
   * result and one whose retry request were already written (as if the worker died between its terminal record and
   * the ACCEPT, simulated by writing the record here), which the other worker does not run again: no second result,
   * no second retry.
   */
  @Test
  void shouldCompleteAJobOnAnotherWorkerWhenItsWorkerIsKilledMidStream() throws Exception {
    String jobId = h.jobId();
    String answered = h.jobId();
    String retried = h.jobId();
    // All three on one partition before the worker starts, so its lane acquires them with its first poll (a lane
    // polls again only when its whole batch is done). The two answered ones stall after 2 chunks: the child never
    // finishes them.
    String stall = " " + io.promptfleet.simulator.Fault.stall(2).toDirective();
    var retriedAssignment = h.assignment(retried, "retry requested before the kill" + stall, 1);
    h.sendTo(0, h.assignment(answered, "answered before the kill" + stall, 1));
    h.sendTo(0, retriedAssignment);
    h.sendTo(0, h.assignment(jobId, "a long answer" + SLOW, 1));
    child = startChild(30_000);
    h.awaitFirstChunk(answered);
    h.awaitFirstChunk(retried);
    h.awaitFirstChunk(jobId);
    h.produce(h.config.topics().defaultReplyTo(), answered, io.promptfleet.common.codec.Json.bytes(
        Result.terminal(answered, JobStatus.SUCCEEDED, null, null, 1)));
    h.produce(h.config.topics().jobsRetry(), retried, io.promptfleet.common.codec.Json.bytes(
        new io.promptfleet.common.job.RetryRequest(retriedAssignment, 2, null, null)));
    assertThat(h.results(jobId)).as("still streaming when killed").isEmpty();

    child.destroyForcibly(); // SIGKILL
    assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
    long killedAt = System.nanoTime();
    h.addWorker(WorkerOptions.defaults());
    Result result = h.awaitResult(jobId, WAIT);
    System.out.printf("kill -9: result of the redelivered job %d ms after the kill%n",
        (System.nanoTime() - killedAt) / 1_000_000);

    assertThat(result.status()).isEqualTo(JobStatus.SUCCEEDED);
    assertThat(result.attempt()).as("the redelivery is attempt 2").isEqualTo(2);
    assertThat(h.chunks(jobId, 1)).as("the dead worker's partial attempt").isNotEmpty();
    h.assertStreamedAnswer(jobId, 2, result);
    List<FleetEvent> released = h.awaitReleased(jobId, 1, WAIT);
    Thread.sleep(500);
    assertThat(h.results(jobId)).hasSize(1);
    assertThat(h.released(jobId)).singleElement().satisfies(e -> assertThat(e.outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.SUCCEEDED));
    assertThat(released.get(0).workerId()).isEqualTo(h.prefix + "-w0");

    List<FleetEvent> releasedAnswered = h.awaitReleased(answered, 1, WAIT);
    assertThat(releasedAnswered).as("the lease of the answered attempt is released by the second worker")
        .singleElement().satisfies(e -> {
          assertThat(e.outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.SUCCEEDED);
          assertThat(e.workerId()).isEqualTo(h.prefix + "-w0");
        });
    assertThat(h.results(answered)).as("no second result").hasSize(1);
    assertThat(h.chunks(answered, 2)).as("not run again").isEmpty();
    assertThat(h.awaitReleased(retried, 1, WAIT)).as("its retry request was written: the dispatcher runs it next")
        .singleElement().satisfies(e -> assertThat(e.outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.RETRY));
    assertThat(h.chunks(retried, 2)).as("not run again by the share group").isEmpty();
    assertThat(h.results(retried)).isEmpty();
  }

  @Test
  void shouldDrainOnSigtermHandBackWhatOutlivesTheGraceAndExit0() throws Exception {
    child = startChild(500);
    String jobId = h.jobId();
    h.send(h.assignment(jobId, "a long answer" + SLOW, 1));
    h.awaitFirstChunk(jobId);

    child.destroy(); // SIGTERM
    assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(child.exitValue()).isZero();
    assertThat(h.awaitReleased(jobId, 1, WAIT).get(0).outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.HANDED_BACK);
    assertThat(h.results(jobId)).isEmpty();
    h.addWorker(WorkerOptions.defaults());
    Result result = h.awaitResult(jobId, WAIT);

    assertThat(result.status()).isEqualTo(JobStatus.SUCCEEDED);
    assertThat(result.attempt()).isEqualTo(2);
  }
}
