package io.promptfleet.bench.fleet;

import io.promptfleet.bench.fleet.FleetChecker.Report;
import io.promptfleet.simulator.Fault;
import io.promptfleet.simulator.SimulatorOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.common.TopicPartition;

/**
 * The fault suite: the fleet (3 brokers, 2 dispatchers, N workers) under a steady load from an upstream that
 * itself answers some requests 429 or 500 and cuts some streams; one fault at a time, each repeated, each phase
 * judged by the {@link FleetChecker}. Exits non-zero on any lost job, duplicate result or key over its limit.
 *
 * <p>A phase: the load runs {@code pre} (the baseline of the recovery time), the fault is injected, the load runs
 * on until {@code duration} after the fault, stops, and the phase's jobs drain ({@code settle}) before the
 * checker reads them; the cluster is whole again before the next phase.
 */
final class FaultSuite {
  /** Every fault, in the order they run. */
  static final List<String> ALL = List.of("broker-job-leader", "broker-assignments-leader", "broker-reply-leader",
      "broker-txn-coordinator", "broker-share-coordinator", "broker-pause", "worker-kill", "dispatcher-kill",
      "workers-rolling");

  record Options(List<String> faults, int repeats, double rate, Duration pre, Duration duration, int workers,
      long recordLockMs, String successors, Path runDir) {}

  private final Options o;
  private final FleetHarness h;

  private FaultSuite(Options o, FleetHarness h) {
    this.o = o;
    this.h = h;
  }

  /**
   * Two keys of 12 concurrent streams (at 15 jobs/s about 19 stream at once: after a fault the backlog presses on
   * the keys' limits); 3 workers of 32 slots; the upstream: 1.2 s answers of 12 chunks; 2% 429 (retry after 200
   * ms), 2% 500, 2% streams cut after 3 chunks.
   */
  static FleetHarness.Setup setup(long recordLockMs) {
    return new FleetHarness.Setup(3, 2, 12, 32, 4, 10_000,
        SimulatorOptions.defaults().withFirstTokenDelayMs(50).withTokensPerSecond(10).withDefaultCompletionTokens(12),
        List.of(Fault.status(429).retryAfterMs(200).probability(0.02), Fault.status(500).probability(0.02),
            Fault.cut(3).probability(0.02)), 12, recordLockMs);
  }

  static int run(Options o) throws Exception {
    for (String f : o.faults()) {
      if (!ALL.contains(f)) {
        throw new IllegalArgumentException("no fault " + f + "; faults: " + ALL);
      }
    }
    try (FleetHarness h = new FleetHarness(setup(o.recordLockMs()).withSuccessors(o.successors()), o.runDir())) {
      return new FaultSuite(o, h).run();
    }
  }

  private int run() throws Exception {
    long t0 = System.nanoTime();
    h.startDispatcher();
    h.startDispatcher();
    h.startWorkers(o.workers());
    FleetProcess active = h.awaitActiveDispatcher(Duration.ofSeconds(120));
    FleetHarness.log("fleet up: active %s, %d workers; %s", active, o.workers(), o);
    List<String> rows = new ArrayList<>();
    boolean clean = true;
    // A short phase first, so the JVMs are warm and every partition has a leader of its own before the faults.
    phase("warmup", () -> "-", Duration.ofSeconds(10));
    for (String fault : o.faults()) {
      for (int r = 1; r <= o.repeats(); r++) {
        String[] victim = {""};
        Report report = phase(fault + "-r" + r, () -> victim[0] = inject(fault), o.duration());
        String row = Phases.row(victim[0], report);
        rows.add(row);
        FleetHarness.log("%s", row);
        if (!o.successors().equals("false")) {
          FleetHarness.log("%s: %d successor assignments", fault + "-r" + r, h.tail.successors(fault + "-r" + r));
        }
        clean &= report.clean();
        h.cluster.awaitHealthy(Duration.ofSeconds(120));
      }
    }
    List<String> table = Phases.lines(rows);
    Files.write(h.runDir.resolve("faults.md"), table);
    System.out.println();
    table.forEach(System.out::println);
    FleetHarness.log("fault suite %s in %d s; load average now %s", clean ? "passed" : "FAILED",
        (System.nanoTime() - t0) / 1_000_000_000, FleetHarness.loadAverage());
    return clean ? 0 : 1;
  }

  interface Injection {
    String inject() throws Exception;
  }

