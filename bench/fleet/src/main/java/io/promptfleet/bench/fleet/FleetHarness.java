package io.promptfleet.bench.fleet;

import io.promptfleet.bench.fleet.FleetChecker.KeyConcurrency;
import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.kafka.TopicAdmin;
import io.promptfleet.kafka.embedded.KafkaCluster;
import io.promptfleet.kafka.embedded.KafkaTestSupport;
import io.promptfleet.kafka.embedded.SharedKafka;
import io.promptfleet.simulator.Fault;
import io.promptfleet.simulator.SimulatedProvider;
import io.promptfleet.simulator.SimulatorOptions;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * The fleet under test: a KRaft cluster in child JVMs, the simulated provider in this JVM (its fault plan and
 * per-key concurrency counts at hand), a YAML configuration file, and dispatchers and workers as processes of the
 * launcher; plus a {@link SteadyLoad} and a {@link TopicTail}.
 *
 * <p>Keys {@code k1..kN} have secrets {@code sk-bench-kI}, given to the processes in the environment ({@code
 * PF_BENCH_KI}) only: the YAML names the variables, never the values.
 *
 * <p>Not thread-safe: one controlling thread.
 */
final class FleetHarness implements AutoCloseable {
  /**
   * How the fleet is sized and the upstream behaves; {@code successors}: the dispatcher's
   * {@code dispatcher.successors} (issue 13): {@code auto} (the fleet's default), {@code true} or {@code false}, or
   * {@code omit}: the key left out of the YAML, so the build's own default (a build from before the setting existed
   * refuses the key: its loader rejects unknown keys).
   */
  record Setup(int brokers, int keys, int keyConcurrency, int slots, int lanes, long drainGraceMs,
      SimulatorOptions sim, List<Fault> upstreamFaults, int maxTokens, long recordLockMs, String successors) {

    Setup(int brokers, int keys, int keyConcurrency, int slots, int lanes, long drainGraceMs, SimulatorOptions sim,
        List<Fault> upstreamFaults, int maxTokens, long recordLockMs) {
      this(brokers, keys, keyConcurrency, slots, lanes, drainGraceMs, sim, upstreamFaults, maxTokens, recordLockMs,
          "auto");
    }

    Setup withSuccessors(String on) {
      return new Setup(brokers, keys, keyConcurrency, slots, lanes, drainGraceMs, sim, upstreamFaults, maxTokens,
          recordLockMs, on);
    }
  }

  /**
   * The share group's record lock by default: Kafka's default, 30 s. With 5 s (what the integration tests use) the
   * scale-out run found lanes dying on a late renewal (docs/DESIGN.md, "Replicated cluster"); {@code --lock-ms}
   * sets it.
   */
  static final long DEFAULT_RECORD_LOCK_MS = 30_000;

  static final String MODEL = "sim";
  final Setup setup;
  final Path runDir;
  final KafkaCluster cluster;
  final Vertx vertx;
  final SimulatedProvider sim;
  final FleetConfig config;
  final Path configFile;
  final Map<String, String> env = new LinkedHashMap<>();
  final List<FleetProcess> dispatchers = new ArrayList<>();
  final List<FleetProcess> workers = new ArrayList<>();
  final SteadyLoad load;
  final TopicTail tail;
  private final List<String> fleetJvm;
  private int started;

  FleetHarness(Setup setup, Path runDir) throws Exception {
    this(setup, runDir, Tuning.FAULTS);
  }

  /**
   * How the fleet's processes run, beyond the {@link Setup}.
   *
   * @param brokerJvm  the brokers' JVM options
   * @param fleetJvm   the dispatchers' and workers' JVM options
   * @param workerYaml more keys of the YAML's {@code worker} section (e.g. {@code coalesce_ms})
   * @param keyExtra   more of each key's YAML flow map, e.g. {@code ", requests_per_minute: 1000000"}
   * @param withTail   whether to follow the topics for the checker ({@link #tail} is null without)
   * @param fastShareHeartbeats share-group heartbeats every second (a dead worker's records come back sooner),
   *                   not Kafka's 5 s
   */
  record Tuning(List<String> brokerJvm, List<String> fleetJvm, Map<String, String> workerYaml, String keyExtra,
      boolean withTail, boolean fastShareHeartbeats) {
    /** The fault suite's and the scale-out's. */
    static final Tuning FAULTS = new Tuning(KafkaCluster.DEFAULT_JVM_OPTIONS, FleetProcess.JVM_OPTIONS, Map.of(), "",
        true, true);
  }

