package io.promptfleet.bench.fleet;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.kafka.KafkaClients;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Jobs at a steady rate onto the normal job topic (acks=all, idempotent), each with a unique {@code job_id}
 * {@code <phase>-<n>}; also a backlog at once. The rate and the phase can change while it runs; rate 0 pauses it.
 *
 * <p>Thread-safe: its own thread produces; {@link #rate}, {@link #phase} and {@link #backlog} may be called from
 * any thread.
 */
final class SteadyLoad implements AutoCloseable {
  private final FleetConfig config;
  private final String model;
  private final int maxTokens;
  private final KafkaProducer<String, byte[]> producer;
  private final Thread thread;
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private volatile double perSecond;
  private volatile String phase = "idle";
  private volatile boolean closed;
  private long n;

  SteadyLoad(FleetConfig config, String model, int maxTokens) {
    this.config = config;
    this.model = model;
    this.maxTokens = maxTokens;
    var props = KafkaClients.producer(config.kafka(), "bench-load");
    props.put("delivery.timeout.ms", 120_000);
    this.producer = new KafkaProducer<>(props);
    this.thread = new Thread(this::run, "bench-load");
    thread.setDaemon(true);
    thread.start();
  }

  /** Jobs per second from now on; 0 pauses. */
  void rate(double jobsPerSecond) {
    this.perSecond = jobsPerSecond;
    LockSupport.unpark(thread);
  }

  /** The job-id prefix of the jobs produced from now on. */
  synchronized void phase(String name) {
    this.phase = name;
    this.n = 0;
  }

  /** Produces {@code count} jobs of the current phase now, and waits until the broker has them. */
  synchronized void backlog(int count) {
    for (int i = 0; i < count; i++) {
      send();
    }
    producer.flush();
  }

  long failedSends() {
    return failed.get();
  }

  long sent() {
    return sent.get();
  }

  private synchronized void send() {
    String id = phase + "-" + n++;
    var o = Json.mapper().createObjectNode();
    o.put("job_id", id).put("model", model).put("max_tokens", maxTokens)
        .put("reply_to", config.topics().defaultReplyTo());
    o.putArray("messages").addObject().put("role", "user").put("content", "say something " + id);
    producer.send(new ProducerRecord<>(config.topics().jobsNormal(), id, Json.bytes(o)), (md, e) -> {
      if (e != null) {
        failed.incrementAndGet();
      }
    });
    sent.incrementAndGet();
  }

  private void run() {
    long next = System.nanoTime();
    while (!closed) {
      double r = perSecond;
      if (r <= 0) {
        LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
        next = System.nanoTime();
        continue;
      }
      next += (long) (1e9 / r);
      long wait = next - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      } else if (wait < -1_000_000_000L) {
        next = System.nanoTime(); // fell behind (a broker down blocks send): no burst to catch up
      }
      if (perSecond > 0) {
        send();
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    LockSupport.unpark(thread);
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producer.close(Duration.ofSeconds(10));
  }
}
