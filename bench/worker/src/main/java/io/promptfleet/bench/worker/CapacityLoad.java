package io.promptfleet.bench.worker;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.kafka.TopicPartitions;
import io.promptfleet.simulator.internal.SelfSignedTls;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * The load side of the capacity benchmark, in its own JVM: the paced upstream, and a reader of the reply topic that
 * measures, for each chunk, the latency from the upstream writing the delta to the chunk being readable on the reply
 * topic; and how many streams made progress in each 5 s window.
 *
 * <p>Env: BOOTSTRAP, PREFIX (shared with the worker side), PORT (18090), TOKENS, TPS, WARMUP_S (20), DURATION_S
 * (60), LINGER_S (0: after its summary the upstream goes on serving that long, so that the worker's streams end
 * when the worker does, not cut by this JVM's exit), TLS (1: HTTPS with a self-signed certificate, ALPN h2 and
 * http/1.1; else plain HTTP/1.1 and h2c),
 * H2_MAX_STREAMS (100: the HTTP/2 streams per connection it allows). Prints {@code LOAD CA <pem file>} (with TLS:
 * the certificate for the worker to trust) and {@code LOAD READY} once listening, then a summary ending in a {@code
 * RESULT load} line for run-capacity.sh's table.
 */
public final class CapacityLoad {
  private CapacityLoad() {}

