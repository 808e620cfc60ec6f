package io.promptfleet.worker.stream;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.FleetEventGist;
import io.promptfleet.common.kafka.FleetEventHeaders;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.RetryRequest;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Publishes a worker's records: chunks and results to reply topics (keyed by job id, so one job's records share a
 * partition and keep their order), fleet events and retry requests. Thread-safe (the Kafka producer is).
 *
 * <p>Sends never block: the producer runs with {@code max.block.ms=0} ({@link #producerProperties}), so a send whose
 * topic metadata is not cached, or that finds the producer's buffer full (Kafka unreachable or slower than the
 * streams), fails at once instead of stalling an event loop. Call {@link #warm(String)} off the event loop first.
 */
public final class ReplyPublisher {
  private final Producer<String, byte[]> producer;
  private final String eventsTopic;
  private final String retryTopic;

  public ReplyPublisher(Producer<String, byte[]> producer, String eventsTopic, String retryTopic) {
    this.producer = producer;
    this.eventsTopic = eventsTopic;
    this.retryTopic = retryTopic;
  }

  /** What a record needs besides its value: batch and record headers, the key (a job id of up to 256 chars). */
  static final int RECORD_HEADROOM = 1024;

  /**
   * The largest result value a producer of {@code properties} sends: its {@code max.request.size} (default
   * 1,048,576) less {@link #RECORD_HEADROOM}. The broker's {@code message.max.bytes} (or the reply topic's
   * {@code max.message.bytes}) must allow as much, after compression.
   */
  public static int maxResultBytes(Map<String, Object> properties) {
    Object v = properties.get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG);
    int max = v == null ? 1_048_576 : Integer.parseInt(v.toString().trim());
    return Math.max(RECORD_HEADROOM, max - RECORD_HEADROOM);
  }

  /** How long {@link #warm} waits for a topic's metadata. */
  static final Duration WARM_TIMEOUT = Duration.ofSeconds(10);

  /**
   * The worker producer's settings on top of {@code base}: sends never block (see the class comment). It keeps the
   * fleet's linger of 2 ms: without it (tried for issue 13) every record of every stream went out as a request of
   * its own, and the broker's CPU per job rose by a third (bench/fleet README, "Fast path").
   */
  public static Map<String, Object> producerProperties(Map<String, Object> base) {
    Map<String, Object> p = new HashMap<>(base);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 0);
    return p;
  }

  /**
   * Fetches the topic's metadata, waiting up to {@link #WARM_TIMEOUT}: blocks, so call it on a lane or another
   * non-event-loop thread. With {@code max.block.ms=0} each lookup returns at once and asks for the metadata.
   *
   * @throws org.apache.kafka.common.errors.TimeoutException when the topic's metadata did not arrive in time (no
   *     such topic, or Kafka unreachable)
   */
  public void warm(String topic) {
    long until = System.nanoTime() + WARM_TIMEOUT.toNanos();
    while (true) {
      try {
        producer.partitionsFor(topic);
        return;
      } catch (org.apache.kafka.common.errors.TimeoutException e) {
        if (System.nanoTime() > until) {
          throw e;
        }
        try {
          Thread.sleep(20);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  public CompletableFuture<Void> chunk(String replyTo, Chunk chunk) {
    return send(new ProducerRecord<>(replyTo, chunk.jobId(), Json.bytes(chunk)));
  }

  /**
   * A chunk already encoded as JSON, with a plain producer callback (no future per chunk: this runs once per
   * token).
   */
  public void chunk(String replyTo, String jobId, byte[] json, Callback callback) {
    ProducerRecord<String, byte[]> r = new ProducerRecord<>(replyTo, jobId, json);
    try {
      producer.send(r, callback);
    } catch (RuntimeException e) {
      callback.onCompletion(null, e);
    }
  }

  public CompletableFuture<Void> result(String replyTo, Result result) {
    return result(replyTo, result.jobId(), Json.bytes(result));
  }

  /** A result already encoded as JSON. */
  public CompletableFuture<Void> result(String replyTo, String jobId, byte[] json) {
    return send(new ProducerRecord<>(replyTo, jobId, json));
  }

  public CompletableFuture<Void> retry(RetryRequest retry) {
    return send(new ProducerRecord<>(retryTopic, retry.assignment().job().jobId(), Json.bytes(retry)));
  }

  /** A fleet event, with its gist in a header ({@link FleetEventGist}: what the other workers read of it). */
  public CompletableFuture<Void> event(FleetEvent event) {
    return send(new ProducerRecord<>(eventsTopic, null, event.keyId() != null ? event.keyId() : event.workerId(),
        Json.bytes(event), FleetEventHeaders.of(event)));
  }

  private CompletableFuture<Void> send(ProducerRecord<String, byte[]> record) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    try {
      producer.send(record, (md, e) -> {
        if (e == null) {
          f.complete(null);
        } else {
          f.completeExceptionally(e);
        }
      });
    } catch (RuntimeException e) {
      f.completeExceptionally(e);
    }
    return f;
  }
}
