package io.promptfleet.dispatcher.batch;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Priority;
import java.time.Instant;

/**
 * The records of the compacted batch topic ({@code topics.batches}), the batcher's durable state. Two kinds, told
 * apart by their key: a batch ({@code b/<batch_key>}: route, key, state and the provider's ids once created) and a
 * member ({@code m/<batch_key>/<job_id>}: the whole job, so that the job record's offset can be committed with it
 * and the job still runs live if its batch does not answer it). A tombstone (null value) ends either: a member once
 * its job is answered or handed to the live path, a batch once it has no member left. Pure codec; thread-safe.
 */
final class BatchRecords {
  static final String BATCH_PREFIX = "b/";
  static final String MEMBER_PREFIX = "m/";

  private BatchRecords() {}

  /** What a batch is doing, as written. */
  enum State {
    /** Collecting members; not created at the provider (or created, and the record of it was lost in a crash). */
    COLLECTING,
    /** Created at the provider: {@code provider_batch_id} is set; polled until it ends. */
    SUBMITTED
  }

  /**
   * A batch.
   *
   * @param batchKey        unique per batch (route, time, random), sent as the provider batch's metadata
   * @param route           the route's name ({@code RouteSettings.name()})
   * @param group           the configured model whose first route it is
   * @param keyId           the key whose secret creates and polls it
   * @param state           collecting or submitted
   * @param openedAt        when its first member joined
   * @param providerBatchId the provider's batch id (null while collecting)
   * @param inputFileId     the uploaded input file (null while collecting)
   * @param submittedAt     when the provider created it (null while collecting)
   * @param endpoint        the endpoint its requests target ({@code /v1/chat/completions}, {@code /v1/embeddings},
   *                        {@code /v1/messages}); null in a record of a batcher that batched chat only (OpenAI chat)
   */
  record Batch(String batchKey, String route, String group, String keyId, State state, Instant openedAt,
      String providerBatchId, String inputFileId, Instant submittedAt, String endpoint) {

    Batch submitted(String providerBatchId, String inputFileId, Instant at) {
      return new Batch(batchKey, route, group, keyId, State.SUBMITTED, openedAt, providerBatchId, inputFileId, at,
          endpoint);
    }

    /** {@link #endpoint}, chat completions when the record names none. */
    String endpointOrChat() {
      return endpoint == null ? BatchLines.CHAT_URL : endpoint;
    }
  }

  /**
   * A job in a batch.
   *
   * @param batchKey   its batch
   * @param job        the job, reply_to resolved
   * @param priority   its lane's priority (kept for a live run)
   * @param enqueuedAt when the job first entered Kafka
   * @param deadline   the job's effective deadline
   * @param tokens     its estimated prompt and completion tokens, counted against the route's
   *                   {@code max_enqueued_tokens}
   */
  record Member(String batchKey, Job job, Priority priority, Instant enqueuedAt, Instant deadline, long tokens) {}

  static String batchKey(String batchKey) {
    return BATCH_PREFIX + batchKey;
  }

  static String memberKey(String batchKey, String jobId) {
    return MEMBER_PREFIX + batchKey + "/" + jobId;
  }

  static byte[] bytes(Object record) {
    return Json.bytes(record);
  }

  /** The batch record in {@code value} (key {@code b/...}). */
  static Batch batch(byte[] value) {
    return Json.read(value, Batch.class);
  }

  /** The member record in {@code value} (key {@code m/...}). */
  static Member member(byte[] value) {
    return Json.read(value, Member.class);
  }
}
