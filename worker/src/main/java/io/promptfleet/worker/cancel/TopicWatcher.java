package io.promptfleet.worker.cancel;

import io.promptfleet.common.codec.CancelRecords;
import io.promptfleet.common.kafka.TopicPartitions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads every record of one topic that every worker must see (no group may split them): a consumer without a group,
 * assigned all partitions from their end at start, on its own named thread. The worker watches the cancels topic
 * ({@link #cancels}: records read by {@link CancelRecords}, the one cancel codec the dispatcher and the client use
 * too) and the fleet events ({@link #of}, for the leases released).
 *
 * <p>Thread-safe lifecycle; the record handler runs on the watcher's thread and must not block.
 */
public final class TopicWatcher {
  private static final Logger LOG = LoggerFactory.getLogger(TopicWatcher.class);

  private final Map<String, Object> props;
  private final String topic;
  private final Consumer<ConsumerRecord<String, byte[]>> onRecord;
  private final Thread thread;
  private final CountDownLatch ready = new CountDownLatch(1);
  private volatile boolean running = true;
  private volatile KafkaConsumer<String, byte[]> consumer;

  /** @param props consumer properties without a group id (deserializers: String keys, byte[] values) */
  public static TopicWatcher of(String threadName, Map<String, Object> props, String topic,
      Consumer<ConsumerRecord<String, byte[]>> onRecord) {
    return new TopicWatcher(threadName, props, topic, onRecord);
  }

  /** The cancels: {@code onCancel} gets the job id of each readable cancel. */
  public static TopicWatcher cancels(String threadName, Map<String, Object> props, String topic,
      Consumer<String> onCancel) {
    return new TopicWatcher(threadName, props, topic, r -> {
      var id = CancelRecords.jobId(r.key(), r.value());
      if (id.isPresent()) {
        onCancel.accept(id.get());
      } else {
        LOG.debug("ignoring an unreadable cancel at {}-{}@{}", r.topic(), r.partition(), r.offset());
      }
    });
  }

  private TopicWatcher(String threadName, Map<String, Object> props, String topic,
      Consumer<ConsumerRecord<String, byte[]>> onRecord) {
    this.props = props;
    this.topic = topic;
    this.onRecord = onRecord;
    this.thread = new Thread(this::run, threadName);
    this.thread.setDaemon(true);
  }

  public void start() {
    thread.start();
  }

  /** Waits until the watcher is positioned at the end of every partition (records from now on are seen). */
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
    try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(props)) {
      consumer = c;
      List<TopicPartition> parts = TopicPartitions.await(c, topic, () -> running);
      c.assign(parts);
      c.seekToEnd(parts);
      parts.forEach(c::position); // resolve the end now, so records written after ready are never skipped
      ready.countDown();
      while (running) {
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
          onRecord.accept(r);
        }
      }
    } catch (WakeupException e) {
      // closing
    } catch (RuntimeException e) {
      if (running) {
        LOG.error("watcher of {} failed; its records are no longer seen by this worker", topic, e);
      }
    }
  }
}
