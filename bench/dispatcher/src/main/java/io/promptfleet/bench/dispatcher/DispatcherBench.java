package io.promptfleet.bench.dispatcher;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.common.job.Usage;
import io.promptfleet.common.kafka.TopicAdmin;
import io.promptfleet.common.kafka.TopicPartitions;
import io.promptfleet.kafka.embedded.EmbeddedKafka;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The dispatcher benchmark. One embedded broker in this JVM; the dispatcher in a child JVM of its own (so its heap
 * is measured alone); producers and measuring consumers here. Scenarios:
 *
 * <ul>
 *   <li>{@code throughput}: N jobs queued first, keys without limits, no workers: assignments written per second
 *       (transactions with the input offsets included).</li>
 *   <li>{@code models}: the same with the jobs spread over 10 models and 100 tenants (the job's {@code tenant}
 *       field; no {@code tenants:} section), keys without limits: assignments per second and heap.</li>
 *   <li>{@code latency}: jobs produced at a steady rate; time from the job record's timestamp to its assignment
 *       being readable with read_committed, p50 / p99.</li>
 *   <li>{@code backlog}: a large backlog queued first, drained with a dispatcher limited to -Xmx256m; a stand-in
 *       for workers releases every lease at once; heap used (and used after GC) sampled every 250 ms.</li>
 *   <li>{@code isolation}: 10 models on one priority topic; a backlog for model {@code blocked} (one key, one
 *       stream, its lease never released) queued first, then the 9 other models' jobs produced at a steady rate over
 *       100 tenants while the dispatcher (-Xmx256m) parks the backlog in the model's spill topic: flowing
 *       assignments per second, latency, spill count and heap per quarter of the run, and where the blocked
 *       model's jobs are at the end.</li>
 * </ul>
 *
 * <p>Usage: {@code java ... DispatcherBench [throughput|models|latency|backlog|isolation|all|a,b,...]} with
 * {@code -Druns=3 -Djobs=300000 -Drate=500 -Dseconds=20 -Dbacklog=1000000}. A comma-separated list runs the
 * scenarios' runs interleaved (run 1 of each, then run 2 of each, ...), which is how variants should be compared on
 * a noisy machine. Prints one line per run and the medians. {@code isolation} reads {@code -Drate} (default 2000)
 * and {@code -Dseconds} (default 30) too; {@code backlog} and {@code isolation} run once unless
 * {@code -DbacklogRuns} / {@code -DisolationRuns} say otherwise.
 */
public final class DispatcherBench {
  private static final int RUNS = Integer.getInteger("runs", 3);
  private static final List<String> ALL = List.of("throughput", "models", "latency", "backlog", "isolation",
      "takeover");
  /** The isolation scenario's model whose one stream never ends. */
  static final String BLOCKED = "blocked";
  private static int seq;

  private DispatcherBench() {}

