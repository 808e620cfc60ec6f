package io.promptfleet.bench.fleet;

import io.promptfleet.bench.fleet.FleetChecker.JobRecord;
import io.promptfleet.bench.fleet.FleetChecker.ReplyRecord;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.TopicSettings;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.kafka.KafkaClients;
import io.promptfleet.common.kafka.TopicPartitions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;

/**
 * Follows the topics the checker judges, from their beginning, {@code read_committed}: the normal job topic (what
 * was produced), the default reply topic (chunks and results) and the job dead-letter topic; groups what it reads
 * by phase (a job id's part before its last {@code -}). {@link #everyRecord} reads every fleet topic once more,
 * for the evidence of a failed check.
 *
 * <p>Thread-safe: its own thread owns the consumer; the getters copy under a lock.
 */
final class TopicTail implements AutoCloseable {
  private final FleetConfig config;
  private final KafkaConsumer<String, byte[]> consumer;
  private final Thread thread;
  private final Map<String, List<JobRecord>> jobs = new HashMap<>();
  private final Map<String, List<ReplyRecord>> replies = new HashMap<>();
  private final Set<String> deadLetters = ConcurrentHashMap.newKeySet();
  /** Per phase: assignments written as successors ({@code after_lease}, dispatcher.successors). */
  private final Map<String, Integer> successors = new HashMap<>();
  private static final byte[] AFTER_LEASE = "\"after_lease\":\"".getBytes(java.nio.charset.StandardCharsets.UTF_8);
  private final Map<TopicPartition, Long> positions = new ConcurrentHashMap<>();
  private final List<TopicPartition> partitions = new ArrayList<>();
  private volatile boolean closed;

  TopicTail(FleetConfig config) {
    this.config = config;
    this.consumer = new KafkaConsumer<>(KafkaClients.groupless(config.kafka(), "bench-tail"));
    TopicSettings t = config.topics();
    for (String topic : List.of(t.jobsNormal(), t.defaultReplyTo(), t.deadLetters(), t.assignments())) {
      partitions.addAll(TopicPartitions.await(consumer, topic, Duration.ofSeconds(30)));
    }
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
    this.thread = new Thread(this::run, "bench-tail");
    thread.setDaemon(true);
    thread.start();
  }

  private void run() {
    TopicSettings t = config.topics();
    try {
      while (!closed) {
        var batch = consumer.poll(Duration.ofMillis(200));
        synchronized (this) {
          for (ConsumerRecord<String, byte[]> r : batch) {
            if (r.key() == null) {
              continue;
            }
            if (r.topic().equals(t.jobsNormal())) {
              jobs.computeIfAbsent(phaseOf(r.key()), k -> new ArrayList<>()).add(new JobRecord(r.key(),
                  r.timestamp()));
            } else if (r.topic().equals(t.assignments())) {
              if (r.value() != null && FastPath.indexOf(r.value(), AFTER_LEASE) >= 0) {
                successors.merge(phaseOf(r.key()), 1, Integer::sum);
              }
            } else if (r.topic().equals(t.defaultReplyTo())) {
              Reply reply = Json.read(r.value(), Reply.class);
              replies.computeIfAbsent(phaseOf(reply.jobId()), k -> new ArrayList<>())
                  .add(new ReplyRecord(r.offset(), r.timestamp(), reply));
            } else {
              deadLetters.add(r.key());
            }
          }
        }
        for (TopicPartition p : partitions) {
          positions.put(p, consumer.position(p));
        }
      }
    } catch (WakeupException e) {
      // closing
    } finally {
      consumer.close(Duration.ofSeconds(2));
    }
  }

  static String phaseOf(String jobId) {
    int dash = jobId.lastIndexOf('-');
    return dash < 0 ? jobId : jobId.substring(0, dash);
  }

  /** Waits until this tail has read everything committed to its topics when called; false on timeout. */
  boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
    Map<TopicPartition, Long> end;
    try (var c = new KafkaConsumer<String, byte[]>(KafkaClients.groupless(config.kafka(), "bench-tail-end"))) {
      end = c.endOffsets(partitions, Duration.ofSeconds(30)); // read_committed: the last stable offsets
    }
    long until = System.nanoTime() + timeout.toNanos();
    while (end.entrySet().stream().anyMatch(e -> positions.getOrDefault(e.getKey(), 0L) < e.getValue())) {
      if (System.nanoTime() > until) {
        return false;
      }
      Thread.sleep(100);
    }
    return true;
  }

  synchronized List<JobRecord> jobs(String phase) {
    return new ArrayList<>(jobs.getOrDefault(phase, List.of()));
  }

  synchronized List<ReplyRecord> replies(String phase) {
    return new ArrayList<>(replies.getOrDefault(phase, List.of()));
  }

  Set<String> deadLetters() {
    return Set.copyOf(deadLetters);
  }

  /** Successor assignments of a phase read so far (assignments marked {@code after_lease}). */
  synchronized int successors(String phase) {
    return successors.getOrDefault(phase, 0);
  }

  /** Results of a phase read so far. */
  synchronized long results(String phase) {
    return replies.getOrDefault(phase, List.of()).stream()
        .filter(r -> r.reply() instanceof io.promptfleet.common.job.Result).count();
  }

  /**
   * Every record of every fleet topic that names one of {@code jobIds} (as key or quoted in its value), one line
   * each: {@code topic-partition@offset timestamp value}, for a failed check's evidence.
   */
  static Map<String, List<String>> everyRecord(FleetConfig config, Set<String> jobIds) {
    TopicSettings t = config.topics();
    List<String> topics = List.of(t.jobsNormal(), t.jobsRetry(), t.assignments(), t.assignmentsDlq(),
        t.fleetEvents(), t.defaultReplyTo(), t.deadLetters(), t.cancels());
    Map<String, List<String>> lines = new HashMap<>();
    try (var c = new KafkaConsumer<String, byte[]>(KafkaClients.groupless(config.kafka(), "bench-evidence"))) {
      for (var r : TopicPartitions.readToEnd(c, topics, Duration.ofSeconds(120))) {
        String value = r.value() == null ? "" : new String(r.value(), StandardCharsets.UTF_8);
        for (String id : jobIds) {
          if (id.equals(r.key()) || value.contains("\"" + id + "\"")) {
            lines.computeIfAbsent(id, k -> new ArrayList<>()).add(r.topic() + "-" + r.partition() + "@"
                + r.offset() + " " + java.time.Instant.ofEpochMilli(r.timestamp()) + " "
                + value.substring(0, Math.min(300, value.length())));
          }
        }
      }
    }
    return lines;
  }

  @Override
  public void close() {
    closed = true;
    consumer.wakeup();
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
