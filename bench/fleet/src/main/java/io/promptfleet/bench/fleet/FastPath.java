package io.promptfleet.bench.fleet;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.kafka.KafkaClients;
import io.promptfleet.common.kafka.TopicAdmin;
import io.promptfleet.common.kafka.TopicPartitions;
import io.promptfleet.simulator.Fault;
import io.promptfleet.simulator.SimulatorOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.ToLongFunction;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;

/**
 * The fast-path benchmark (issue 13): one broker, one dispatcher and two workers as processes of their own (so
 * {@code /proc/PID/stat} attributes CPU to each), the simulator in this JVM as an instant OpenAI-compatible mock
 * (every token at once: 50 chunks per job, 16 for the short jobs), one key. Prints one table:
 *
 * <ul>
 *   <li>the Kafka hop: a plain produce (acks=all) → consume of one record, by the same producer and consumer that
 *       produce the probe jobs and read their chunks, interleaved with them;
 *   <li>first chunk: a probe job's produce → its first chunk read, minus the upstream's own time to first token (the
 *       mock's configured delay: 0), idle and under a load of half the saturated rate, with the ratio to the hop;
 *   <li>the probe's path per hop, from the records' own times: job produce → dispatched ({@code dispatched_at}),
 *       dispatched → assignment readable (the commit, seen by a read_committed reader), dispatched → the worker's
 *       {@code lease_started} (commit and share acquisition), lease_started → first chunk produced (HTTP to first
 *       token, the chunk's CreateTime), first chunk produced → read;
 *   <li>16-token jobs at saturation, instant (how long a lease is held per job: the time in transit), and paced
 *       like a provider (first token after 250 ms, 20 tokens/s): the key's utilisation, its concurrent requests at
 *       the upstream sampled every 2 ms against its max_concurrency, mean and highest;
 *   <li>jobs/s and CPU per job per process (broker, dispatcher, workers, this JVM) at saturation with 50-chunk jobs,
 *       and the JIT compiler threads' share of each process's CPU in that window (whether the JIT had settled);
 *   <li>the idle fleet's CPU.
 * </ul>
 *
 * <p>Saturation is a backlog kept topped up (never fewer than 4 × the key's max_concurrency jobs unanswered). Bounded: about
 * 3 minutes after the fleet is up. Not thread-safe: one controlling thread, plus its reader.
 */
final class FastPath {
  /**
   * The key's rate limits, out of the way, and what the simulator's rate-limit headers report for it. Before
   * 2026-11-30 the simulator reported its default 10,000 requests a minute: a run whose 50-token phase went over
   * that (about 170 jobs/s for a minute) found the key's provider budget used up, and the dispatcher, honouring it,
   * held the key until the simulator's window reset, up to 60 s, in the middle of the 16-token and idle phases.
   */
  static final long KEY_REQUESTS_PER_MINUTE = 100_000_000L;
  static final long KEY_TOKENS_PER_MINUTE = 100_000_000_000L;
  /** The paced upstream of the key-utilisation phase: 16 tokens in about 1 s. */
  static final long PACED_TTFT_MS = 250;
  static final double PACED_TPS = 20;
  static final int CHUNKS = 50;
  static final int SHORT_TOKENS = 16;
  private static final long SAMPLE_EVERY_NS = 2_000_000;

  record Options(int keyConcurrency, int workers, int slots, int lanes, int probes, Duration warmup,
      Duration window, Duration idle, Map<String, String> workerYaml, String successors, Path runDir) {}

  /** One probe job's times (wall ms from the records; ns from this JVM for the end-to-end figure). */
  static final class Probe {
    final String id;
    final long sentNs;
    final long sentMs;
    volatile long dispatchedMs = -1;
    volatile long assignmentReadMs = -1;
    volatile long startedMs = -1;
    volatile long chunkTsMs = -1;
    volatile long chunkReadMs = -1;
    volatile long chunkReadNs = -1;

    Probe(String id, long sentNs, long sentMs) {
      this.id = id;
      this.sentNs = sentNs;
      this.sentMs = sentMs;
    }

    boolean done() {
      return chunkReadNs >= 0;
    }
  }

