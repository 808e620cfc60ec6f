package io.promptfleet.worker.poll;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One share consumer and the named thread that owns it. A lane acquires up to {@code batch} assignments with one
 * poll, hands each to the handler, and acknowledges each one when the handler says so; it polls again only when
 * every assignment of the batch is acknowledged (a share consumer in explicit mode may not poll while records of
 * the last batch are unacknowledged). Assignments still running when their acquisition lock is half over are
 * renewed (RENEW, then commit at once, so the renewal is not left to the next poll).
 *
 * <p>Other threads talk to the lane only through {@link #acknowledge}, which queues the acknowledgement for the
 * lane thread. Thread-safe in that sense; the consumer itself is touched by the lane thread only.
 */
public final class Lane {
  private static final Logger LOG = LoggerFactory.getLogger(Lane.class);

  private final String name;
  private final Map<String, Object> props;
  private final String topic;
  private final BiConsumer<ConsumerRecord<String, byte[]>, Lane> handler;
  private final Duration renewAfter;
  private final Clock clock;
  private final BlockingQueue<Ack> acks = new LinkedBlockingQueue<>();
  private final Map<Long, InFlight> inFlight = new LinkedHashMap<>();
  private final AtomicInteger held = new AtomicInteger();
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final Thread thread;
  private volatile boolean polling = true;
  private volatile boolean running = true;
  private volatile boolean connected;
  private volatile KafkaShareConsumer<String, byte[]> consumer;
  private final Consumer<Long> onRenew;

  private record Ack(ConsumerRecord<String, byte[]> record, AcknowledgeType type) {}

  private static final class InFlight {
    final ConsumerRecord<String, byte[]> record;
    long renewAt;

    InFlight(ConsumerRecord<String, byte[]> record, long renewAt) {
      this.record = record;
      this.renewAt = renewAt;
    }
  }

  /**
   * @param handler    called on the lane thread for each acquired record; must not block, and must eventually call
   *                   {@link #acknowledge} exactly once for it
   * @param renewAfter how long after acquisition (and after each renewal) a still-running record is renewed:
   *                   about half the group's lock duration
   * @param onRenew    told of each renewal (for metrics)
   */
  public Lane(String name, Map<String, Object> props, String topic,
      BiConsumer<ConsumerRecord<String, byte[]>, Lane> handler, Duration renewAfter, Clock clock,
      Consumer<Long> onRenew) {
    this.name = name;
    this.props = props;
    this.topic = topic;
    this.handler = handler;
    this.renewAfter = renewAfter;
    this.clock = clock;
    this.onRenew = onRenew;
    this.thread = new Thread(this::run, name);
  }

  public void start() {
    thread.start();
  }

  /** Acknowledges a record this lane handed out; any thread. */
  public void acknowledge(ConsumerRecord<String, byte[]> record, AcknowledgeType type) {
    acks.add(new Ack(record, type));
  }

  /** Assignments acquired and not yet acknowledged. */
  public int held() {
    return held.get();
  }

  /** True once the consumer has polled successfully at least once and has not failed since. */
  public boolean connected() {
    return connected;
  }

  /** Stops acquiring new assignments; those in flight go on. */
  public void stopPolling() {
    polling = false;
  }

  /**
   * Stops the lane: what is still in flight after {@code grace} is released to the share group for another worker.
   */
  public void close(Duration grace) {
    polling = false;
    long until = System.nanoTime() + grace.toNanos();
    while (held.get() > 0 && System.nanoTime() < until) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    running = false; // the lane thread sees it within one poll or ack wait (<= 200 ms)
    try {
      if (!stopped.await(30, TimeUnit.SECONDS)) {
        LOG.warn("lane {} did not stop within 30 s", name);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    try {
      consumer = new KafkaShareConsumer<>(props);
      consumer.subscribe(List.of(topic));
      while (running) {
        loop();
      }
    } catch (RuntimeException e) {
      LOG.error("lane {} failed", name, e);
    } finally {
      connected = false;
      releaseAll();
      stopped.countDown();
    }
  }

  private void loop() {
    drainAcks(0);
    if (inFlight.isEmpty()) {
      if (!polling) {
        drainAcks(50);
        return;
      }
      var records = consumer.poll(Duration.ofMillis(200));
      connected = true;
      long renewAt = clock.millis() + renewAfter.toMillis();
      for (ConsumerRecord<String, byte[]> r : records) {
        inFlight.put(key(r), new InFlight(r, renewAt));
        held.incrementAndGet();
      }
      for (ConsumerRecord<String, byte[]> r : records) {
        handler.accept(r, this);
      }
    } else {
      renewDue();
      drainAcks(50);
    }
  }

  private void drainAcks(long waitMs) {
    try {
      Ack a = waitMs > 0 ? acks.poll(waitMs, TimeUnit.MILLISECONDS) : acks.poll();
      boolean any = false;
      while (a != null) {
        if (inFlight.remove(key(a.record())) != null) {
          consumer.acknowledge(a.record(), a.type());
          held.decrementAndGet();
          any = true;
        }
        a = acks.poll();
      }
      if (any) {
        consumer.commitAsync();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      running = false;
    }
  }

  private void renewDue() {
    long now = clock.millis();
    boolean any = false;
    for (InFlight f : inFlight.values()) {
      if (now >= f.renewAt) {
        consumer.acknowledge(f.record, AcknowledgeType.RENEW);
        f.renewAt = now + renewAfter.toMillis();
        onRenew.accept(1L);
        any = true;
      }
    }
    if (any) {
      consumer.commitSync(Duration.ofSeconds(5));
    }
  }

  private void releaseAll() {
    KafkaShareConsumer<String, byte[]> c = consumer;
    if (c == null) {
      return;
    }
    try {
      drainAcks(0);
      for (InFlight f : inFlight.values()) {
        c.acknowledge(f.record, AcknowledgeType.RELEASE);
        held.decrementAndGet();
      }
      if (!inFlight.isEmpty()) {
        LOG.info("lane {} released {} unfinished assignments to the share group", name, inFlight.size());
      }
      inFlight.clear();
      c.commitSync(Duration.ofSeconds(5));
    } catch (RuntimeException e) {
      LOG.warn("lane {}: releasing on close failed (the broker reclaims them when the lock expires): {}", name,
          e.toString());
    } finally {
      c.close(Duration.ofSeconds(5));
    }
  }

  private static long key(ConsumerRecord<String, byte[]> r) {
    return ((long) r.partition() << 48) ^ r.offset();
  }
}