  public static void main(String[] args) throws Exception {
    String arg = args.length > 0 ? args[0] : "all";
    List<String> scenarios = arg.equals("all") ? ALL : List.of(arg.split(","));
    for (String s : scenarios) {
      if (!ALL.contains(s)) {
        throw new IllegalArgumentException("unknown scenario " + s + "; one of " + ALL + " or all");
      }
    }
    Map<String, List<double[]>> results = new LinkedHashMap<>();
    int rounds = scenarios.stream().mapToInt(DispatcherBench::runsOf).max().orElse(0);
    try (EmbeddedKafka kafka = EmbeddedKafka.builder().port(0).defaultPartitions(6)
        // the takeover scenario's dispatchers use a 3 s session timeout (the broker's minimum is 6 s by default)
        .brokerProperty("group.min.session.timeout.ms", "1000").build().start()) {
      String bootstrap = kafka.bootstrapServers();
      System.out.printf("broker %s, %d cores, java %s, load average %s%n", bootstrap,
          Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), loadAverage());
      for (int r = 0; r < rounds; r++) {
        for (String s : scenarios) {
          if (r < runsOf(s)) {
            try {
              results.computeIfAbsent(s, k -> new ArrayList<>()).add(runOnce(s, bootstrap));
            } catch (Exception e) {
              System.out.println("FAILED " + s + " run " + (r + 1) + ": " + e);
              e.printStackTrace(System.out);
            }
          }
        }
      }
      for (var e : results.entrySet()) {
        if (!e.getValue().isEmpty()) {
          summary(e.getKey(), e.getValue());
        }
      }
      System.out.printf("load average at the end %s%n", loadAverage());
    }
    System.exit(0);
  }

  private static int runsOf(String scenario) {
    return switch (scenario) {
      case "backlog" -> Math.max(1, Integer.getInteger("backlogRuns", 1));
      case "isolation" -> Math.max(1, Integer.getInteger("isolationRuns", 1));
      default -> RUNS;
    };
  }

  private static double[] runOnce(String scenario, String bootstrap) throws Exception {
    return switch (scenario) {
      case "throughput" -> throughput(bootstrap, Integer.getInteger("jobs", 300_000));
      case "models" -> models(bootstrap, Integer.getInteger("jobs", 300_000));
      case "latency" -> latency(bootstrap, Integer.getInteger("rate", 500), Integer.getInteger("seconds", 20));
      case "backlog" -> new double[] {backlog(bootstrap, Integer.getInteger("backlog", 1_000_000))};
      case "isolation" -> IsolationScenario.run(bootstrap, Integer.getInteger("backlog", 1_000_000),
          Integer.getInteger("rate", 2_000), Integer.getInteger("seconds", 30));
      case "takeover" -> TakeoverScenario.run(bootstrap, Integer.getInteger("history", 200_000),
          Integer.getInteger("inFlight", 10_000));
      default -> throw new IllegalArgumentException(scenario);
    };
  }

  private static void summary(String scenario, List<double[]> runs) {
    int n = runs.size();
    switch (scenario) {
      case "throughput" -> System.out.printf(Locale.ROOT, "THROUGHPUT median %.0f jobs/s over %d runs %s%n",
          median(col(runs, 0)), n, col(runs, 0));
      case "models" -> System.out.printf(Locale.ROOT, "MODELS (10 models, 100 tenants) median %.0f jobs/s over %d runs "
          + "%s; heap used peak median %.0f MiB, heap after GC peak median %.0f MiB, spilled %s%n",
          median(col(runs, 0)), n, col(runs, 0), median(col(runs, 1)), median(col(runs, 2)), col(runs, 3));
      case "latency" -> System.out.printf(Locale.ROOT,
          "LATENCY median p50 %.1f ms, median p99 %.1f ms over %d runs (p50 %s, p99 %s)%n",
          median(col(runs, 0)), median(col(runs, 1)), n, col(runs, 0), col(runs, 1));
      case "backlog" -> System.out.printf(Locale.ROOT, "BACKLOG median peak heap after GC %.1f MiB %s%n",
          median(col(runs, 0)), col(runs, 0));
      case "isolation" -> System.out.printf(Locale.ROOT, "ISOLATION flowing after catch-up: median %.0f "
          + "assignments/s, p50 %.0f ms, p99 %.0f ms; catch-up %.1f s; heap after GC peak %.0f MiB over %d run(s) "
          + "(assignments/s %s, p50 %s, p99 %s)%n", median(col(runs, 0)), median(col(runs, 1)),
          median(col(runs, 2)), median(col(runs, 3)), median(col(runs, 4)), n, col(runs, 0), col(runs, 1),
          col(runs, 2));
      case "takeover" -> System.out.printf(Locale.ROOT, "TAKEOVER median %.0f ms from the kill to the standby's "
          + "first new assignment over %d runs %s; partitions assigned after %.0f ms, active after %.0f ms; heap "
          + "after a full GC: standing by %.1f MiB, active %.1f MiB; keys over a limit: %s%n", median(col(runs, 0)), n,
          col(runs, 0), median(col(runs, 1)), median(col(runs, 2)), median(col(runs, 3)), median(col(runs, 4)),
          col(runs, 5));
      default -> throw new IllegalArgumentException(scenario);
    }
  }

  private static List<Double> col(List<double[]> runs, int i) {
    List<Double> xs = new ArrayList<>();
    runs.forEach(r -> xs.add(r[i]));
    return xs;
  }

  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (Exception e) {
      return String.format(Locale.ROOT, "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }
  }

  // ------------------------------------------------------------------ scenarios

  private static double[] throughput(String bootstrap, int jobs) throws Exception {
    FleetConfig config = config(bootstrap, 20_000);
    produceBacklog(config, jobs, i -> job("b" + i));
    try (Child child = Child.start(config, "512m")) {
      child.awaitCount(jobs, Duration.ofMinutes(5));
      double rate = child.rate(jobs);
      System.out.printf(Locale.ROOT, "throughput run: %d jobs, %.0f assignments/s, peak heap %.0f MiB, "
          + "spilled %d; per quarter %s%n", jobs, rate, child.peakUsed / 1048576.0, child.last()[4],
          child.rateAndJitByQuarter(jobs));
      return new double[] {rate};
    }
  }

  /** Throughput and heap with the jobs spread over 10 models and 100 tenants; keys without limits, no releases. */
  private static double[] models(String bootstrap, int jobs) throws Exception {
    List<String> models = new ArrayList<>();
    for (int m = 0; m < 10; m++) {
      models.add("m" + m);
    }
    FleetConfig config = config(bootstrap, 20_000, models, null);
    // model i % 10, tenant (i / 10) % 100: every tenant has jobs of every model, interleaved in each partition
    produceBacklog(config, jobs, i -> job("b" + i, "m" + (i % 10), "t" + (i / 10 % 100)));
    try (Child child = Child.start(config, "512m")) {
      child.awaitCount(jobs, Duration.ofMinutes(5));
      double rate = child.rate(jobs);
      long spilled = child.last()[4];
      System.out.printf(Locale.ROOT, "models run: %d jobs over 10 models and 100 tenants, %.0f assignments/s, heap "
          + "used peak %.0f MiB, heap after GC peak %.0f MiB, after GC per quarter of the run %s MiB, spilled %d; "
          + "per quarter %s%n", jobs, rate, child.peakUsed / 1048576.0, child.peakAfterGc / 1048576.0,
          child.afterGcByQuarter(jobs), spilled, child.rateAndJitByQuarter(jobs));
      return new double[] {rate, child.peakUsed / 1048576.0, child.peakAfterGc / 1048576.0, spilled};
    }
  }

  private static double[] latency(String bootstrap, int rate, int seconds) throws Exception {
    FleetConfig config = config(bootstrap, 2_000);
    try (Child child = Child.start(config, "256m");
         KafkaProducer<String, byte[]> producer = producer(bootstrap, 0)) {
      List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
      List<Long> toDispatch = Collections.synchronizedList(new ArrayList<>());
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong measureFrom = new AtomicLong(Long.MAX_VALUE);
      Thread reader = new Thread(() -> {
        try (KafkaConsumer<String, byte[]> c = consumer(bootstrap)) {
          List<TopicPartition> parts = partitions(c, config.topics().assignments());
          c.assign(parts);
          c.seekToEnd(parts);
          parts.forEach(c::position);
          while (!stop.get()) {
            for (var r : c.poll(Duration.ofMillis(50))) {
              long now = System.currentTimeMillis();
              Assignment a = Json.read(r.value(), Assignment.class);
              if (a.enqueuedAt().toEpochMilli() >= measureFrom.get()) {
                latencies.add(now - a.enqueuedAt().toEpochMilli());
                toDispatch.add(a.dispatchedAt().toEpochMilli() - a.enqueuedAt().toEpochMilli());
              }
            }
          }
        }
      }, "bench-latency-reader");
      reader.start();
      Thread.sleep(1_000);
      long start = System.nanoTime();
      long total = (long) rate * seconds;
      measureFrom.set(System.currentTimeMillis() + 2_000); // 2 s warm-up
      for (long i = 0; i < total; i++) {
        long due = start + i * 1_000_000_000L / rate;
        long wait = due - System.nanoTime();
        if (wait > 0) {
          Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }
        producer.send(new ProducerRecord<>(config.topics().jobsNormal(), "l" + i, job("l" + i)));
      }
      producer.flush();
      Thread.sleep(2_000);
      stop.set(true);
      reader.join();
      List<Long> sorted = new ArrayList<>(latencies);
      Collections.sort(sorted);
      double p50 = sorted.get(sorted.size() / 2);
      double p99 = sorted.get((int) (sorted.size() * 0.99));
      List<Long> d = new ArrayList<>(toDispatch);
      Collections.sort(d);
      System.out.printf(Locale.ROOT, "latency run: %d jobs at %d/s, measured %d: p50 %.0f ms, p99 %.0f ms, max %d ms "
          + "(of which record time to dispatch decision: p50 %d ms, p99 %d ms)%n", total, rate, sorted.size(), p50, p99,
          sorted.get(sorted.size() - 1), d.get(d.size() / 2), d.get((int) (d.size() * 0.99)));
      return new double[] {p50, p99};
    }
  }

  private static double backlog(String bootstrap, int jobs) throws Exception {
    FleetConfig config = config(bootstrap, 2_000);
    produceBacklog(config, jobs, i -> job("b" + i));
    AtomicBoolean stop = new AtomicBoolean();
    Thread releaser = new Thread(() -> release(config, stop, null), "bench-releaser");
    try (Child child = Child.start(config, "256m")) {
      releaser.start();
      child.awaitCount(jobs, Duration.ofMinutes(15));
      double rate = child.rate(jobs);
      System.out.printf(Locale.ROOT, "backlog run: %d jobs drained at %.0f/s with -Xmx256m; heap used peak %.1f MiB, "
          + "heap after GC peak %.1f MiB, after GC per quarter of the drain %s MiB%n", jobs, rate,
          child.peakUsed / 1048576.0, child.peakAfterGc / 1048576.0, child.afterGcByQuarter(jobs));
      return child.peakAfterGc / 1048576.0;
    } finally {
      stop.set(true);
      releaser.join();
    }
  }


  /**
   * Stands in for workers: every assignment's lease is released at once, with a small usage report; leases of
   * {@code neverModel} (may be null) never are: its streams run forever.
   */
  static void release(FleetConfig config, AtomicBoolean stop, String neverModel) {
    String bootstrap = config.kafka().bootstrapServers();
    try (KafkaConsumer<String, byte[]> c = consumer(bootstrap);
         KafkaProducer<String, byte[]> p = producer(bootstrap, 5)) {
      List<TopicPartition> parts = partitions(c, config.topics().assignments());
      c.assign(parts);
      c.seekToBeginning(parts);
      while (!stop.get()) {
        for (var r : c.poll(Duration.ofMillis(100))) {
          Assignment a = Json.read(r.value(), Assignment.class);
          if (a.job().model().equals(neverModel)) {
            continue;
          }
          FleetEvent e = FleetEvent.leaseReleased(a, LeaseOutcome.SUCCEEDED).status(200).usage(Usage.of(10, 2))
              .timeToFirstTokenMs(5L).by("bench", Instant.now());
          p.send(new ProducerRecord<>(config.topics().fleetEvents(), a.leaseId(), Json.bytes(e)));
        }
      }
    }
  }

  // ------------------------------------------------------------------ plumbing

  static FleetConfig config(String bootstrap, int maxBuffered) throws Exception {
    return config(bootstrap, maxBuffered, List.of("sim"), null);
  }

  /**
   * A fleet of one provider with four unlimited keys serving {@code models}; with {@code blocked} set, that model
   * too, served only by key {@code kb} with max_concurrency 1 (every other route names the unlimited keys).
   */
  static FleetConfig config(String bootstrap, int maxBuffered, List<String> models, String blocked)
      throws Exception {
    String prefix = prefix();
    StringBuilder keys = new StringBuilder();
    for (int i = 1; i <= 4; i++) {
      keys.append("  k").append(i).append(": {provider: sim, secret_env: BENCH_KEY, max_concurrency: 100000000, "
          + "requests_per_minute: 2000000000, tokens_per_minute: 1000000000000}\n");
    }
    if (blocked != null) {
      keys.append("  kb: {provider: sim, secret_env: BENCH_KEY, max_concurrency: 1, "
          + "requests_per_minute: 2000000000, tokens_per_minute: 1000000000000}\n");
    }
    String routeKeys = blocked == null ? "" : ", keys: [k1, k2, k3, k4]";
    StringBuilder modelYaml = new StringBuilder();
    for (String m : models) {
      modelYaml.append("  ").append(m).append(":\n    routes:\n      - {provider: sim, model: ").append(m)
          .append(", max_tokens_cap: 4096").append(routeKeys).append("}\n");
    }
    if (blocked != null) {
      modelYaml.append("  ").append(blocked).append(":\n    routes:\n      - {provider: sim, model: ")
          .append(blocked).append(", max_tokens_cap: 4096, keys: [kb]}\n");
    }
    return register(fleetYaml(bootstrap, prefix, keys, modelYaml, "max_buffered_jobs: " + maxBuffered));
  }

  /**
   * A benchmark fleet's YAML: provider {@code sim} (never called), topics under {@code prefix} with 6 partitions,
   * the given {@code keys:} and {@code models:} entries (indented two spaces), and {@code dispatcher} settings
   * after its group id and port.
   */
  static String fleetYaml(String bootstrap, String prefix, CharSequence keys, CharSequence models,
      String dispatcher) {
    return """
        kafka: {bootstrap_servers: "%1$s"}
        topics: {prefix: %2$s, partitions: 6, assignment_partitions: 6}
        providers:
          sim: {base_url: "http://127.0.0.1:9/v1"}
        keys:
        %3$s
        models:
        %4$s
        dispatcher: {group_id: %2$s-dispatcher, http_port: 0, %5$s}
        worker: {share_group: %2$s-workers}
        """.formatted(bootstrap, prefix, keys, models, dispatcher);
  }

  /** A fleet configuration from YAML: its topics created, its file written for the dispatcher's child JVM. */
  static FleetConfig register(String yaml) throws Exception {
    FleetConfig config = ConfigLoader.parse(yaml, Map.of(), new Properties());
    TopicAdmin.ensureFleetTopics(config);
    Path file = Files.createTempFile("pf-bench", ".yaml");
    file.toFile().deleteOnExit();
    Files.writeString(file, yaml);
    CONFIG_FILES.put(config, file);
    return config;
  }

  /** A fresh topic prefix per run. */
  static String prefix() {
    return "bench" + (++seq) + "-" + Long.toHexString(System.nanoTime() & 0xffffff);
  }

  private static final Map<FleetConfig, Path> CONFIG_FILES = new HashMap<>();

  static byte[] job(String id) {
    return job(id, "sim", null);
  }

  /** A job of {@code model}; {@code tenant} (may be null) goes in the job's own tenant field. */
  static byte[] job(String id, String model, String tenant) {
    return ("{\"job_id\":\"" + id + "\",\"model\":\"" + model + "\","
        + (tenant == null ? "" : "\"tenant\":\"" + tenant + "\",")
        + "\"max_tokens\":64,\"messages\":[{\"role\":\"user\","
        + "\"content\":\"Summarise the quarterly report in three bullet points.\"}],\"metadata\":{\"bench\":1}}")
        .getBytes(StandardCharsets.UTF_8);
  }

  /** Queues jobs b0..b(n-1) on the normal topic, keyed by their id. */
  static void produceBacklog(FleetConfig config, int jobs, IntFunction<byte[]> job) {
    long t0 = System.nanoTime();
    try (KafkaProducer<String, byte[]> p = producer(config.kafka().bootstrapServers(), 20)) {
      for (int i = 0; i < jobs; i++) {
        p.send(new ProducerRecord<>(config.topics().jobsNormal(), "b" + i, job.apply(i)));
      }
      p.flush();
    }
    System.out.printf(Locale.ROOT, "queued %d jobs in %.1f s%n", jobs, (System.nanoTime() - t0) / 1e9);
  }

  static KafkaProducer<String, byte[]> producer(String bootstrap, int lingerMs) {
    Map<String, Object> p = new HashMap<>();
    p.put("bootstrap.servers", bootstrap);
    p.put("acks", "all");
    p.put("linger.ms", lingerMs);
    p.put("batch.size", lingerMs == 0 ? 16_384 : 524_288);
    p.put("compression.type", "lz4");
    // Not idempotent: a million-record burst on a busy 2-core box once sent the idempotent producer into an
    // OutOfOrderSequence loop; the benchmark needs the records, not their order.
    p.put("enable.idempotence", false);
    p.put("key.serializer", StringSerializer.class);
    p.put("value.serializer", ByteArraySerializer.class);
    return new KafkaProducer<>(p);
  }

  static KafkaConsumer<String, byte[]> consumer(String bootstrap) {
    Map<String, Object> p = new HashMap<>();
    p.put("bootstrap.servers", bootstrap);
    p.put("isolation.level", "read_committed");
    p.put("max.poll.records", 5_000);
    p.put("fetch.max.wait.ms", 5);
    p.put("key.deserializer", StringDeserializer.class);
    p.put("value.deserializer", ByteArrayDeserializer.class);
    return new KafkaConsumer<>(p);
  }

  static List<TopicPartition> partitions(KafkaConsumer<?, ?> c, String topic) {
    List<TopicPartition> parts = new ArrayList<>();
    parts.addAll(TopicPartitions.await(c, topic, Duration.ofSeconds(30)));
    return parts;
  }

  private static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    Collections.sort(s);
    return s.get(s.size() / 2);
  }

  /** The dispatcher's child JVM and what it reports. */
  static final class Child implements AutoCloseable {
    private final Process process;
    private final List<long[]> stats = Collections.synchronizedList(new ArrayList<>());
    private volatile boolean active;
    private volatile String failure;
    /** {@code -Dbench.childLog=true}: every line the child writes is shown (its log at the level it runs). */
    private static final boolean CHILD_LOG = Boolean.getBoolean("bench.childLog");
    volatile long peakUsed;
    volatile long peakAfterGc;

    private Child(Process process) {
      this.process = process;
      Thread t = new Thread(this::read, "bench-child-reader");
      t.setDaemon(true);
      t.start();
    }

    static Child start(FleetConfig config, String xmx, String... props) throws Exception {
      Child c = launch(config, xmx, props);
      long until = System.nanoTime() + Duration.ofSeconds(180).toNanos(); // a loaded box starts a JVM slowly
      while (!c.active) {
        if (c.failure != null || System.nanoTime() > until) {
          c.close();
          throw new IllegalStateException("dispatcher child did not become active: " + c.failure);
        }
        Thread.sleep(10);
      }
      return c;
    }

    /** Starts the child without waiting for it to become active; {@code props} are extra -D settings. */
    static Child launch(FleetConfig config, String xmx, String... props) throws Exception {
      List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Xmx" + xmx, "-XX:+UseG1GC", "-DBENCH_KEY=sk-bench", "-Dlog4j2.level=WARN"));
      cmd.addAll(List.of(props));
      String extra = System.getProperty("bench.childJvm", "").trim(); // e.g. a flight recording, for a profile
      if (!extra.isEmpty()) {
        cmd.addAll(List.of(extra.split("\\s+")));
      }
      cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), BenchDispatcher.class.getName(),
          CONFIG_FILES.get(config).toString()));
      return new Child(new ProcessBuilder(cmd).redirectErrorStream(true).start());
    }

    /** The child's report lines other than STAT (ASSIGNED, ACTIVE, TAKEOVER, GCHEAP ...), as they came. */
    final List<String> reports = Collections.synchronizedList(new ArrayList<>());

    /** The first report line starting with {@code word}, or null. */
    String report(String word) {
      synchronized (reports) {
        for (String r : reports) {
          if (r.startsWith(word + " ")) {
            return r.substring(word.length() + 1);
          }
        }
      }
      return null;
    }

    /** Kills the child with SIGKILL (no shutdown hook, no close: as a crash). */
    void kill() throws InterruptedException {
      process.destroyForcibly();
      process.waitFor();
    }

    boolean isActive() {
      return active;
    }

    private void read() {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
          StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          if (line.startsWith("ACTIVE")) {
            reports.add(line);
            active = true;
          } else if (line.startsWith("ASSIGNED") || line.startsWith("TAKEOVER") || line.startsWith("GCHEAP")
              || line.startsWith("STARTED")) {
            reports.add(line);
          } else if (line.startsWith("STAT ")) {
            String[] f = line.split(" ");
            long[] s = {Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]),
                f.length > 5 ? Long.parseLong(f[5]) : 0, f.length > 6 ? Long.parseLong(f[6]) : 0};
            stats.add(s);
            peakUsed = Math.max(peakUsed, s[2]);
            peakAfterGc = Math.max(peakAfterGc, s[3]);
          } else if (line.startsWith("FAILED")) {
            failure = line;
          } else if (CHILD_LOG || line.contains("ERROR") || line.contains("Exception")) {
            System.out.println("  child: " + line);
          }
        }
      } catch (Exception e) {
        failure = e.toString();
      }
    }

    void awaitCount(long n, Duration timeout) throws InterruptedException {
      long until = System.nanoTime() + timeout.toNanos();
      while (last()[1] < n) {
        if (failure != null || System.nanoTime() > until) {
          throw new IllegalStateException("dispatcher wrote " + last()[1] + " of " + n + " assignments: " + failure);
        }
        Thread.sleep(50);
      }
    }

    /** Throws when the child reported a failure. */
    void check() {
      if (failure != null) {
        throw new IllegalStateException("dispatcher child failed: " + failure);
      }
    }

    List<long[]> snapshot() {
      synchronized (stats) {
        return new ArrayList<>(stats);
      }
    }

    long[] last() {
      synchronized (stats) {
        return stats.isEmpty() ? new long[6] : stats.get(stats.size() - 1);
      }
    }

    /** Assignments per second between the last sample before the first assignment and the first with n. */
    double rate(long n) {
      synchronized (stats) {
        long[] from = null;
        for (long[] s : stats) {
          if (s[1] == 0) {
            from = s;
          }
          if (s[1] >= n) {
            long[] a = from == null ? stats.get(0) : from;
            return (s[1] - a[1]) * 1000.0 / Math.max(1, s[0] - a[0]);
          }
        }
      }
      return Double.NaN;
    }

    /**
     * Per quarter of the drain (by assignments written): assignments/s and the JIT's compile time in it, e.g.
     * {@code [21000, 30500, 31000, 31200]/s, JIT [1800, 150, 20, 5] ms}: a JIT still compiling in the last quarters
     * means the run measured a JVM warming up.
     */
    String rateAndJitByQuarter(long n) {
      long[] at = new long[5]; // sample index where each quarter boundary was crossed
      List<long[]> s = snapshot();
      int from = 0;
      for (int i = 0; i < s.size(); i++) {
        if (s.get(i)[1] == 0) {
          from = i;
        }
      }
      at[0] = from;
      int q = 1;
      for (int i = from; i < s.size() && q <= 4; i++) {
        while (q <= 4 && s.get(i)[1] >= n * q / 4) {
          at[q++] = i;
        }
      }
      if (q <= 4) {
        return "[incomplete]";
      }
      StringBuilder rates = new StringBuilder("[");
      StringBuilder jit = new StringBuilder("[");
      for (int i = 0; i < 4; i++) {
        long[] a = s.get((int) at[i]);
        long[] b = s.get((int) at[i + 1]);
        rates.append(i == 0 ? "" : ", ").append(b[0] == a[0] ? "-"
            : String.format(Locale.ROOT, "%.0f", (b[1] - a[1]) * 1000.0 / (b[0] - a[0])));
        jit.append(i == 0 ? "" : ", ").append(b[5] - a[5]);
      }
      return rates + "]/s, JIT " + jit + "] ms (before the first assignment " + s.get(from)[5] + " ms)";
    }

    /** Heap after GC, the largest seen in each quarter of the drain, in MiB. */
    String afterGcByQuarter(long n) {
      double[] q = new double[4];
      synchronized (stats) {
        for (long[] s : stats) {
          int i = (int) Math.min(3, s[1] * 4 / Math.max(1, n));
          q[i] = Math.max(q[i], s[3] / 1048576.0);
        }
      }
      return String.format(Locale.ROOT, "[%.0f, %.0f, %.0f, %.0f]", q[0], q[1], q[2], q[3]);
    }

    @Override
    public void close() throws InterruptedException {
      process.destroyForcibly();
      process.waitFor();
    }
  }
}
