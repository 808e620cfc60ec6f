package io.promptfleet.client;

import io.promptfleet.common.codec.CancelRecords;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.kafka.TopicPartitions;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Request/reply over Kafka: {@link #submit} produces a job to its priority topic with {@code reply_to} set to this
 * client's reply topic, and returns a future completed by the job's one result. Chunks are handed to an optional
 * {@link ChunkListener} in order; chunks of an attempt that a later attempt superseded are discarded for the caller.
 *
 * <p>There is no default timeout (LLM answers take minutes): bound the wait with the job's deadline or
 * {@link CompletableFuture#orTimeout}. Submitting a job id that is still pending returns the pending future and
 * produces nothing (idempotent resubmission). A client restarted while its jobs ran can re-attach with
 * {@link Builder#readFrom(Instant)} and {@link #await(String, ChunkListener)}. {@link #cancel} stops a job, queued
 * or in flight.
 *
 * <p>Thread-safe. One thread ({@code pf-client-replies}) owns the reply consumer and completes futures; do not
 * block in callbacks that run on it (use the {@code *Async} stages).
 */
public final class PromptFleetClient implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PromptFleetClient.class);

  private final String replyTopic;
  private final String cancelsTopic;
  private final String defaultModel;
  private final KafkaProducer<String, byte[]> producer;
  private final KafkaConsumer<String, byte[]> consumer;
  private final Map<String, Pending> pending = new ConcurrentHashMap<>();
  /** Results read for ids nobody waits for yet that {@link Builder#keepUnclaimedResults} asked to keep. */
  private final Map<String, Result> unclaimed = new ConcurrentHashMap<>();
  private final Predicate<String> keep;
  private final Thread thread;
  private final CountDownLatch started = new CountDownLatch(1);
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final Map<Priority, String> topics;
  private volatile boolean running = true;
  private volatile RuntimeException startFailure;

  private static final class Pending {
    final CompletableFuture<Result> future = new CompletableFuture<>();
    final ChunkListener listener;
    int attempt;
    long nextSeq;

    Pending(ChunkListener listener) {
      this.listener = listener;
    }
  }

  private PromptFleetClient(Builder b) {
    this.replyTopic = b.replyTopic;
    this.cancelsTopic = b.cancelsTopic != null ? b.cancelsTopic : defaultCancelsTopic(b.topicPrefix);
    this.defaultModel = b.defaultModel;
    this.topics = Map.of(Priority.HIGH, b.topicPrefix + "high", Priority.NORMAL, b.topicPrefix + "normal",
        Priority.LOW, b.topicPrefix + "low");
    Map<String, Object> common = new HashMap<>(b.kafkaProperties);
    common.put("bootstrap.servers", b.bootstrapServers);
    Map<String, Object> p = new HashMap<>(common);
    p.put("key.serializer", StringSerializer.class);
    p.put("value.serializer", ByteArraySerializer.class);
    p.put("acks", "all");
    p.put("enable.idempotence", true);
    p.put("linger.ms", 5);
    this.producer = new KafkaProducer<>(p);
    Map<String, Object> c = new HashMap<>(common);
    c.put("key.deserializer", StringDeserializer.class);
    c.put("value.deserializer", ByteArrayDeserializer.class);
    c.put("isolation.level", "read_committed");
    c.put("enable.auto.commit", false);
    this.consumer = new KafkaConsumer<>(c);
    Instant from = b.readFrom;
    this.keep = b.keepUnclaimed;
    this.thread = new Thread(() -> run(from), "pf-client-replies");
    this.thread.setDaemon(true);
    this.thread.start();
    try {
      if (!started.await(60, TimeUnit.SECONDS)) {
        throw new IllegalStateException("reply topic " + replyTopic + " not readable within 60 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting", e);
    }
    if (startFailure != null) {
      close();
      throw startFailure;
    }
  }

  /** {@code X.cancels} for job topics {@code X.jobs.*}, as the fleet names its topics; else llm.cancels. */
  static String defaultCancelsTopic(String jobTopicPrefix) {
    return jobTopicPrefix != null && jobTopicPrefix.endsWith(".jobs.") && jobTopicPrefix.length() > 6
        ? jobTopicPrefix.substring(0, jobTopicPrefix.length() - ".jobs.".length()) + ".cancels"
        : "llm.cancels";
  }

  public static Builder builder(String bootstrapServers) {
    return new Builder(bootstrapServers);
  }

  /** Submits a job; the future completes with its one result, whatever its status. */
  public CompletableFuture<Result> submit(JobRequest job) {
    return submit(job, null);
  }

  /** Submits a job and streams its chunks to {@code listener} as they arrive. */
  public CompletableFuture<Result> submit(JobRequest job, ChunkListener listener) {
    Objects.requireNonNull(job, "job");
    Pending fresh = new Pending(listener);
    Pending existing = pending.putIfAbsent(job.jobId(), fresh);
    if (existing != null) {
      return existing.future; // idempotent: the same job is already on its way
    }
    if (claim(job.jobId(), fresh)) {
      return fresh.future; // answered already (read back from before this client started): not produced again
    }
    byte[] bytes;
    try {
      bytes = job.toBytes(replyTopic, defaultModel);
    } catch (RuntimeException e) {
      pending.remove(job.jobId());
      return CompletableFuture.failedFuture(e);
    }
    producer.send(new ProducerRecord<>(topics.get(job.priority()), job.jobId(), bytes), (md, e) -> {
      if (e != null) {
        pending.remove(job.jobId(), fresh);
        fresh.future.completeExceptionally(e);
      }
    });
    return fresh.future;
  }

  /** Waits for the result of a job submitted earlier (e.g. before a restart), without producing it again. */
  public CompletableFuture<Result> await(String jobId, ChunkListener listener) {
    Pending fresh = new Pending(listener);
    Pending existing = pending.putIfAbsent(jobId, fresh);
    if (existing != null) {
      return existing.future;
    }
    claim(jobId, fresh);
    return fresh.future;
  }

  /**
   * Completes {@code p} with a kept result of {@code jobId}, if one was read. The reply thread keeps a result, then
   * looks for a waiter; a submitter registers, then looks for a kept result: whoever removes it delivers it, once.
   */
  private boolean claim(String jobId, Pending p) {
    Result kept = unclaimed.remove(jobId);
    if (kept == null) {
      return false;
    }
    pending.remove(jobId, p);
    p.future.complete(kept);
    return true;
  }

  /**
   * Cancels a job, queued or in flight: writes a cancel record ({@code {"job_id": ...}}, keyed by the job id) to
   * the cancels topic. The returned future completes when Kafka acknowledged the record (or fails when it could
   * not be written); the job's future then completes with a {@code cancelled} result, or with the result the job
   * reached first. A cancel is remembered by the fleet for a while: do not reuse a cancelled job id.
   */
  public CompletableFuture<Void> cancel(String jobId) {
    Objects.requireNonNull(jobId, "jobId");
    if (jobId.isBlank()) {
      throw new IllegalArgumentException("jobId must not be blank");
    }
    CompletableFuture<Void> acked = new CompletableFuture<>();
    try {
      producer.send(cancelRecord(cancelsTopic, jobId), (md, e) -> {
        if (e != null) {
          acked.completeExceptionally(e);
        } else {
          acked.complete(null);
        }
      });
    } catch (RuntimeException e) {
      acked.completeExceptionally(e);
    }
    return acked;
  }

  /**
   * The cancel record of a job, as {@link CancelRecords} writes it (key and {@code job_id} = the job id).
   */
  static ProducerRecord<String, byte[]> cancelRecord(String topic, String jobId) {
    return new ProducerRecord<>(topic, jobId, CancelRecords.value(jobId));
  }

  /** Jobs submitted and not yet answered. */
  public int pendingCount() {
    return pending.size();
  }

  private void run(Instant from) {
    try {
      List<TopicPartition> parts = TopicPartitions.await(consumer, replyTopic, Duration.ofSeconds(30));
      consumer.assign(parts);
      if (from == null) {
        consumer.seekToEnd(parts);
      } else {
        Map<TopicPartition, Long> ts = new HashMap<>();
        parts.forEach(tp -> ts.put(tp, from.toEpochMilli()));
        Map<TopicPartition, OffsetAndTimestamp> offsets = consumer.offsetsForTimes(ts);
        for (TopicPartition tp : parts) {
          OffsetAndTimestamp o = offsets.get(tp);
          if (o == null) {
            consumer.seekToEnd(List.of(tp));
          } else {
            consumer.seek(tp, o.offset());
          }
        }
      }
      parts.forEach(consumer::position); // fix the start before any job is produced
    } catch (RuntimeException e) {
      startFailure = e;
      started.countDown();
      stopped.countDown();
      return;
    }
    started.countDown();
    try {
      while (running) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          Pending p = r.key() == null ? null : pending.get(r.key());
          if (p != null) {
            deliver(r.key(), p, r);
          } else if (r.key() != null && keep != null && keep.test(r.key())) {
            keepUnclaimed(r);
          }
        }
      }
    } catch (WakeupException e) {
      // closing
    } catch (RuntimeException e) {
      LOG.error("reply reader failed; failing {} pending jobs", pending.size(), e);
      pending.values().forEach(p -> p.future.completeExceptionally(e));
    } finally {
      consumer.close(Duration.ofSeconds(5));
      stopped.countDown();
    }
  }

  /** A result for a kept id nobody waits for yet: kept until {@link #submit} or {@link #await} claims it. */
  private void keepUnclaimed(ConsumerRecord<String, byte[]> r) {
    Reply reply;
    try {
      reply = Json.read(r.value(), Reply.class);
    } catch (RuntimeException e) {
      return;
    }
    if (reply instanceof Result res) {
      unclaimed.put(r.key(), res);
      Pending p = pending.get(r.key());
      if (p != null) {
        claim(r.key(), p);
      }
    }
  }

  private void deliver(String jobId, Pending p, ConsumerRecord<String, byte[]> r) {
    Reply reply;
    try {
      reply = Json.read(r.value(), Reply.class);
    } catch (RuntimeException e) {
      LOG.warn("unreadable reply for {} at {}-{}@{}", jobId, r.topic(), r.partition(), r.offset());
      return;
    }
    if (reply instanceof Chunk c) {
      if (c.attempt() < p.attempt) {
        return; // a superseded attempt
      }
      if (c.attempt() > p.attempt || c.seq() < p.nextSeq) {
        // a new attempt, or the same attempt run again after a worker crash: start over
        if (p.attempt != 0 && p.listener != null) {
          try {
            p.listener.onRestart(c.attempt());
          } catch (RuntimeException e) {
            LOG.warn("chunk listener of {} failed on restart", jobId, e);
          }
        }
        p.attempt = c.attempt();
        p.nextSeq = 0;
        if (c.seq() != 0) {
          return;
        }
      }
      if (c.seq() == p.nextSeq) {
        p.nextSeq++;
        if (p.listener != null) {
          try {
            ChunkListener.deliver(p.listener, c);
          } catch (RuntimeException e) {
            LOG.warn("chunk listener of {} failed on seq {}; the job goes on", jobId, c.seq(), e);
          }
        }
      }
    } else if (reply instanceof Result res) {
      pending.remove(jobId, p);
      if (p.listener != null && res.finishReason() != null) {
        try {
          p.listener.onFinish(res.finishReason());
        } catch (RuntimeException e) {
          LOG.warn("chunk listener of {} failed on finish", jobId, e);
        }
      }
      p.future.complete(res);
    }
  }

  @Override
  public void close() {
    running = false;
    consumer.wakeup();
    try {
      stopped.await(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producer.close(Duration.ofSeconds(5));
    pending.values().forEach(p -> p.future.cancel(false));
  }

  /** Configures a {@link PromptFleetClient}. Not thread-safe. */
  public static final class Builder {
    private final String bootstrapServers;
    private String replyTopic = "llm.replies";
    private String topicPrefix = "llm.jobs.";
    private String cancelsTopic;
    private String defaultModel;
    private Instant readFrom;
    private Predicate<String> keepUnclaimed;
    private final Map<String, Object> kafkaProperties = new HashMap<>();

    private Builder(String bootstrapServers) {
      this.bootstrapServers = Objects.requireNonNull(bootstrapServers, "bootstrapServers");
    }

    /** The shared reply topic this client reads (default llm.replies; must be in the fleet's allow-list). */
    public Builder replyTopic(String topic) {
      this.replyTopic = topic;
      return this;
    }

    /** Job topics are PREFIX + high|normal|low (default llm.jobs.). */
    public Builder jobTopicPrefix(String prefix) {
      this.topicPrefix = prefix;
      return this;
    }

    /**
     * The topic {@link #cancel} writes to: the fleet's {@code topics.cancels}. Default: {@code llm.cancels}, or
     * {@code X.cancels} when the job topic prefix is {@code X.jobs.} (the fleet's own naming).
     */
    public Builder cancelsTopic(String topic) {
      this.cancelsTopic = Objects.requireNonNull(topic, "topic");
      return this;
    }

    public Builder defaultModel(String model) {
      this.defaultModel = model;
      return this;
    }

    /** Read replies from this time on instead of from now: to re-attach to jobs submitted before a restart. */
    public Builder readFrom(Instant from) {
      this.readFrom = from;
      return this;
    }

    /**
     * Keeps the results read for job ids matching {@code jobIds} that nobody waits for yet, until {@link #submit}
     * or {@link #await} asks for them: a job submitted again that already has a result (read back with
     * {@link #readFrom}) completes with it and is not produced again. With the fleet's idempotent job ids
     * ({@code dispatcher.dedupe_window_ms}) a job produced twice runs once and has one result, so a client that
     * resubmits after a crash must find the first run's result this way. Memory: one result per such id read and
     * not claimed.
     */
    public Builder keepUnclaimedResults(Predicate<String> jobIds) {
      this.keepUnclaimed = Objects.requireNonNull(jobIds, "jobIds");
      return this;
    }

    /** Extra Kafka client properties (security, ...). */
    public Builder kafkaProperty(String name, Object value) {
      kafkaProperties.put(name, value);
      return this;
    }

    public PromptFleetClient build() {
      return new PromptFleetClient(this);
    }
  }
}