  private Report phase(String name, Injection fault, Duration duration) throws Exception {
    h.load.phase(name);
    h.sim.stats().reset();
    h.load.rate(o.rate());
    Thread.sleep(o.pre().toMillis());
    long faultAt = System.currentTimeMillis();
    String victim = fault.inject();
    long rest = faultAt + duration.toMillis() - System.currentTimeMillis();
    Thread.sleep(Math.max(5_000, rest));
    h.load.rate(0);
    Report r = Phases.settleAndCheck(h, name, faultAt, Duration.ofSeconds(120), Duration.ofSeconds(3));
    FleetHarness.log("%s: %s", name, victim);
    return r;
  }

  /** Injects one fault; returns what it hit. */
  private String inject(String fault) throws Exception {
    var t = h.config.topics();
    return switch (fault) {
      case "broker-job-leader" -> bounce(leader(t.jobsNormal()), "leader " + t.jobsNormal() + "-0");
      case "broker-assignments-leader" -> bounce(leader(t.assignments()), "leader " + t.assignments() + "-0");
      case "broker-reply-leader" -> bounce(leader(t.defaultReplyTo()), "leader " + t.defaultReplyTo() + "-0");
      case "broker-txn-coordinator" -> bounce(h.cluster.transactionCoordinatorOf(h.config.dispatcher().groupId()),
          "txn coordinator");
      case "broker-share-coordinator" -> bounce(h.cluster.shareGroupCoordinatorOf(h.config.worker().shareGroup()),
          "share coordinator");
      case "broker-pause" -> pause(leader(t.assignments()));
      case "worker-kill" -> killWorker();
      case "dispatcher-kill" -> killDispatcher();
      case "workers-rolling" -> rollWorkers();
      default -> throw new IllegalArgumentException(fault);
    };
  }

  private int leader(String topic) {
    return h.cluster.leaderOf(new TopicPartition(topic, 0)).orElseThrow();
  }

  /** kill -9 of a broker, 5 s down (the controller fences it after 3 s), restart on its data. */
  private String bounce(int node, String role) throws Exception {
    String roles = roles(node, role);
    h.cluster.kill(node);
    Thread.sleep(5_000);
    long t = System.nanoTime();
    h.cluster.restart(node);
    return "node " + node + " (" + roles + "), restart " + (System.nanoTime() - t) / 1_000_000 + " ms";
  }

  /** SIGSTOP for 12 s: past the broker (3 s), share (6 s) and dispatcher (6 s) session timeouts; then SIGCONT. */
  private String pause(int node) throws Exception {
    String roles = roles(node, "leader assignments-0");
    h.cluster.pause(node);
    Thread.sleep(12_000);
    h.cluster.resume(node);
    return "node " + node + " stopped 12 s (" + roles + ")";
  }

  /** The roles a broker holds besides the one it was chosen for (coordinators). */
  private String roles(int node, String role) {
    List<String> roles = new ArrayList<>(List.of(role));
    try {
      if (!role.contains("txn") && h.cluster.transactionCoordinatorOf(h.config.dispatcher().groupId()) == node) {
        roles.add("txn");
      }
      if (!role.contains("share") && h.cluster.shareGroupCoordinatorOf(h.config.worker().shareGroup()) == node) {
        roles.add("share");
      }
    } catch (RuntimeException e) {
      roles.add("coordinators unknown");
    }
    return String.join(", ", roles).replace("leader ", "").replace("coordinator", "coord");
  }

  /** kill -9 of the oldest worker (streams in flight at this load), and a replacement started at once. */
  private String killWorker() throws Exception {
    FleetProcess w = h.workers.remove(0);
    int streaming = h.sim.stats().activeStreams();
    w.kill();
    h.startWorker();
    return w.name + " killed (" + streaming + " streams at the upstream)";
  }

  /** kill -9 of the active dispatcher (mid-transaction at this load); a new standby started. */
  private String killDispatcher() throws Exception {
    FleetProcess active = h.awaitActiveDispatcher(Duration.ofSeconds(30));
    h.dispatchers.remove(active);
    long t = System.nanoTime();
    active.kill();
    h.startDispatcher();
    FleetProcess next = h.awaitActiveDispatcher(Duration.ofSeconds(60));
    return active.name + " killed; " + next.name + " active after " + (System.nanoTime() - t) / 1_000_000
        + " ms";
  }

  /** SIGTERM of each worker in turn (it drains), a replacement started and ready before the next. */
  private String rollWorkers() throws Exception {
    List<FleetProcess> old = new ArrayList<>(h.workers);
    List<Integer> exits = new ArrayList<>();
    for (FleetProcess w : old) {
      h.workers.remove(w);
      exits.add(w.terminate(Duration.ofSeconds(30)));
      h.startWorker().awaitReady(Duration.ofSeconds(120));
    }
    return old.size() + " workers restarted, exit codes " + exits;
  }

}