  private final Options o;
  private final FleetHarness h;
  private final FleetConfig config;
  private final String hopTopic;
  private final KafkaProducer<String, byte[]> producer;
  private final KafkaConsumer<String, byte[]> reader;
  private final Thread readerThread;
  private final Map<String, Probe> probes = new ConcurrentHashMap<>();
  private final Map<String, long[]> hops = new ConcurrentHashMap<>();
  /** The paced phase's leases, from their records. */
  private final LeaseLife leaseLife = new LeaseLife();
  /** The paced phase's name: its jobs' ids start with it and a dash ({@link SteadyLoad}). */
  private static final String PACED_PHASE = "u";
  private static final String PACED_PREFIX = PACED_PHASE + "-";
  /** Results of load jobs read, per second of the run. */
  private final AtomicLongArray resultsPerSecond = new AtomicLongArray(3_600);
  private final AtomicLong results = new AtomicLong();
  /** Chunk records of load jobs read. */
  private final AtomicLong chunks = new AtomicLong();
  private final long t0Ms = System.currentTimeMillis();
  private volatile boolean closed;

  private FastPath(Options o, FleetHarness h) throws Exception {
    this.o = o;
    this.h = h;
    this.config = h.config;
    this.hopTopic = config.topics().prefix() + ".hop";
    try (Admin admin = Admin.create(KafkaClients.admin(config.kafka(), "bench-admin"))) {
      TopicAdmin.createTopics(admin, List.of(hopTopic), 1, config.topics());
    }
    var pp = KafkaClients.producer(config.kafka(), "bench-probe");
    pp.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    this.producer = new KafkaProducer<>(pp);
    this.reader = new KafkaConsumer<>(KafkaClients.groupless(config.kafka(), "bench-reader"));
    List<TopicPartition> parts = new ArrayList<>();
    for (String t : List.of(hopTopic, config.topics().defaultReplyTo(), config.topics().assignments(),
        config.topics().fleetEvents())) {
      parts.addAll(TopicPartitions.await(reader, t, Duration.ofSeconds(30)));
    }
    reader.assign(parts);
    reader.seekToEnd(parts);
    parts.forEach(reader::position);
    producer.partitionsFor(hopTopic);
    producer.partitionsFor(config.topics().jobsNormal());
    this.readerThread = new Thread(this::read, "bench-reader");
    readerThread.setDaemon(true);
    readerThread.start();
  }

  static FleetHarness.Setup setup(Options o) {
    return new FleetHarness.Setup(1, 1, o.keyConcurrency(), o.slots(), o.lanes(), 10_000,
        SimulatorOptions.defaults().withFirstTokenDelayMs(0).withTokensPerSecond(0)
            .withRateLimits(KEY_REQUESTS_PER_MINUTE, KEY_TOKENS_PER_MINUTE)
            .withDefaultCompletionTokens(CHUNKS), List.of(), CHUNKS, FleetHarness.DEFAULT_RECORD_LOCK_MS,
        o.successors());
  }

  /** The fleet's and the broker's JVMs: as the launcher's defaults (both compilers), with a bounded heap. */
  static final List<String> JVM = List.of("-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError");

  static int run(Options o) throws Exception {
    long start = System.nanoTime();
    String loadBefore = FleetHarness.loadAverage();
    try (FleetHarness h = new FleetHarness(setup(o), o.runDir(), new FleetHarness.Tuning(JVM, JVM,
        o.workerYaml(), ", requests_per_minute: " + KEY_REQUESTS_PER_MINUTE + ", tokens_per_minute: "
        + KEY_TOKENS_PER_MINUTE, false, false))) {
      h.cluster.awaitHealthy(Duration.ofSeconds(60)); // a loaded machine can leave the broker fenced a while
      h.startWorkers(o.workers());
      h.startDispatcher();
      h.awaitActiveDispatcher(Duration.ofSeconds(120));
      FastPath f = new FastPath(o, h);
      try {
        List<String> table = f.measure(loadBefore);
        Files.write(o.runDir().resolve("fastpath.md"), table);
        System.out.println();
        table.forEach(System.out::println);
      } finally {
        f.close();
      }
    }
    FleetHarness.log("fastpath done in %d s", (System.nanoTime() - start) / 1_000_000_000);
    return 0;
  }

