package io.promptfleet.common.config;

/**
 * A route's {@code batch} block: the provider batch API that jobs allowing it ({@code "batch": "allow"}) may be
 * sent through, its price and the limits a batch of this route keeps. The dispatcher's batcher acts on it for the
 * first route of a model (docs/DESIGN.md, "The batcher").
 *
 * <p>Defaults depend on the protocol and are filled by {@link #resolved}; {@link RouteSettings} resolves its block
 * against its own live prices.
 *
 * @param protocol           {@code openai} (Files + Batches) or {@code anthropic} (Message Batches); required, and
 *                           it must be one the route's provider speaks
 * @param priceInputPerMtok  USD per million prompt tokens served by a batch (default: half the route's live input
 *                           price, the providers' batch discount; none when the route has none)
 * @param priceOutputPerMtok USD per million completion tokens served by a batch (default: half the live output price)
 * @param minSlackMs         a job is eligible only when its deadline is at least this far away when it is collected
 *                           (default: 24 h for openai, the provider's completion window; 1 h for anthropic, where most
 *                           batches end)
 * @param maxRequestsPerFile requests in one batch at most (default and ceiling: the provider's, 50,000 / 100,000)
 * @param maxFileBytes       bytes of one batch input at most (default and ceiling: 200 MB / 256 MB)
 * @param windowMs           how long eligible jobs are collected before their batch is submitted, unless it fills
 *                           first (default 60,000); must be shorter than {@code min_slack_ms}
 * @param maxEnqueuedTokens  the provider's batch queue limit for this model (tokens enqueued at once, a budget
 *                           separate from live RPM/TPM); optional: no limit
 * @param maxEmbeddingsPerFile embeddings requests in one batch at most (default {@value #DEFAULT_MAX_EMBEDDINGS}, at
 *                           most {@code max_requests_per_file}): the dispatcher reads a batch's whole results file
 *                           before it answers, ~18 KB of JSON per 1,536-dimension vector
 */
public record RouteBatchSettings(BatchProtocol protocol, Double priceInputPerMtok, Double priceOutputPerMtok,
    Long minSlackMs, Integer maxRequestsPerFile, Long maxFileBytes, Long windowMs, Long maxEnqueuedTokens,
    Integer maxEmbeddingsPerFile) {

  /** The default collection window. */
  public static final long DEFAULT_WINDOW_MS = 60_000;
  /** The providers' batch discount, applied to the live prices when the block sets none. */
  public static final double DEFAULT_PRICE_FACTOR = 0.5;
  /**
   * Embeddings requests per batch unless set: 5,000 vectors of 1,536 dimensions are ~90 MB of results read at once;
   * batches of 30,000 ran a 6 GB heap out of memory (bench/batch).
   */
  public static final int DEFAULT_MAX_EMBEDDINGS = 5_000;

  /**
   * This block with every default filled in: protocol limits and slack, and prices at half of {@code
   * liveInputPerMtok} / {@code liveOutputPerMtok} when not set. Unchanged when {@code protocol} is missing (the
   * validation names it).
   */
  public RouteBatchSettings resolved(Double liveInputPerMtok, Double liveOutputPerMtok) {
    if (protocol == null) {
      return this;
    }
    int maxRequests = maxRequestsPerFile != null ? maxRequestsPerFile : protocol.maxRequests();
    return new RouteBatchSettings(protocol,
        priceInputPerMtok != null ? priceInputPerMtok : half(liveInputPerMtok),
        priceOutputPerMtok != null ? priceOutputPerMtok : half(liveOutputPerMtok),
        minSlackMs != null ? minSlackMs : protocol.defaultMinSlackMs(),
        maxRequests,
        maxFileBytes != null ? maxFileBytes : protocol.maxBytes(),
        windowMs != null ? windowMs : DEFAULT_WINDOW_MS,
        maxEnqueuedTokens,
        maxEmbeddingsPerFile != null ? maxEmbeddingsPerFile : Math.min(DEFAULT_MAX_EMBEDDINGS, maxRequests));
  }

  private static Double half(Double live) {
    return live == null ? null : live * DEFAULT_PRICE_FACTOR;
  }

  /**
   * @param at       the block's path, e.g. {@code models.chat.routes[0].batch}
   * @param provider the protocol the route's provider speaks live
   * @throws ConfigException naming the field
   */
  void validate(String at, ProviderProtocol provider) {
    ConfigException.require(protocol != null, at + ".protocol is required: openai or anthropic (the route's provider"
        + " speaks " + provider.wireName() + ")");
    ConfigException.require(protocol.servedBy(provider), at + ".protocol " + protocol.wireName() + " is not served by"
        + " a provider speaking " + provider.wireName() + (provider == ProviderProtocol.AZURE_OPENAI
            ? " (Azure OpenAI's batch deployments are not supported yet)" : ""));
    ConfigException.require(priceInputPerMtok == null || priceInputPerMtok >= 0, at + ".price_input_per_mtok must be"
        + " >= 0");
    ConfigException.require(priceOutputPerMtok == null || priceOutputPerMtok >= 0, at + ".price_output_per_mtok must"
        + " be >= 0");
    ConfigException.require(minSlackMs > 0, at + ".min_slack_ms must be > 0");
    ConfigException.require(maxRequestsPerFile > 0 && maxRequestsPerFile <= protocol.maxRequests(),
        at + ".max_requests_per_file must be between 1 and " + protocol.maxRequests() + " (the " + protocol.wireName()
            + " limit), was " + maxRequestsPerFile);
    ConfigException.require(maxEmbeddingsPerFile > 0 && maxEmbeddingsPerFile <= maxRequestsPerFile,
        at + ".max_embeddings_per_file must be between 1 and max_requests_per_file (" + maxRequestsPerFile + "), was "
            + maxEmbeddingsPerFile);
    ConfigException.require(maxFileBytes > 0 && maxFileBytes <= protocol.maxBytes(),
        at + ".max_file_bytes must be between 1 and " + protocol.maxBytes() + " (the " + protocol.wireName()
            + " limit), was " + maxFileBytes);
    ConfigException.require(windowMs > 0 && windowMs < minSlackMs, at + ".window_ms must be > 0 and shorter than"
        + " min_slack_ms (" + minSlackMs + "), was " + windowMs + ": collecting must leave the batch time to run");
    ConfigException.require(maxEnqueuedTokens == null || maxEnqueuedTokens > 0,
        at + ".max_enqueued_tokens must be > 0");
  }
}
