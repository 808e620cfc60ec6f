package io.promptfleet.bench.worker;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ChatMessage;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Route;
import io.promptfleet.common.kafka.TopicAdmin;
import io.promptfleet.worker.WorkerService;
import io.vertx.core.Vertx;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** What the benchmarks share: a fleet configuration on unique topics, assignments, process CPU and heap. */
final class BenchFleet {
  private BenchFleet() {}

  /**
   * The worker's own Vert.x ({@code WorkerService.newVertx()}), or with {@code VERTX=plain} a {@code Vertx.vertx()}
   * (NIO, two event loops per core) to compare against.
   */
  static Vertx vertx() {
    Vertx vertx = "plain".equals(env("VERTX", "worker")) ? Vertx.vertx() : WorkerService.newVertx();
    System.out.println("vert.x transport: " + (vertx.isNativeTransportEnabled() ? "native" : "nio"));
    return vertx;
  }

  static String env(String name, String def) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? def : v;
  }

  /**
   * The bench fleet; its provider speaks the protocol named by env PROTOCOL (default openai), and its {@code
   * connections} and {@code tls} come from env HTTP ({@code http_version}), MAX_CONNECTIONS,
   * MAX_STREAMS_PER_CONNECTION, MAX_PENDING_CONNECTS and CA_FILE ({@code tls.ca_file}) when set; env COMPRESSION sets
   * the producers' {@code compression.type} (the fleet's default: lz4).
   */
  static FleetConfig config(String bootstrap, String prefix, String upstream, int slots, int lanes) {
    System.setProperty("PF_BENCH_KEY", "sk-bench");
    String yaml = """
        kafka: {bootstrap_servers: "%1$s"%8$s}
        topics: {prefix: %2$s, partitions: 6, assignment_partitions: 6}
        providers:
          up: {base_url: "%3$s", protocol: %6$s%7$s}
        keys:
          k1: {provider: up, secret_env: PF_BENCH_KEY, max_concurrency: 100000}
        models:
          m:
            routes:
              - {provider: up, model: mock-model}
        worker: {share_group: %2$s-workers, slots: %4$d, lanes: %5$d, http_port: 0}
        """.formatted(bootstrap, prefix, upstream, slots, lanes, env("PROTOCOL", "openai"), providerExtras(),
            env("COMPRESSION", null) == null ? "" : ", client_properties: {compression.type: " + env("COMPRESSION", null)
                + "}");
    FleetConfig config = ConfigLoader.parse(yaml, Map.of(), new Properties());
    TopicAdmin.ensureFleetTopics(config);
    return config;
  }

  /** {@code , connections: {...}, tls: {...}} of the provider from the environment, or nothing. */
  private static String providerExtras() {
    StringBuilder connections = new StringBuilder();
    for (String[] e : new String[][] {{"HTTP", "http_version"}, {"MAX_CONNECTIONS", "max_connections"},
        {"MAX_STREAMS_PER_CONNECTION", "max_streams_per_connection"},
        {"MAX_PENDING_CONNECTS", "max_pending_connects"}}) {
      String v = env(e[0], null);
      if (v != null) {
        connections.append(connections.length() == 0 ? "" : ", ").append(e[1]).append(": ").append(v);
      }
    }
    String out = connections.length() == 0 ? "" : ", connections: {" + connections + "}";
    String ca = env("CA_FILE", null);
    return ca == null ? out : out + ", tls: {ca_file: \"" + ca + "\"}";
  }

  /** Writes {@code n} assignments (job ids {@code prefix-i}) and waits until the broker has them all. */
  static void produceAssignments(FleetConfig config, String prefix, int from, int n, String prompt) {
    try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(Map.of("bootstrap.servers",
        config.kafka().bootstrapServers(), "acks", "all", "linger.ms", 5, "key.serializer", StringSerializer.class,
        "value.serializer", ByteArraySerializer.class))) {
      Route route = new Route("up/mock-model", "up", "mock-model", null, null);
      for (int i = from; i < from + n; i++) {
        String id = prefix + "-" + i;
        Job job = new Job(id, "m", List.of(ChatMessage.of("user", prompt)), null, config.topics().defaultReplyTo(),
            null, null, null, null, Map.of());
        // No dispatched_at: written before the worker starts, each would come as a late copy (claimed, started once
        // its claim is read back, checked for an earlier answer), not as the ordinary stream measured here.
        Assignment a = new Assignment("lease-" + id, job, 1, Priority.NORMAL, route, "k1", Instant.now(),
            null, null, config.topics().defaultReplyTo());
        p.send(new ProducerRecord<>(config.topics().assignments(), id, Json.bytes(a)));
      }
      p.flush();
    }
  }

  /** CPU time of this process in ns (all threads, GC included). */
  static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /**
   * CPU time of live Java threads in ns, grouped by name with {@code workerId} and digits stripped (e.g. {@code
   * vert.x-eventloop-thread-N}, {@code pf--lane-N}).
   */
  static Map<String, Long> threadCpuByGroup(String workerId) {
    var mx = ManagementFactory.getThreadMXBean();
    Map<String, Long> out = new TreeMap<>();
    for (var info : mx.dumpAllThreads(false, false)) {
      long t = mx.getThreadCpuTime(info.getThreadId());
      if (t > 0) {
        String g = info.getThreadName().replace(workerId, "").replaceAll("[0-9]+", "N");
        out.merge(g, t, Long::sum);
      }
    }
    return out;
  }

  /** The last CPU ticks read of each compiler thread seen, by thread id and start time. */
  private static final Map<String, Long> COMPILER_TICKS = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * CPU time in ns of this process's JIT compiler threads ({@code C1/C2 CompilerThread}) since its start, read from
   * Linux's {@code /proc/self/task/*}{@code /stat} (clock ticks of 10 ms); -1 where there is no such file. These
   * threads are not Java threads, so {@link #threadCpuByGroup} does not see them. The JVM starts and ends compiler
   * threads as its queues grow and drain ({@code UseDynamicNumberOfCompilerThreads}, whenever there can be more than
   * one of a kind): the CPU of one that has ended still counts, as last read (a sum over the live ones alone drops when
   * one ends, and a window in which it did looked quiet).
   */
  static long jitCpuNanos() {
    java.io.File[] tasks = new java.io.File("/proc/self/task").listFiles();
    if (tasks == null) {
      return -1;
    }
    for (java.io.File t : tasks) {
      try {
        String stat = java.nio.file.Files.readString(t.toPath().resolve("stat"));
        int close = stat.lastIndexOf(')');
        String name = stat.substring(stat.indexOf('(') + 1, close);
        if (name.contains("CompilerThre")) {
          String[] f = stat.substring(close + 2).split(" ");
          // utime and stime: fields 14 and 15 of stat; starttime, field 22, tells a reused thread id apart
          COMPILER_TICKS.merge(t.getName() + "@" + f[19], Long.parseLong(f[11]) + Long.parseLong(f[12]), Math::max);
        }
      } catch (java.io.IOException | RuntimeException e) {
        // a thread that ended meanwhile: its last reading stands
      }
    }
    long ticks = 0;
    for (long v : COMPILER_TICKS.values()) {
      ticks += v;
    }
    return ticks * 10_000_000L;
  }

  static long heapUsedMb() {
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / (1024 * 1024);
  }

  static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