  private List<String> measure(String loadBefore) throws Exception {
    // Saturation with 50-chunk jobs: the first part is the warm-up, the window after it is measured.
    FleetHarness.log("warm-up: saturated with %d-chunk jobs for %d s", CHUNKS, o.warmup().toSeconds());
    ProcessCpu.Reading started = cpu(); // the fleet's CPU from its processes' start to the first job (start-up, then idle)
    Saturation sat = new Saturation(h.load, "l");
    sat.start();
    List<String> warmupCurve = warmUp(started);
    BrokerRequests broker = brokerRequests();
    BrokerRequests.Snapshot b0 = broker == null ? null : broker.snapshot();
    ProcessCpu.Reading cpu0 = cpu();
    long r0 = results.get();
    long c0 = chunks.get();
    long w0 = System.nanoTime();
    Thread.sleep(o.window().toMillis());
    ProcessCpu.Reading cpu1 = cpu();
    BrokerRequests.Snapshot b1 = broker == null ? null : broker.snapshot();
    long r1 = results.get();
    long c1 = chunks.get();
    double seconds = (System.nanoTime() - w0) / 1e9;
    double jobsPerSecond = (r1 - r0) / seconds;
    sat.stop();
    FleetHarness.log("saturated: %.1f jobs/s", jobsPerSecond);
    awaitQuiet(h.load.sent());

    // Saturation with short jobs, instant: how long a lease is held (every lease busy: key capacity / jobs/s).
    SteadyLoad shortLoad = new SteadyLoad(config, FleetHarness.MODEL, SHORT_TOKENS);
    Saturation sat16 = new Saturation(shortLoad, "s");
    sat16.start();
    Thread.sleep(5_000);
    long s0 = results.get();
    long t0 = System.nanoTime();
    Thread.sleep(o.window().toMillis() / 2);
    double shortRate = (results.get() - s0) / ((System.nanoTime() - t0) / 1e9);
    sat16.stop();
    awaitQuiet(h.load.sent() + shortLoad.sent());
    // The same short jobs at a provider's pace: the key's utilisation at the upstream.
    h.sim.faults().forAll(Fault.slow(PACED_TTFT_MS, PACED_TPS));
    Saturation paced = new Saturation(shortLoad, PACED_PHASE);
    paced.start();
    Thread.sleep(5_000);
    h.sim.stats().reset();
    long u0 = results.get();
    long ut0 = System.nanoTime();
    long uFromMs = System.currentTimeMillis();
    long[] utilInTime = sampleKey(o.window().toMillis());
    long[] util = utilInTime.clone();
    Arrays.sort(util);
    double pacedRate = (results.get() - u0) / ((System.nanoTime() - ut0) / 1e9);
    long uToMs = System.currentTimeMillis() - 2_000; // leases dispatched late in the window end after it
    int highest = h.upstreamConcurrency().get(0).max();
    paced.stop();
    awaitQuiet(h.load.sent() + shortLoad.sent());
    h.sim.faults().clearAll();
    shortLoad.close();
    FleetHarness.log("drained: %d results of %d jobs", results.get(), h.load.sent() + shortLoad.sent());

    // Idle: the fleet's CPU with nothing to do, then the probes one at a time.
    Thread.sleep(3_000);
    ProcessCpu.Reading idle0 = cpu();
    Thread.sleep(o.idle().toMillis());
    ProcessCpu.Reading idle1 = cpu();
    double idleSeconds = (idle1.atNs() - idle0.atNs()) / 1e9;
    FleetHarness.log("idle probes");
    ProbeRun idle = probe("pi", o.probes(), true);

    // Half the saturated rate, probes every 100 ms.
    FleetHarness.log("probes at %.0f jobs/s (half the saturated rate)", jobsPerSecond / 2);
    h.load.phase("h");
    h.load.rate(jobsPerSecond / 2);
    Thread.sleep(5_000);
    ProbeRun loaded = probe("ph", o.probes(), false);
    h.load.rate(0);
    String loadAfter = FleetHarness.loadAverage();

    List<String> t = new ArrayList<>();
    t.add("| measure | p50 | p99 | ratio to the hop p50 / p99 |");
    t.add("|---|---|---|---|");
    t.add(row("Kafka hop, idle (produce acks=all → consume)", idle.hop(), null));
    t.add(row("first chunk, idle", idle.firstChunk(), idle.hop()));
    t.add(row("Kafka hop, at half load", loaded.hop(), null));
    t.add(row("first chunk, at half load (" + Math.round(jobsPerSecond / 2) + " jobs/s)", loaded.firstChunk(),
        loaded.hop()));
    t.add("");
    t.add("| first chunk's path (ms, from record times) | idle p50 | idle p99 | half load p50 | half load p99 |");
    t.add("|---|---|---|---|---|");
    for (var part : PARTS.entrySet()) {
      long[] a = idle.part(part.getValue());
      long[] b = loaded.part(part.getValue());
      t.add(String.format("| %s | %d | %d | %d | %d |", part.getKey(), pct(a, 50), pct(a, 99), pct(b, 50),
          pct(b, 99)));
    }
    t.add("");
    t.add(String.format("Saturated with %d-token jobs, instant: %.0f jobs/s, so each of the key's %d leases is held "
        + "%.0f ms per job (the upstream's part: under 1 ms).", SHORT_TOKENS, shortRate, o.keyConcurrency(),
        o.keyConcurrency() * 1000 / shortRate));
    t.add("");
    t.add(String.format("**Key utilisation**, saturated with %d-token jobs at a provider's pace (first token after %d "
        + "ms, %.0f tokens/s: %.0f jobs/s): the upstream's concurrent requests of the key (max_concurrency %d), "
        + "sampled every 2 ms for %d s: mean %.1f%%, median %.1f%%, p10 %.1f%%; highest seen %d (%.1f%%).",
        SHORT_TOKENS, PACED_TTFT_MS, PACED_TPS, pacedRate, o.keyConcurrency(), o.window().toSeconds(),
        100.0 * mean(util) / o.keyConcurrency(), 100.0 * pct(util, 50) / o.keyConcurrency(),
        100.0 * pct(util, 10) / o.keyConcurrency(), highest, 100.0 * highest / o.keyConcurrency()));
    t.add("");
    t.add("The same samples' mean, % of the key, in 0.5-s steps: " + timeline(utilInTime, 500, o.keyConcurrency())
        + ".");
    t.add("");
    t.addAll(leaseLife.table(uFromMs, uToMs, o.keyConcurrency(), pacedRate));
    t.add("");
    t.add(String.format("Saturated with %d-token jobs: **%.1f jobs/s** over %.0f s, %.1f chunk records per job.",
        CHUNKS, jobsPerSecond, seconds, (double) (c1 - c0) / (r1 - r0)));
    t.add("");
    t.addAll(warmupCurve);
    t.add(String.format("| the measured window, %.0f s after the warm-up | %.1f | %.2f | %.0f%% |", seconds,
        jobsPerSecond, fleetMs(cpu1, cpu0) / (r1 - r0), 100 * fleetMs(cpu1.jitMs(), cpu0.jitMs())
        / fleetMs(cpu1, cpu0)));
    t.add("");
    t.add("| process | CPU ms per job | cores at saturation | JIT share of its CPU | idle, % of a core | idle without "
        + "the JIT's compiler threads |");
    t.add("|---|---|---|---|---|---|");
    double total = 0;
    double totalIdle = 0;
    double totalIdleJit = 0;
    for (String p : cpu0.ms().keySet()) {
      double ms = cpu1.ms().get(p) - cpu0.ms().get(p);
      double jit = cpu1.jitMs().get(p) - cpu0.jitMs().get(p);
      double idleMs = idle1.ms().get(p) - idle0.ms().get(p);
      double idleJit = idle1.jitMs().get(p) - idle0.jitMs().get(p);
      if (!p.equals("bench")) {
        total += ms;
        totalIdle += idleMs;
        totalIdleJit += idleJit;
      }
      t.add(String.format("| %s | %.2f | %.2f | %.0f%% | %.1f | %.1f |", p, ms / (r1 - r0), ms / 1000 / seconds,
          ms == 0 ? 0 : 100 * jit / ms, idleMs / 10 / idleSeconds, (idleMs - idleJit) / 10 / idleSeconds));
    }
    t.add(String.format("| fleet (all but bench) | %.2f | %.2f | | %.1f | %.1f |", total / (r1 - r0),
        total / 1000 / seconds, totalIdle / 10 / idleSeconds, (totalIdle - totalIdleJit) / 10 / idleSeconds));
    t.add("");
    t.add(String.format("The idle columns are the %.0f s from 3 s after the last result: what the processes do "
        + "right after a load (mostly the JIT compiling what the load made hot), not the idle fleet of issue 13's "
        + "goal, which `run-idle.sh` measures after a minute's settling.", idleSeconds));
    t.add("");
    if (broker != null) {
      broker.close();
      t.add("");
      t.add("The broker's requests by API and records written by topic in the same window, per job:");
      t.add("");
      t.addAll(BrokerRequests.table(b1.since(b0), r1 - r0));
    }
    t.add("");
    t.add("Load average before: " + loadBefore + "; after: " + loadAfter + ". `bench` is this JVM (the simulator, "
        + "the load, the reader). The dispatcher and workers ran " + FleetProcess.classPathLabel()
        + "; dispatcher.successors: " + o.successors() + ".");
    return t;
  }