  FleetHarness(Setup setup, Path runDir, Tuning tuning) throws Exception {
    this.setup = setup;
    this.fleetJvm = List.copyOf(tuning.fleetJvm());
    Map<String, String> workerYaml = tuning.workerYaml();
    this.runDir = Files.createDirectories(runDir);
    long t0 = System.nanoTime();
    Map<String, String> brokerProps = new LinkedHashMap<>(SharedKafka.testBrokerProperties());
    if (tuning.fastShareHeartbeats()) {
      brokerProps.put("group.share.heartbeat.interval.ms", "1000");
      brokerProps.put("group.share.min.heartbeat.interval.ms", "500");
    }
    brokerProps.put("group.share.assignment.interval.ms", "500");
    this.cluster = KafkaCluster.builder().nodes(setup.brokers()).dataDir(runDir.resolve("kafka"))
        .brokerProperties(brokerProps).jvmOptions(tuning.brokerJvm()).start();
    log("cluster of %d brokers at %s in %d ms", setup.brokers(), cluster.bootstrapServers(),
        (System.nanoTime() - t0) / 1_000_000);
    this.vertx = Vertx.vertx();
    this.sim = SimulatedProvider.start(vertx, setup.sim().withPort(0)).toCompletionStage().toCompletableFuture()
        .get(30, TimeUnit.SECONDS);
    if (!setup.upstreamFaults().isEmpty()) {
      sim.faults().forAll(setup.upstreamFaults().toArray(Fault[]::new));
    }
    StringBuilder keys = new StringBuilder();
    for (int i = 1; i <= setup.keys(); i++) {
      env.put("PF_BENCH_K" + i, "sk-bench-k" + i);
      keys.append("  k").append(i).append(": {provider: sim, secret_env: PF_BENCH_K").append(i)
          .append(", max_concurrency: ").append(setup.keyConcurrency()).append(tuning.keyExtra()).append("}\n");
    }
    int rf = Math.min(3, setup.brokers());
    String yaml = """
        kafka: {bootstrap_servers: "%s"}
        topics: {prefix: bench, partitions: 3, replication_factor: %d, min_insync_replicas: %d}
        providers:
          sim: {base_url: "%s"}
        keys:
        %s
        models:
          %s:
            routes:
              - {provider: sim, model: sim}
        dispatcher:
          group_id: bench-dispatcher
          http_port: 0
          session_timeout_ms: 6000
        %s
          breaker: {slow_call_ms: 60000, failure_rate_percent: 50, rate_limited_percent: 50}
        worker: {share_group: bench-workers, http_port: 0, slots: %d, lanes: %d, drain_grace_ms: %d%s}
        """.formatted(cluster.bootstrapServers(), rf, Math.max(1, rf - 1), sim.baseUrl(), keys, MODEL,
        successorsLine(setup.successors()), setup.slots(), setup.lanes(), setup.drainGraceMs(), extra(workerYaml));
    this.configFile = runDir.resolve("fleet.yaml");
    Files.writeString(configFile, yaml);
    this.config = ConfigLoader.parse(yaml, env, new Properties());
    TopicAdmin.ensureFleetTopics(config);
    // A dead worker's share session ends after 6 s (default 45 s); records it held come back at the latest after
    // the record lock (workers renew the locks of streams they run).
    KafkaTestSupport.alterGroupConfigs(cluster.bootstrapServers(), config.worker().shareGroup(), Map.of(
        "share.record.lock.duration.ms", Long.toString(setup.recordLockMs()), "share.session.timeout.ms", "6000",
        "share.heartbeat.interval.ms", tuning.fastShareHeartbeats() ? "1000" : "5000"));
    this.load = new SteadyLoad(config, MODEL, setup.maxTokens());
    this.tail = tuning.withTail() ? new TopicTail(config) : null;
  }

  /** The dispatcher's {@code successors} line of the YAML, or a comment when {@code omit}. */
  static String successorsLine(String successors) {
    return successors.equals("omit") ? "  # successors: left out (the build's default)" : "  successors: " + successors;
  }

  private static String extra(Map<String, String> yaml) {
    StringBuilder sb = new StringBuilder();
    yaml.forEach((k, v) -> sb.append(", ").append(k).append(": ").append(v));
    return sb.toString();
  }

  /** The machine's load average ({@code /proc/loadavg}), printed beside every benchmark's result. */
  static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (IOException e) {
      return "unknown";
    }
  }

  static void log(String format, Object... args) {
    System.out.println(java.time.LocalTime.now().withNano(0) + " " + String.format(format, args));
    System.out.flush();
  }

  /** The Authorization header the simulator counts a key by. */
  static String auth(int key) {
    return "Bearer sk-bench-k" + key;
  }

  FleetProcess startDispatcher() throws IOException {
    FleetProcess p = FleetProcess.start("dispatcher", "dispatcher-" + started++, configFile, env, runDir,
        fleetJvm);
    dispatchers.add(p);
    return p;
  }

  FleetProcess startWorker() throws IOException {
    FleetProcess p = FleetProcess.start("worker", "worker-" + started++, configFile, env, runDir, fleetJvm);
    workers.add(p);
    return p;
  }

  /** Starts {@code n} workers and waits until all poll. */
  void startWorkers(int n) throws Exception {
    List<FleetProcess> ps = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ps.add(startWorker());
    }
    for (FleetProcess p : ps) {
      p.awaitReady(Duration.ofSeconds(120));
    }
  }

  /** The dispatcher that is active now (its /health/ready answers 200), waiting up to {@code timeout}. */
  FleetProcess awaitActiveDispatcher(Duration timeout) throws InterruptedException {
    long until = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < until) {
      for (FleetProcess d : dispatchers) {
        if (d.ready()) {
          return d;
        }
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("no active dispatcher within " + timeout.toSeconds() + " s");
  }

  /** Each key's most concurrent requests at the upstream since the last {@link SimulatedProvider#stats()} reset. */
  List<KeyConcurrency> upstreamConcurrency() {
    Map<String, Integer> max = sim.stats().maxConcurrentRequestsByKey();
    List<KeyConcurrency> out = new ArrayList<>();
    for (int i = 1; i <= setup.keys(); i++) {
      out.add(new KeyConcurrency("k" + i, max.getOrDefault(auth(i), 0), setup.keyConcurrency()));
    }
    return out;
  }

  @Override
  public void close() {
    load.close();
    if (tail != null) {
      tail.close();
    }
    for (FleetProcess p : workers) {
      quietly(p);
    }
    for (FleetProcess p : dispatchers) {
      quietly(p);
    }
    cluster.close();
    sim.close();
    vertx.close();
  }

  private static void quietly(FleetProcess p) {
    try {
      p.kill();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