  public static void main(String[] args) throws Exception {
    String bootstrap = BenchFleet.env("BOOTSTRAP", null);
    String prefix = BenchFleet.env("PREFIX", null);
    int port = Integer.parseInt(BenchFleet.env("PORT", "18090"));
    int tokens = Integer.parseInt(BenchFleet.env("TOKENS", "120"));
    double tps = Double.parseDouble(BenchFleet.env("TPS", "1"));
    long warmupS = Long.parseLong(BenchFleet.env("WARMUP_S", "20"));
    long durationS = Long.parseLong(BenchFleet.env("DURATION_S", "60"));
    boolean tls = "1".equals(BenchFleet.env("TLS", "0"));
    int h2MaxStreams = Integer.parseInt(BenchFleet.env("H2_MAX_STREAMS", "100"));
    FleetConfig config = BenchFleet.config(bootstrap, prefix, "http://127.0.0.1:" + port + "/v1", 1, 1);
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
    SelfSignedTls cert = tls ? SelfSignedTls.generate("127.0.0.1") : null;
    PacedUpstream upstream = new PacedUpstream(tokens, tps, cert, h2MaxStreams);
    upstream.start(vertx, port, 2).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    if (cert != null) {
      System.out.println("LOAD CA " + cert.pemFile());
    }

    Map<String, Object> props = new HashMap<>();
    props.put("bootstrap.servers", bootstrap);
    props.put("key.deserializer", StringDeserializer.class);
    props.put("value.deserializer", ByteArrayDeserializer.class);
    props.put("fetch.max.wait.ms", 5);
    JsonFactory json = new JsonFactory();
    long[] histogramMs = new long[60_001];
    long measured = 0;
    long held;
    long rampS;
    int upstreamHeld;
    Map<String, Long> lastChunkAt = new HashMap<>();
    try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(props)) {
      String topic = config.topics().defaultReplyTo();
      List<TopicPartition> parts = new ArrayList<>();
      parts.addAll(TopicPartitions.await(c, topic, Duration.ofSeconds(30)));
      c.assign(parts);
      c.seekToEnd(parts);
      parts.forEach(c::position);
      System.out.println("LOAD READY");
      System.out.flush();
      long firstChunk = 0;
      long nextReport = 0;
      long minProgressing = Long.MAX_VALUE;
      int peakOpen = 0;
      long peakAtS = 0;
      int minUpstreamOpen = Integer.MAX_VALUE;
      while (true) {
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(50))) {
          long now = PacedUpstream.nowMicros();
          String delta = delta(json, r.value());
          if (delta == null) {
            continue;
          }
          if (firstChunk == 0) {
            firstChunk = System.nanoTime();
            nextReport = firstChunk + TimeUnit.SECONDS.toNanos(5);
          }
          lastChunkAt.put(r.key(), System.nanoTime());
          if (System.nanoTime() - firstChunk > TimeUnit.SECONDS.toNanos(warmupS)) {
            for (String t : delta.trim().split("\\s+")) { // coalesced chunks hold several stamps
              long ms = Math.max(0, (now - Long.parseLong(t)) / 1000);
              histogramMs[(int) Math.min(ms, histogramMs.length - 1)]++;
              measured++;
            }
          }
        }
        if (firstChunk != 0 && System.nanoTime() >= nextReport) {
          long cutoff = System.nanoTime() - TimeUnit.SECONDS.toNanos(5);
          long progressing = lastChunkAt.values().stream().filter(t -> t >= cutoff).count();
          if (upstream.openStreams() > peakOpen) {
            peakOpen = upstream.openStreams();
            peakAtS = (System.nanoTime() - firstChunk) / 1_000_000_000L;
          }
          if (System.nanoTime() - firstChunk > TimeUnit.SECONDS.toNanos(warmupS)) {
            minProgressing = Math.min(minProgressing, progressing);
            minUpstreamOpen = Math.min(minUpstreamOpen, upstream.openStreams());
          }
          System.out.printf(Locale.ROOT, "t=%3ds upstream open streams=%d, connections=%d, streams with a chunk on "
              + "the reply topic in the last 5 s=%d%n", (System.nanoTime() - firstChunk) / 1_000_000_000L,
              upstream.openStreams(), upstream.openConnections(), progressing);
          nextReport += TimeUnit.SECONDS.toNanos(5);
        }
        if (firstChunk != 0 && System.nanoTime() - firstChunk > TimeUnit.SECONDS.toNanos(warmupS + durationS)) {
          break;
        }
      }
      held = minProgressing == Long.MAX_VALUE ? 0 : minProgressing;
      rampS = peakAtS;
      upstreamHeld = minUpstreamOpen == Integer.MAX_VALUE ? 0 : minUpstreamOpen;
    }
    System.out.printf(Locale.ROOT, "upstream connections (%s, accept backlog asked %d, kernel somaxconn %s): "
        + "opened=%d, peak open=%d, open now=%d, by protocol of their first request %s%n",
        tls ? "TLS, ALPN h2 + http/1.1" : "plain, HTTP/1.1 + h2c", PacedUpstream.ACCEPT_BACKLOG, somaxconn(),
        upstream.connectionsOpened(), upstream.peakConnections(), upstream.openConnections(),
        upstream.connectionsByProtocol());
    System.out.printf(Locale.ROOT, "held through the measured %d s: streams with a chunk on the reply topic in every "
        + "5 s window >= %d, upstream open streams >= %d; the upstream's open streams reached their peak at t=%d s "
        + "(the ramp of connects, which the warm-up should cover)%n", durationS, held, upstreamHeld, rampS);
    System.out.printf(Locale.ROOT, "added chunk latency (upstream write -> readable on the reply topic), %d chunks "
        + "after %d s warm-up: p50=%d ms p90=%d ms p99=%d ms p99.9=%d ms max=%d ms%n", measured, warmupS,
        pct(histogramMs, measured, 0.5), pct(histogramMs, measured, 0.9), pct(histogramMs, measured, 0.99),
        pct(histogramMs, measured, 0.999), pct(histogramMs, measured, 1.0));
    System.out.printf(Locale.ROOT, "RESULT load held=%d ramp_s=%d upstream_open=%d conns_opened=%d peak_conns=%d "
        + "p50=%d p99=%d%n", held, rampS, upstreamHeld, upstream.connectionsOpened(), upstream.peakConnections(),
        pct(histogramMs, measured, 0.5), pct(histogramMs, measured, 0.99));
    System.out.flush();
    BenchFleet.sleep(Duration.ofSeconds(Long.parseLong(BenchFleet.env("LINGER_S", "0"))));
    vertx.close();
    if (cert != null) {
      cert.delete();
    }
    System.exit(0);
  }

  private static String somaxconn() {
    try {
      return java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/sys/net/core/somaxconn")).get(0).strip();
    } catch (java.io.IOException | RuntimeException e) {
      return "unknown";
    }
  }

  private static long pct(long[] h, long n, double p) {
    long want = Math.max(1, (long) Math.ceil(p * n));
    long seen = 0;
    for (int i = 0; i < h.length; i++) {
      seen += h[i];
      if (seen >= want) {
        return i;
      }
    }
    return h.length - 1;
  }

  /** The delta of a chunk record, or null for results and other records. */
  private static String delta(JsonFactory json, byte[] value) throws java.io.IOException {
    try (JsonParser p = json.createParser(value)) {
      p.nextToken();
      String type = null;
      String delta = null;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String f = p.currentName();
        p.nextToken();
        if ("type".equals(f)) {
          type = p.getText();
        } else if ("delta".equals(f)) {
          delta = p.getText();
        } else {
          p.skipChildren();
        }
      }
      return "chunk".equals(type) ? delta : null;
    }
  }
}
