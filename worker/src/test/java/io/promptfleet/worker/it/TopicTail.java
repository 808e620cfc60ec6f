package io.promptfleet.worker.it;

import io.promptfleet.common.kafka.TopicPartitions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/** Reads one topic from the beginning on its own thread and keeps every record; tests wait on what it saw. */
final class TopicTail implements AutoCloseable {
  private final List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
  private final KafkaConsumer<String, byte[]> consumer;
  private final Thread thread;
  private volatile boolean running = true;

  TopicTail(String bootstrap, String topic) {
    Map<String, Object> props = new HashMap<>();
    props.put("bootstrap.servers", bootstrap);
    props.put("key.deserializer", StringDeserializer.class);
    props.put("value.deserializer", ByteArrayDeserializer.class);
    consumer = new KafkaConsumer<>(props);
    List<TopicPartition> parts = new ArrayList<>();
    parts.addAll(TopicPartitions.await(consumer, topic, Duration.ofSeconds(30)));
    consumer.assign(parts);
    consumer.seekToBeginning(parts);
    thread = new Thread(this::run, "tail-" + topic);
    thread.setDaemon(true);
    thread.start();
  }

  private void run() {
    try {
      while (running) {
        var batch = consumer.poll(Duration.ofMillis(100));
        synchronized (records) {
          batch.forEach(records::add);
          records.notifyAll();
        }
      }
    } catch (WakeupException e) {
      // closing
    } finally {
      consumer.close();
    }
  }

  List<ConsumerRecord<String, byte[]>> snapshot() {
    synchronized (records) {
      return new ArrayList<>(records);
    }
  }

  /** Waits until {@code done} holds for the records seen so far (or the timeout passes); returns them. */
  List<ConsumerRecord<String, byte[]>> await(Predicate<List<ConsumerRecord<String, byte[]>>> done, Duration timeout)
      throws InterruptedException {
    long until = System.nanoTime() + timeout.toNanos();
    synchronized (records) {
      while (!done.test(records)) {
        long left = (until - System.nanoTime()) / 1_000_000;
        if (left <= 0) {
          break;
        }
        records.wait(Math.min(left, 100));
      }
      return new ArrayList<>(records);
    }
  }

  @Override
  public void close() {
    running = false;
    consumer.wakeup();
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
