package io.promptfleet.simulator;

/**
 * How the simulated provider's batch APIs (OpenAI Files and Batches, Anthropic Message Batches) behave, chosen by
 * the test or benchmark: the {@link BatchBehaviour} (phase durations, completion window) of batches created from now
 * on, per key or for all, the providers' limits, and faults on the batch and file endpoints themselves.
 *
 * <p>What each <em>request</em> in a batch answers is decided as for a live call of the same body: the same answer
 * for the same prompt, and the prompt directives of {@link Fault} ({@code [[sim:status code=500]]} makes that one
 * request an error line, {@code [[sim:reply b64=…]]} its exact text, …). Faults that shape a transport (cut, stall,
 * reset, …) mean nothing in a file and are ignored there.
 *
 * <p>Thread-safe: may be changed from any thread; a behaviour applies to batches created after the change.
 */
public interface BatchPlan {

  /** The behaviour of batches created with no key-specific behaviour; initially {@link BatchBehaviour#defaults()}. */
  BatchPlan forAll(BatchBehaviour behaviour);

  /** The behaviour of batches created with this {@code Authorization} value ({@code Bearer <key>}, as counted). */
  BatchPlan forKey(String authorization, BatchBehaviour behaviour);

  /**
   * The largest number of requests a batch may hold (OpenAI: {@value #OPENAI_MAX_REQUESTS}, Anthropic:
   * {@value #ANTHROPIC_MAX_REQUESTS}) and the largest input file or request body (OpenAI:
   * {@value #OPENAI_MAX_FILE_BYTES} bytes, 200 MB; Anthropic: {@value #ANTHROPIC_MAX_BYTES} bytes, 256 MB); lowered by
   * tests to reach them cheaply.
   */
  BatchPlan limits(int openAiMaxRequests, long openAiMaxFileBytes, int anthropicMaxRequests, long anthropicMaxBytes);

  /**
   * Faults of the batch and file endpoints themselves (not of the requests in a batch): {@code status} (e.g. 429
   * with {@code retry_after}, 500, 503) and {@code reset} faults registered here for a key or for all, with their
   * {@code times} and {@code probability}, answer those endpoints' requests instead of the API.
   */
  FaultPlan endpointFaults();

  /**
   * The clock batches age by (initially the system clock): a test that sets its own clock moves every batch from
   * state to state by advancing it, without waiting; a benchmark may run a faster one.
   */
  BatchPlan clock(java.time.Clock clock);

  /** Back to the defaults: behaviour, limits, clock and endpoint faults. Batches and files already made stay. */
  BatchPlan clearAll();

  /** OpenAI's limit of requests per batch input file. */
  int OPENAI_MAX_REQUESTS = 50_000;
  /** OpenAI's limit of a batch input file's size: 200 MB. */
  long OPENAI_MAX_FILE_BYTES = 200L * 1024 * 1024;
  /** Anthropic's limit of requests per Message Batch. */
  int ANTHROPIC_MAX_REQUESTS = 100_000;
  /** Anthropic's limit of a Message Batch's size: 256 MB. */
  long ANTHROPIC_MAX_BYTES = 256L * 1024 * 1024;
}
