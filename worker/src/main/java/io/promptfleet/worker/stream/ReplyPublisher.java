package io.promptfleet.worker.stream;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.RetryRequest;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Publishes a worker's records: chunks and results to reply topics (keyed by job id, so one job's records share a
 * partition and keep their order), fleet events and retry requests. Thread-safe (the Kafka producer is).
 *
 * <p>Sends do not block once the topic's metadata is known: call {@link #warm(String)} off the event loop first.
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

  /** Fetches the topic's metadata (may block up to max.block.ms): call it on a lane thread, never an event loop. */
  public void warm(String topic) {
    producer.partitionsFor(topic);
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
    return send(new ProducerRecord<>(replyTo, result.jobId(), Json.bytes(result)));
  }

  public CompletableFuture<Void> retry(RetryRequest retry) {
    return send(new ProducerRecord<>(retryTopic, retry.assignment().job().jobId(), Json.bytes(retry)));
  }

  public CompletableFuture<Void> event(FleetEvent event) {
    return send(new ProducerRecord<>(eventsTopic, event.keyId() != null ? event.keyId() : event.workerId(),
        Json.bytes(event)));
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