  /** The warm-up curve's step. */
  static final long WARMUP_STEP_MS = 5_000;

  /**
   * Sleeps through the warm-up (the load already saturating), reading the fleet's CPU every {@link #WARMUP_STEP_MS}:
   * the warm-up curve's rows, each step's jobs/s, fleet CPU per job and the JIT compiler threads' share of it, after
   * a row for the CPU the fleet's processes spent before the first job (their start-up, then waiting).
   */
  private List<String> warmUp(ProcessCpu.Reading started) throws Exception {
    List<String> rows = new ArrayList<>();
    rows.add("| warm-up curve: seconds of saturation | jobs/s | fleet CPU ms per job | JIT share |");
    rows.add("|---|---|---|---|");
    double startMs = fleetMs(started.ms(), null);
    rows.add(String.format("| before the first job: start-up and waiting, %.1f s of the fleet's CPU | | | %.0f%% |",
        startMs / 1000, startMs == 0 ? 0 : 100 * fleetMs(started.jitMs(), null) / startMs));
    long end = System.nanoTime() + o.warmup().toNanos();
    ProcessCpu.Reading c0 = cpu();
    long r0 = results.get();
    double from = 0;
    while (System.nanoTime() < end) {
      Thread.sleep(Math.max(1, Math.min(WARMUP_STEP_MS, (end - System.nanoTime()) / 1_000_000)));
      ProcessCpu.Reading c1 = cpu();
      long r1 = results.get();
      double s = (c1.atNs() - c0.atNs()) / 1e9;
      double ms = fleetMs(c1, c0);
      long jobs = r1 - r0;
      rows.add(String.format("| %.0f–%.0f | %.1f | %s | %.0f%% |", from, from + s, jobs / s,
          jobs == 0 ? "–" : String.format("%.2f", ms / jobs), ms == 0 ? 0 : 100 * fleetMs(c1.jitMs(), c0.jitMs()) / ms));
      from += s;
      c0 = c1;
      r0 = r1;
    }
    return rows;
  }

