package io.promptfleet.dispatcher.batch;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Route;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * One provider's batch API as the batcher uses it with one key: what a job's request in a batch looks like, how a
 * batch is created, found again after a crash, polled, cancelled, and how a line of its results answers a job.
 * Implemented by {@link OpenAiBatchClient} (Files + Batches) and {@link AnthropicBatchClient} (Message Batches).
 * The provider calls block and run only on the batcher's own thread ({@link BatchCalls}); the others are pure.
 * Implementations are thread-safe.
 */
interface BatchApi {

  /** What a create or a lookup found at the provider. */
  record Created(String providerBatchId, String inputFileId, Instant createdAt) {}

  /**
   * What a poll found.
   *
   * @param status the provider's status
   * @param ended  whether the batch changes no more
   * @param lines  when ended: every result line (OpenAI: output and error files)
   * @param detail when ended: the provider's batch-level errors, or ""
   */
  record Polled(String status, boolean ended, List<JsonNode> lines, String detail) {}

  /**
   * The endpoint a batch of {@code job}'s kind targets (OpenAI: {@code /v1/chat/completions} or {@code
   * /v1/embeddings}; Anthropic: {@code /v1/messages}), or null when this API batches no job of its kind. Jobs of one
   * endpoint share a batch.
   */
  String endpoint(Job job);

  /**
   * The member's request in a batch of {@code endpoint}, the body exactly the one a worker would send live for it
   * on {@code route}, not streamed.
   *
   * @throws io.promptfleet.common.upstream.UnsupportedJobException when the provider cannot express the job
   */
  byte[] line(BatchRecords.Member member, String endpoint, RouteSettings route, String keyId);

  /** The bytes a batch's input has besides its lines (counted against the route's {@code max_file_bytes}). */
  long envelopeBytes();

  /** The id the member's line carries, by which its result line names it. */
  String customId(String jobId);

  /**
   * The batch a predecessor created for {@code record} without recording it, or null when there is none.
   *
   * @param requests the batch's members
   * @param known    provider batch ids recorded for other batches (never the one looked for)
   */
  Created find(BatchRecords.Batch record, int requests, Set<String> known) throws BatchCallException;

  /** Creates the batch of {@code lines} at the provider. */
  Created create(BatchRecords.Batch record, List<byte[]> lines) throws BatchCallException;

  /** Reads the batch; when it ended, every line of its results too. */
  Polled poll(String providerBatchId) throws BatchCallException;

  /** Asks the provider to cancel the batch; a batch that already ended is not an error. */
  void cancel(String providerBatchId) throws BatchCallException;

  /** What result line {@code line} means for {@code member} (see {@link BatchAnswers}). */
  BatchAnswers.Outcome answer(JsonNode line, BatchRecords.Member member, Route priced, Instant endedAt);
}
