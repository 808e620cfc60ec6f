package io.promptfleet.bench.worker;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.Endpoint;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Route;
import io.promptfleet.common.kafka.TopicPartitions;
import io.promptfleet.worker.Worker;
import io.promptfleet.worker.WorkerOptions;
import io.vertx.core.Vertx;
import java.lang.management.ManagementFactory;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Embeddings jobs through one real worker: share-group acquisition, the POST to {@code /embeddings} of the simulated
 * provider (its own JVM), the answer read and parsed, the result record with every vector written to the reply
 * topic. A reader in this JVM counts the result records and their bytes as they become readable: jobs/s and MB/s of
 * results. All assignments are written before the worker starts (the dispatcher is measured by bench/dispatcher).
 *
 * <p>Env: BOOTSTRAP (required), UPSTREAM (http://127.0.0.1:18081/v1), INPUTS per job (16), DIMS (1536), ENCODING
 * (float | base64), JOBS per round (1000), ROUNDS (5), WARMUP jobs (4000), SLOTS (64), LANES (4).
 */
public final class EmbeddingsBench {
  private EmbeddingsBench() {}

  public static void main(String[] args) throws Exception {
    String bootstrap = BenchFleet.env("BOOTSTRAP", null);
    if (bootstrap == null) {
      throw new IllegalArgumentException("set BOOTSTRAP to the broker (the script starts one)");
    }
    String upstream = BenchFleet.env("UPSTREAM", "http://127.0.0.1:18081/v1");
    int inputs = Integer.parseInt(BenchFleet.env("INPUTS", "16"));
    int dims = Integer.parseInt(BenchFleet.env("DIMS", "1536"));
    String encoding = BenchFleet.env("ENCODING", "float");
    int perRound = Integer.parseInt(BenchFleet.env("JOBS", "1000"));
    int rounds = Integer.parseInt(BenchFleet.env("ROUNDS", "5"));
    int warmup = Integer.parseInt(BenchFleet.env("WARMUP", "4000"));
    int slots = Integer.parseInt(BenchFleet.env("SLOTS", "64"));
    int lanes = Integer.parseInt(BenchFleet.env("LANES", "4"));
    String prefix = "bench-emb-" + Long.toHexString(System.nanoTime());
    FleetConfig config = BenchFleet.config(bootstrap, prefix, upstream, slots, lanes);
    int total = warmup + perRound * (rounds + 1);
    produce(config, prefix, total, inputs, dims, encoding);
    System.gc();

    ResultReader reader = new ResultReader(config);
    reader.start();
    Vertx vertx = BenchFleet.vertx();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Worker worker = new Worker(config, WorkerOptions.defaults(), vertx, registry, prefix + "-w", Clock.systemUTC());
    worker.start();
    var jit = ManagementFactory.getCompilationMXBean();
    reader.await(warmup, Duration.ofMinutes(10));
    System.out.printf(Locale.ROOT, "warm-up: %d jobs, %.1f MB of results, jit %d ms so far%n", reader.records.get(),
        reader.bytes.get() / 1e6, jit.getTotalCompilationTime());
    List<Double> jobsPerS = new ArrayList<>();
    List<Double> mbPerS = new ArrayList<>();
    for (int r = 0; r < rounds; r++) {
      long n0 = reader.records.get();
      long b0 = reader.bytes.get();
      long j0 = jit.getTotalCompilationTime();
      long c0 = BenchFleet.processCpuNanos();
      long w0 = System.nanoTime();
      reader.await(n0 + perRound, Duration.ofMinutes(5));
      double secs = (System.nanoTime() - w0) / 1e9;
      long n = reader.records.get() - n0;
      long b = reader.bytes.get() - b0;
      jobsPerS.add(n / secs);
      mbPerS.add(b / 1e6 / secs);
      System.out.printf(Locale.ROOT, "round %d: %d jobs in %.2f s: %.0f jobs/s, %.1f MB/s of results (%.0f KB per "
          + "result), %.2f cores, jit %d ms, heap_used_mb=%d%n", r + 1, n, secs, n / secs, b / 1e6 / secs,
          b / 1e3 / n, (BenchFleet.processCpuNanos() - c0) / 1e9 / secs, jit.getTotalCompilationTime() - j0,
          BenchFleet.heapUsedMb());
    }
    double failed = registry.find("promptfleet.worker.attempts").counters().stream()
        .filter(c -> !"succeeded".equals(c.getId().getTag("outcome"))).mapToDouble(Counter::count).sum();
    Collections.sort(jobsPerS);
    Collections.sort(mbPerS);
    System.out.printf(Locale.ROOT, "embeddings: %d inputs x %d dims (%s) per job, slots=%d, %d rounds x %d jobs: "
        + "median %.0f jobs/s (min %.0f, max %.0f), median %.1f MB/s of results (%.0f embeddings/s), "
        + "not succeeded=%.0f%n", inputs, dims, encoding, slots, rounds, perRound, jobsPerS.get(rounds / 2),
        jobsPerS.get(0), jobsPerS.get(rounds - 1), mbPerS.get(rounds / 2), jobsPerS.get(rounds / 2) * inputs,
        failed);
    worker.close();
    vertx.close();
    System.exit(0);
  }

  private static void produce(FleetConfig config, String prefix, int n, int inputs, int dims, String encoding) {
    try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(Map.of("bootstrap.servers",
        config.kafka().bootstrapServers(), "acks", "all", "linger.ms", 5, "key.serializer", StringSerializer.class,
        "value.serializer", ByteArraySerializer.class))) {
      Route route = new Route("up/text-embedding-3-small", "up", "text-embedding-3-small", null, null);
      for (int i = 0; i < n; i++) {
        String id = prefix + "-" + i;
        var input = Json.mapper().createArrayNode();
        for (int k = 0; k < inputs; k++) {
          input.add("Document " + i + " paragraph " + k + ": the quick brown fox jumps over the lazy dog.");
        }
        Map<String, com.fasterxml.jackson.databind.JsonNode> params = new HashMap<>();
        params.put("dimensions", Json.mapper().valueToTree(dims));
        params.put("encoding_format", Json.mapper().valueToTree(encoding));
        Job job = new Job(id, "m", List.of(), null, config.topics().defaultReplyTo(), null, null, null, null, params,
            Endpoint.EMBEDDINGS, input);
        // No dispatched_at: written before the worker reads them, each would come as a late copy (see BenchFleet)
        Assignment a = new Assignment("lease-" + id, job, 1, Priority.LOW, route, "k1", Instant.now(),
            null, null, config.topics().defaultReplyTo());
        p.send(new ProducerRecord<>(config.topics().assignments(), id, Json.bytes(a)));
      }
      p.flush();
    }
  }

  /** Counts the records on the reply topic and their value bytes, from its start, on its own thread. */
  private static final class ResultReader extends Thread {
    final AtomicLong records = new AtomicLong();
    final AtomicLong bytes = new AtomicLong();
    private final FleetConfig config;

    ResultReader(FleetConfig config) {
      super("result-reader");
      setDaemon(true);
      this.config = config;
    }

    @Override
    public void run() {
      String topic = config.topics().defaultReplyTo();
      try (var c = new KafkaConsumer<String, byte[]>(Map.of("bootstrap.servers", config.kafka().bootstrapServers(),
          "key.deserializer", StringDeserializer.class, "value.deserializer", ByteArrayDeserializer.class,
          "max.partition.fetch.bytes", 8 << 20))) {
        List<TopicPartition> parts = new ArrayList<>();
        parts.addAll(TopicPartitions.await(c, topic, Duration.ofSeconds(30)));
        c.assign(parts);
        c.seekToBeginning(parts);
        while (true) {
          for (var r : c.poll(Duration.ofMillis(100))) {
            bytes.addAndGet(r.serializedValueSize());
            records.incrementAndGet();
          }
        }
      }
    }

    void await(long n, Duration max) {
      long until = System.nanoTime() + max.toNanos();
      while (records.get() < n) {
        if (System.nanoTime() > until) {
          throw new IllegalStateException("only " + records.get() + " of " + n + " results within " + max);
        }
        BenchFleet.sleep(Duration.ofMillis(10));
      }
    }
  }
}