  /** The fleet's (every process but this bench's) CPU ms between two readings. */
  private static double fleetMs(ProcessCpu.Reading now, ProcessCpu.Reading before) {
    return fleetMs(now.ms(), before.ms());
  }

  /** The sum over the fleet's processes (not "bench") of {@code now} less {@code before} (none: since the start). */
  private static double fleetMs(Map<String, Double> now, Map<String, Double> before) {
    double total = 0;
    for (var e : now.entrySet()) {
      if (!e.getKey().equals("bench")) {
        total += e.getValue() - (before == null ? 0 : before.get(e.getKey()));
      }
    }
    return total;
  }

  /** The parts of a probe's path, each from two record times. */
  static final Map<String, ToLongFunction<Probe>> PARTS = new LinkedHashMap<>();

  static {
    PARTS.put("job produce → dispatched (job poll, dispatch)", p -> p.dispatchedMs - p.sentMs);
    PARTS.put("dispatched → assignment readable (its commit + a read)", p -> p.assignmentReadMs - p.dispatchedMs);
    PARTS.put("dispatched → lease_started (commit + share acquisition)", p -> p.startedMs - p.dispatchedMs);
    PARTS.put("lease_started → first chunk produced (HTTP to first token)", p -> p.chunkTsMs - p.startedMs);
    PARTS.put("first chunk produced → read", p -> p.chunkReadMs - p.chunkTsMs);
  }

