package io.promptfleet.bench.worker;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.RetryRequest;
import io.promptfleet.common.kafka.TopicPartitions;
import io.promptfleet.worker.Worker;
import io.promptfleet.worker.WorkerOptions;
import io.promptfleet.worker.upstream.ProviderConnections;
import io.vertx.core.Vertx;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * The worker side of the capacity benchmark, in its own JVM (run it with -Xmx1g): writes STREAMS assignments, starts
 * one worker with that many slots, and every 5 s prints streams in flight, its connections to the upstream, heap
 * (used, and old generation after the last GC) and CPU. Over the measured window (MEASURE_S from WARMUP_S after the
 * first stream had a connection) it sums process CPU and CPU by thread group; at the end it reports connect
 * failures (the worker's meter, by cause and whether local) and the jobs it sent to the retry topic: the benchmark
 * runs no dispatcher, so a retried job is a stream not held.
 *
 * <p>Env: BOOTSTRAP, PREFIX (shared with the load side), PORT of the load side's upstream (18090), TLS (1: https),
 * STREAMS, SLOTS (STREAMS), LANES (16), COALESCE_MS (0), CHUNKS_IN_FLIGHT (the worker's default, 1; 0: every delta
 * its own chunk record, as in the runs before adaptive coalescing was the default), WARMUP_S (30), MEASURE_S (30),
 * DURATION_S (total run, 100; it ends earlier once the file STOP_FILE exists and its window is measured); the
 * provider's connections and CA as read by {@link BenchFleet#config}. Ends with a {@code RESULT worker} line for run-capacity.sh's table.
 */
public final class CapacityWorker {
  private static final String CONNECT_FAILURES = "promptfleet.worker.provider.connect.failures";

  private CapacityWorker() {}

  public static void main(String[] args) throws Exception {
    String bootstrap = BenchFleet.env("BOOTSTRAP", null);
    String prefix = BenchFleet.env("PREFIX", null);
    int port = Integer.parseInt(BenchFleet.env("PORT", "18090"));
    String scheme = "1".equals(BenchFleet.env("TLS", "0")) ? "https" : "http";
    int streams = Integer.parseInt(BenchFleet.env("STREAMS", "10000"));
    int lanes = Integer.parseInt(BenchFleet.env("LANES", "16"));
    // SLOTS above STREAMS: lanes start with partial batches (see Lane), so a worker fills its slots only approximately
    int slots = Integer.parseInt(BenchFleet.env("SLOTS", String.valueOf(streams)));
    long coalesceMs = Long.parseLong(BenchFleet.env("COALESCE_MS", "0"));
    int chunksInFlight = Integer.parseInt(BenchFleet.env("CHUNKS_IN_FLIGHT",
        String.valueOf(WorkerOptions.defaults().chunksInFlight())));
    long warmupS = Long.parseLong(BenchFleet.env("WARMUP_S", "30"));
    long measureS = Long.parseLong(BenchFleet.env("MEASURE_S", "30"));
    long durationS = Long.parseLong(BenchFleet.env("DURATION_S", "100"));
    FleetConfig config = BenchFleet.config(bootstrap, prefix, scheme + "://127.0.0.1:" + port + "/v1", slots, lanes);
    System.out.println("provider: " + config.providers().get("up").baseUrl() + " "
        + config.providers().get("up").connections());
    BenchFleet.produceAssignments(config, prefix, 0, streams, "hi");
    Vertx vertx = BenchFleet.vertx();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    String workerId = prefix + "-w";
    Worker worker = new Worker(config, WorkerOptions.defaults().withCoalesceMs(coalesceMs)
        .withChunksInFlight(chunksInFlight), vertx, registry,
        workerId, Clock.systemUTC());
    ProviderConnections connections = worker.connections().get("up");
    Timer connectTime = registry.get("promptfleet.worker.provider.connect.time").timer();
    worker.start();
    long t0 = System.nanoTime();
    long cpu0 = BenchFleet.processCpuNanos();
    int maxActive = 0;
    long maxOldAfterGc = 0;
    long maxUsed = 0;
    Window window = new Window();
    Path stopFile = BenchFleet.env("STOP_FILE", null) == null ? null : Path.of(BenchFleet.env("STOP_FILE", null));
    while (System.nanoTime() - t0 < Duration.ofSeconds(durationS).toNanos()
        && (stopFile == null || !Files.exists(stopFile) || !window.done())) {
      BenchFleet.sleep(Duration.ofSeconds(5));
      long cpu1 = BenchFleet.processCpuNanos();
      long elapsedS = (System.nanoTime() - t0) / 1_000_000_000L;
      long oldAfterGc = oldGenAfterGcMb();
      long used = BenchFleet.heapUsedMb();
      int active = worker.activeStreams();
      int upstream = connections.streams();
      maxActive = Math.max(maxActive, active);
      maxOldAfterGc = Math.max(maxOldAfterGc, oldAfterGc);
      maxUsed = Math.max(maxUsed, used);
      System.out.printf(Locale.ROOT, "t=%3ds worker: streams in flight=%d (on a connection %d), connections "
          + "open=%d (h2 %d, opened %d, waiting for one %d: %.0f past the gate, %.0f in it; connect time mean %.0f ms "
          + "max %.0f ms), connect failures=%.0f, heap used=%d MB, old gen after last GC=%d MB, cpu=%.2f cores%n",
          elapsedS, active, upstream, connections.openConnections(), connections.http2Connections(),
          connections.connectionsOpened(),
          worker.waitingForConnection(), gauge(registry, "promptfleet.worker.provider.connects.pending"),
          gauge(registry, "promptfleet.worker.provider.connects.waiting"), connectTime.mean(TimeUnit.MILLISECONDS),
          connectTime.max(TimeUnit.MILLISECONDS), connectFailures(registry).values().stream()
              .mapToDouble(Double::doubleValue).sum(), used, oldAfterGc, (cpu1 - cpu0) / 5e9);
      cpu0 = cpu1;
      window.sample(elapsedS, warmupS, measureS, cpu1, upstream, workerId);
    }
    System.out.printf(Locale.ROOT, "worker summary: slots=%d lanes=%d max streams in flight=%d, max heap used=%d MB, "
        + "max old gen after GC=%d MB (-Xmx%d MB)%n", slots, lanes, maxActive, maxUsed, maxOldAfterGc,
        Runtime.getRuntime().maxMemory() / (1024 * 1024));
    Map<String, Double> failures = connectFailures(registry);
    double failed = failures.values().stream().mapToDouble(Double::doubleValue).sum();
    Map<String, Integer> retried = retried(config);
    int retriedJobs = retried.values().stream().mapToInt(Integer::intValue).sum();
    System.out.printf(Locale.ROOT, "connections: opened=%d, open at the end=%d (HTTP/2: %d); connect failures=%.0f "
        + "by cause/local %s; jobs sent to the retry topic (never re-run: no dispatcher here)=%d by reason %s; "
        + "attempts ended by outcome %s%n", connections.connectionsOpened(), connections.openConnections(),
        connections.http2Connections(), failed, failures, retriedJobs, retried, attempts(registry));
    window.print(workerId);
    System.out.printf(Locale.ROOT, "RESULT worker held=%d retried=%d connect_failures=%.0f conns_opened=%d "
        + "conns_open=%d h2_conns=%d cpu_cores=%.3f cpu_ms_per_stream_s=%.5f%n", window.heldAtEnd, retriedJobs, failed,
        connections.connectionsOpened(), connections.openConnections(), connections.http2Connections(),
        window.cores(), window.msPerStreamSecond());
    System.exit(0);
  }

  /**
   * The measured window: process CPU and CPU by thread group from WARMUP_S after the first stream had a connection
   * (as the load side counts from its first chunk) for MEASURE_S.
   */
  private static final class Window {
    private long firstS = -1;
    private long startS = -1;
    private long endS = -1;
    private long cpuStart;
    private long cpuEnd;
    private Map<String, Long> threadsStart;
    private Map<String, Long> threadsEnd;
    private long streamSamples;
    private int samples;
    private int heldAtEnd;

    /** {@code streams}: the worker's streams on a connection to the upstream (not those waiting for one). */
    void sample(long elapsedS, long warmupS, long measureS, long cpu, int streams, String workerId) {
      if (firstS < 0 && streams > 0) {
        firstS = elapsedS;
      }
      if (startS < 0 && firstS >= 0 && elapsedS >= firstS + warmupS) {
        startS = elapsedS;
        cpuStart = cpu;
        threadsStart = BenchFleet.threadCpuByGroup(workerId);
      } else if (startS >= 0 && endS < 0) {
        streamSamples += streams;
        samples++;
        if (elapsedS >= startS + measureS) {
          endS = elapsedS;
          cpuEnd = cpu;
          threadsEnd = BenchFleet.threadCpuByGroup(workerId);
          heldAtEnd = streams;
        }
      }
    }

    boolean done() {
      return endS >= 0;
    }

    double seconds() {
      return endS - startS;
    }

    double meanStreams() {
      return samples == 0 ? 0 : (double) streamSamples / samples;
    }

    double cores() {
      return endS < 0 ? 0 : (cpuEnd - cpuStart) / 1e9 / seconds();
    }

    /** CPU ms per held stream per second of the window (mean streams on a connection over the window). */
    double msPerStreamSecond() {
      return endS < 0 || meanStreams() == 0 ? 0 : (cpuEnd - cpuStart) / 1e6 / meanStreams() / seconds();
    }

    void print(String workerId) {
      if (endS < 0) {
        System.out.println("measured window: not reached (DURATION_S shorter than WARMUP_S + MEASURE_S)");
        return;
      }
      StringBuilder by = new StringBuilder();
      long javaThreads = 0;
      for (var e : threadsEnd.entrySet()) {
        long d = e.getValue() - threadsStart.getOrDefault(e.getKey(), 0L);
        javaThreads += d;
        if (d >= 10_000_000L) { // groups above 10 ms over the window
          by.append(String.format(Locale.ROOT, " %s=%.3f", e.getKey(), d / 1e9 / seconds()));
        }
      }
      System.out.printf(Locale.ROOT, "measured window t=%d..%d s: %.0f streams on a connection on average, %d at its "
          + "end; "
          + "worker cpu=%.3f cores = %.5f ms per stream per second; cores by thread group:%s jvm-internal(gc,jit)=%.3f"
          + "%n", startS, endS, meanStreams(), heldAtEnd, cores(), msPerStreamSecond(), by,
          ((cpuEnd - cpuStart) - javaThreads) / 1e9 / seconds());
    }
  }

  private static double gauge(SimpleMeterRegistry registry, String name) {
    return registry.find(name).gauges().stream().mapToDouble(g -> g.value()).sum();
  }

  /** The worker's connect failures so far, by {@code cause/local}. */
  private static Map<String, Double> connectFailures(SimpleMeterRegistry registry) {
    Map<String, Double> out = new TreeMap<>();
    for (Counter c : registry.find(CONNECT_FAILURES).counters()) {
      out.merge(c.getId().getTag("cause") + "/local=" + c.getId().getTag("local"), c.count(), Double::sum);
    }
    return out;
  }

  private static Map<String, Double> attempts(SimpleMeterRegistry registry) {
    Map<String, Double> out = new TreeMap<>();
    for (Counter c : registry.find("promptfleet.worker.attempts").counters()) {
      out.merge(String.valueOf(c.getId().getTag("outcome")), c.count(), Double::sum);
    }
    return out;
  }

  /** Jobs on this bench's retry topic, by the reason's error code: read from the beginning to the end offsets. */
  private static Map<String, Integer> retried(FleetConfig config) {
    Map<String, Object> props = Map.of("bootstrap.servers", config.kafka().bootstrapServers(),
        "key.deserializer", StringDeserializer.class, "value.deserializer", ByteArrayDeserializer.class);
    Map<String, Integer> byReason = new TreeMap<>();
    try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(props)) {
      List<TopicPartition> parts = TopicPartitions.await(c, config.topics().jobsRetry(), Duration.ofSeconds(30));
      c.assign(parts);
      c.seekToBeginning(parts);
      Map<TopicPartition, Long> end = c.endOffsets(parts);
      long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (parts.stream().anyMatch(p -> c.position(p) < end.get(p))) {
        if (System.nanoTime() > until) {
          byReason.merge("unread (timed out reading the retry topic)", 1, Integer::sum);
          break;
        }
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
          RetryRequest retry = Json.read(r.value(), RetryRequest.class);
          String reason = retry == null || retry.reason() == null ? "none" : retry.reason().code();
          byReason.merge(reason, 1, Integer::sum);
        }
      }
    }
    return byReason;
  }

  private static long oldGenAfterGcMb() {
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getName().contains("Old Gen") && p.getCollectionUsage() != null) {
        return p.getCollectionUsage().getUsed() / (1024 * 1024);
      }
    }
    return -1;
  }
}
