package io.promptfleet.worker.cancel;

import io.promptfleet.common.codec.CancelRecords;
import io.promptfleet.common.kafka.TopicPartitions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads every record of one topic that every worker must see (no group may split them): a consumer without a group,
 * assigned all partitions from their end at start (or from a lookback before it), on its own named thread. A failed
 * consumer is replaced after {@link #RESTART_DELAY} and goes on from where the old one was (a broker failover must not
 * leave a worker deaf to cancels and releases for the rest of its life). The worker watches the cancels topic
 * ({@link #cancels}: records read by {@link CancelRecords}, the one cancel codec the dispatcher and the client use
 * too) and the fleet events ({@link #of}, for the leases released).
 *
 * <p>Thread-safe lifecycle; the record handler runs on the watcher's thread and must not block.
 */
public final class TopicWatcher {
  private static final Logger LOG = LoggerFactory.getLogger(TopicWatcher.class);

  /** How long a watcher whose consumer failed waits before it starts a new one. */
  static final Duration RESTART_DELAY = Duration.ofSeconds(1);
  /** How long a poll, and the broker's hold of an empty fetch, wait; {@link #close} wakes a polling watcher. */
  static final Duration IDLE_WAIT = Duration.ofSeconds(5);

  private final Map<String, Object> props;
  private final String topic;
  private final Duration lookback;
  private final Consumer<ConsumerRecord<String, byte[]>> onRecord;
  private final Thread thread;
  private final CountDownLatch ready = new CountDownLatch(1);
  private volatile boolean running = true;
  private volatile KafkaConsumer<String, byte[]> consumer;

  /**
   * @param props    consumer properties without a group id (deserializers: String keys, byte[] values)
   * @param lookback also the records of this long before the start (null: from the end)
   */
  public static TopicWatcher of(String threadName, Map<String, Object> props, String topic, Duration lookback,
      Consumer<ConsumerRecord<String, byte[]>> onRecord) {
    return new TopicWatcher(threadName, props, topic, lookback, onRecord);
  }

  /** The cancels: {@code onCancel} gets the job id of each readable cancel. */
  public static TopicWatcher cancels(String threadName, Map<String, Object> props, String topic,
      Consumer<String> onCancel) {
    return new TopicWatcher(threadName, props, topic, null, r -> {
      var id = CancelRecords.jobId(r.key(), r.value());
      if (id.isPresent()) {
        onCancel.accept(id.get());
      } else {
        LOG.debug("ignoring an unreadable cancel at {}-{}@{}", r.topic(), r.partition(), r.offset());
      }
    });
  }

  private TopicWatcher(String threadName, Map<String, Object> props, String topic, Duration lookback,
      Consumer<ConsumerRecord<String, byte[]>> onRecord) {
    Map<String, Object> p = new HashMap<>(props);
    // A tail: records arriving end a held fetch at once, so a long hold costs no latency, and an idle watcher asks
    // the broker every 5 s instead of every 500 ms (Kafka's default; issue 13's idle fleet). It never seeks while
    // a fetch is out (it would wait for that fetch): it is positioned once, before its first fetch.
    p.putIfAbsent(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, (int) IDLE_WAIT.toMillis());
    this.props = p;
    this.topic = topic;
    this.lookback = lookback;
    this.onRecord = onRecord;
    this.thread = new Thread(this::run, threadName);
    this.thread.setDaemon(true);
  }

  public void start() {
    thread.start();
  }

  /** Waits until the watcher is positioned on every partition (records from now on are seen). */
  public boolean awaitReady(Duration timeout) throws InterruptedException {
    return ready.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  public void close() {
    running = false;
    KafkaConsumer<String, byte[]> c = consumer;
    if (c != null) {
      c.wakeup();
    }
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    Map<TopicPartition, Long> positions = new HashMap<>();
    while (running) {
      KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(props);
      try {
        consumer = c;
        if (positions.isEmpty()) {
          List<TopicPartition> parts = TopicPartitions.await(c, topic, () -> running);
          c.assign(parts);
          positionAtStart(c, parts);
          parts.forEach(p -> positions.put(p, c.position(p))); // resolved now: nothing written after ready is skipped
          ready.countDown();
        } else {
          c.assign(positions.keySet()); // after a failure: on from where it was, nothing skipped
          positions.forEach(c::seek);
        }
        while (running) {
          for (ConsumerRecord<String, byte[]> r : c.poll(IDLE_WAIT)) {
            onRecord.accept(r);
            positions.put(new TopicPartition(r.topic(), r.partition()), r.offset() + 1);
          }
        }
      } catch (WakeupException e) {
        // closing
      } catch (RuntimeException e) {
        if (running) {
          LOG.error("watcher of {} failed; it starts a new consumer in {} ms, from where it was", topic,
              RESTART_DELAY.toMillis(), e);
          pause();
        }
      } finally {
        // Nothing to commit (no group); closing without a wait does not sit out the held fetch (IDLE_WAIT)
        c.close(Duration.ZERO);
      }
    }
  }

  /** From the end, or from {@code lookback} ago where one is set (the end where nothing is that recent). */
  private void positionAtStart(KafkaConsumer<String, byte[]> c, List<TopicPartition> parts) {
    c.seekToEnd(parts);
    if (lookback == null) {
      return;
    }
    long from = System.currentTimeMillis() - lookback.toMillis();
    Map<TopicPartition, Long> query = new HashMap<>();
    parts.forEach(p -> query.put(p, from));
    c.offsetsForTimes(query).forEach((p, found) -> {
      if (found != null) {
        c.seek(p, found.offset());
      }
    });
  }

  private void pause() {
    try {
      Thread.sleep(RESTART_DELAY.toMillis());
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
      running = false;
    }
  }
}