  record ProbeRun(long[] hopUs, long[] firstUs, List<Probe> done) {
    long[] hop() {
      return hopUs;
    }

    long[] firstChunk() {
      return firstUs;
    }

    long[] part(ToLongFunction<Probe> f) {
      return done.stream().mapToLong(f).filter(v -> v >= 0).sorted().toArray();
    }
  }

  /**
   * {@code n} hop records and {@code n} probe jobs, alternating every 50 ms; {@code oneAtATime}: each probe waits
   * until the previous one's first chunk was read (idle).
   */
  private ProbeRun probe(String prefix, int n, boolean oneAtATime) throws Exception {
    List<Probe> mine = new ArrayList<>();
    List<long[]> myHops = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String hk = prefix + "hop-" + i;
      long[] hop = {System.nanoTime(), -1};
      hops.put(hk, hop);
      myHops.add(hop);
      producer.send(new ProducerRecord<>(hopTopic, hk, new byte[64]));
      Thread.sleep(50);
      String id = prefix + "-" + i;
      var job = Json.mapper().createObjectNode();
      job.put("job_id", id).put("model", FleetHarness.MODEL).put("max_tokens", CHUNKS)
          .put("reply_to", config.topics().defaultReplyTo());
      job.putArray("messages").addObject().put("role", "user").put("content", "probe " + id);
      byte[] value = Json.bytes(job);
      long ms = System.currentTimeMillis();
      Probe p = new Probe(id, System.nanoTime(), ms);
      probes.put(id, p);
      mine.add(p);
      producer.send(new ProducerRecord<>(config.topics().jobsNormal(), null, ms, id, value));
      if (oneAtATime) {
        long until = System.nanoTime() + 10_000_000_000L;
        while (!p.done() && System.nanoTime() < until) {
          Thread.sleep(1);
        }
      }
      Thread.sleep(50);
    }
    long until = System.nanoTime() + 10_000_000_000L;
    while (System.nanoTime() < until && !mine.stream().allMatch(Probe::done)) {
      Thread.sleep(20);
    }
    Thread.sleep(200); // the last lease_started and assignment reads
    long ttftNs = h.sim.options().firstTokenDelayMs() * 1_000_000;
    long[] first = mine.stream().filter(Probe::done).mapToLong(p -> (p.chunkReadNs - p.sentNs - ttftNs) / 1_000)
        .sorted().toArray();
    long[] hop = myHops.stream().filter(x -> x[1] >= 0).mapToLong(x -> (x[1] - x[0]) / 1_000).sorted().toArray();
    List<Probe> done = mine.stream().filter(Probe::done).toList();
    FleetHarness.log("%s: %d of %d probes answered, %d hops", prefix, done.size(), n, hop.length);
    return new ProbeRun(hop, first, done);
  }

  /** The reader: hop records, probe chunks, probe assignments and lease_started events, load results. */
  private void read() {
    String replies = config.topics().defaultReplyTo();
    String assignments = config.topics().assignments();
    String events = config.topics().fleetEvents();
    byte[] chunkTag = "\"type\":\"chunk\"".getBytes(StandardCharsets.UTF_8);
    byte[] resultTag = "\"type\":\"result\"".getBytes(StandardCharsets.UTF_8);
    try {
      while (!closed) {
        var batch = reader.poll(Duration.ofMillis(100));
        long nowNs = System.nanoTime();
        long nowMs = System.currentTimeMillis();
        for (ConsumerRecord<String, byte[]> r : batch) {
          String key = r.key();
          if (r.topic().equals(hopTopic)) {
            long[] hop = hops.get(key);
            if (hop != null) {
              hop[1] = nowNs;
            }
          } else if (r.topic().equals(replies)) {
            Probe p = key == null ? null : probes.get(key);
            if (p != null) {
              Reply reply = Json.read(r.value(), Reply.class);
              if (reply instanceof Chunk c && c.seq() == 0 && p.chunkReadNs < 0) {
                p.chunkTsMs = r.timestamp();
                p.chunkReadMs = nowMs;
                p.chunkReadNs = nowNs;
              }
            } else if (startsWith(r.value(), chunkTag)) {
              chunks.incrementAndGet();
              if (key != null && key.startsWith(PACED_PREFIX)) {
                LeaseLife.Lease l = leaseLife.lease(key);
                if (l.firstChunkMs < 0) {
                  l.firstChunkMs = r.timestamp();
                }
                l.lastChunkMs = Math.max(l.lastChunkMs, r.timestamp());
              }
            } else if (indexOf(r.value(), resultTag) >= 0) {
              if (key != null && key.startsWith(PACED_PREFIX)) {
                leaseLife.lease(key).resultMs = r.timestamp();
              }
              results.incrementAndGet();
              resultsPerSecond.incrementAndGet((int) Math.min(3_599, (nowMs - t0Ms) / 1000));
            }
          } else if (r.topic().equals(assignments)) {
            Probe p = key == null ? null : probes.get(key);
            if (p != null && p.assignmentReadMs < 0) {
              Assignment a = Json.read(r.value(), Assignment.class);
              p.dispatchedMs = a.dispatchedAt().toEpochMilli();
              p.assignmentReadMs = nowMs;
            } else if (key != null && key.startsWith(PACED_PREFIX)) {
              Assignment a = Json.read(r.value(), Assignment.class);
              leaseLife.assigned(key, a.leaseId(), a.afterLease(), a.dispatchedAt().toEpochMilli(), nowMs);
            }
          } else if (r.topic().equals(events) && contains(r.value(), "\"job_id\":\"" + PACED_PREFIX)) {
            FleetEvent e = Json.read(r.value(), FleetEvent.class);
            if (e.type() == FleetEvent.Type.LEASE_STARTED) {
              leaseLife.lease(e.jobId()).startedMs = e.at().toEpochMilli();
            } else if (e.type() == FleetEvent.Type.LEASE_RELEASED) {
              LeaseLife.Lease l = leaseLife.lease(e.jobId());
              l.releasedMs = e.at().toEpochMilli();
              l.releaseReadMs = nowMs;
              l.worker = e.workerId();
            }
          } else if (r.topic().equals(events) && contains(r.value(), "\"job_id\":\"p")) {
            FleetEvent e = Json.read(r.value(), FleetEvent.class);
            Probe p = e.jobId() == null ? null : probes.get(e.jobId());
            if (p != null && e.type() == FleetEvent.Type.LEASE_STARTED && p.startedMs < 0) {
              p.startedMs = e.at().toEpochMilli();
            }
          }
        }
      }
    } catch (WakeupException e) {
      // closing
    } finally {
      reader.close(Duration.ofSeconds(2));
    }
  }

  private static boolean startsWith(byte[] value, byte[] tag) {
    int from = value.length > 0 && value[0] == '{' ? 1 : 0;
    if (value.length < from + tag.length) {
      return false;
    }
    for (int i = 0; i < tag.length; i++) {
      if (value[from + i] != tag[i]) {
        return false;
      }
    }
    return true;
  }

  /** Where {@code tag} first occurs in {@code value}, or -1 (a chunk's text cannot hold it: its quotes are escaped). */
  static int indexOf(byte[] value, byte[] tag) {
    outer:
    for (int i = 0; i + tag.length <= value.length; i++) {
      for (int j = 0; j < tag.length; j++) {
        if (value[i + j] != tag[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static boolean contains(byte[] value, String s) {
    return new String(value, StandardCharsets.UTF_8).contains(s);
  }

  /** Keeps at least {@link #BACKLOG} jobs of a load unanswered, on a thread of its own. */
  private final class Saturation {
    private final SteadyLoad load;
    private final Thread thread;
    private volatile boolean stop;

    Saturation(SteadyLoad load, String phase) {
      this.load = load;
      load.phase(phase);
      this.thread = new Thread(() -> {
        long base = results.get();
        long sentBase = load.sent();
        while (!stop) {
          long open = load.sent() - sentBase - (results.get() - base);
          if (open < 4L * o.keyConcurrency()) {
            load.backlog(200);
          } else {
            try {
              Thread.sleep(5);
            } catch (InterruptedException e) {
              return;
            }
          }
        }
      }, "bench-saturation");
    }

    void start() {
      thread.start();
    }

    void stop() throws InterruptedException {
      stop = true;
      thread.join();
    }
  }

  /** Waits until every load job sent so far has its result (the backlog drained), or no result came for 10 s. */
  private void awaitQuiet(long sent) throws InterruptedException {
    long last = results.get();
    long quietSince = System.nanoTime();
    while (results.get() < sent && System.nanoTime() - quietSince < 10_000_000_000L) {
      Thread.sleep(100);
      long now = results.get();
      if (now != last) {
        last = now;
        quietSince = System.nanoTime();
      }
    }
  }

  /** The key's concurrent requests at the upstream, sampled every 2 ms for {@code ms}. */
  private long[] sampleKey(long ms) {
    String auth = FleetHarness.auth(1);
    long until = System.nanoTime() + ms * 1_000_000;
    List<Long> samples = new ArrayList<>();
    long next = System.nanoTime();
    while (System.nanoTime() < until) {
      samples.add((long) h.sim.stats().concurrentRequests(auth));
      next += SAMPLE_EVERY_NS;
      long wait = next - System.nanoTime();
      if (wait > 0) {
        java.util.concurrent.locks.LockSupport.parkNanos(wait);
      }
    }
    return samples.stream().mapToLong(Long::longValue).toArray();
  }

  /** The samples' means over each {@code stepMs}, as % of {@code limit}: where the key's idle time lies. */
  static String timeline(long[] samplesInTime, long stepMs, int limit) {
    int per = (int) Math.max(1, stepMs * 1_000_000 / SAMPLE_EVERY_NS);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < samplesInTime.length; i += per) {
      long sum = 0;
      int n = Math.min(per, samplesInTime.length - i);
      for (int j = i; j < i + n; j++) {
        sum += samplesInTime[j];
      }
      sb.append(sb.length() == 0 ? "" : " ").append(Math.round(100.0 * sum / n / limit));
    }
    return sb.toString();
  }

  /** The broker's own meters, or null (reported, not fatal) when its JVM cannot be attached to. */
  private BrokerRequests brokerRequests() {
    try {
      return new BrokerRequests(h.cluster.pid(h.cluster.nodeIds().get(0)));
    } catch (IOException | RuntimeException e) {
      FleetHarness.log("the broker's request counts are left out: %s", e.toString());
      return null;
    }
  }

  private final ProcessCpu processCpu = new ProcessCpu();

  /** The CPU of the broker, the dispatcher, each worker and this bench ("bench"), in that order. */
  private ProcessCpu.Reading cpu() throws IOException {
    Map<String, Long> pids = new LinkedHashMap<>();
    pids.put("broker", h.cluster.pid(h.cluster.nodeIds().get(0)));
    pids.put("dispatcher", h.dispatchers.get(0).pid());
    for (FleetProcess w : h.workers) {
      pids.put(w.name, w.pid());
    }
    pids.put("bench", ProcessHandle.current().pid());
    return processCpu.read(pids);
  }

  static long pct(long[] sorted, int p) {
    if (sorted.length == 0) {
      return -1;
    }
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1 < 0 ? 0
        : (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
  }

  static double mean(long[] v) {
    return Arrays.stream(v).average().orElse(0);
  }

  /** A row of microsecond samples in ms, with ratios to a hop's. */
  private static String row(String name, long[] us, long[] hop) {
    String ratio = hop == null ? "" : String.format("%.1f× / %.1f×", (double) pct(us, 50) / pct(hop, 50),
        (double) pct(us, 99) / pct(hop, 99));
    return String.format("| %s | %.1f ms | %.1f ms | %s |", name + " (n=" + us.length + ")", pct(us, 50) / 1000.0,
        pct(us, 99) / 1000.0, ratio);
  }

  void close() {
    closed = true;
    reader.wakeup();
    try {
      readerThread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producer.close(Duration.ofSeconds(5));
  }
}
