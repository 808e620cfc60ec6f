package io.promptfleet.common.job;

import com.fasterxml.jackson.annotation.JsonIgnore;
import org.jspecify.annotations.Nullable;

/**
 * Where an assignment is served: a configured provider and the model name sent upstream, with what the worker
 * must know of the route.
 *
 * @param name     the route's name in the configuration (provider/model unless named)
 * @param provider the provider's name in the configuration (the worker maps it to a base URL)
 * @param model    the model name sent to the provider
 * @param priceInputPerMtok  USD per million prompt tokens, or null
 * @param priceOutputPerMtok USD per million completion tokens, or null
 * @param priceCachedInputPerMtok USD per million cached prompt tokens ({@code prompt_tokens_details.cached_tokens}),
 *                   or null: cached tokens are then priced as input
 * @param stream     false when the route's model does not stream: the worker makes a plain request and publishes
 *                   the whole answer as one chunk; null or true: streams
 * @param validateOutput true when the worker validates a {@code json_schema} answer with {@code strict: true}
 *                   against its schema (an invalid answer is retried once, then {@code failed/invalid_output})
 * @param maxTokensField   the request field of the route's default limit ({@code max_tokens} when null)
 * @param defaultMaxTokens the completion limit the worker sends, in {@code maxTokensField}, for a job that sets
 *                   none; the job itself is never changed, so a retry on another route gets that route's field
 * @param priceCacheWritePerMtok USD per million prompt tokens written to the provider's prompt cache
 *                   ({@code prompt_tokens_details.cache_creation_input_tokens}, Anthropic), or null: they are then
 *                   priced as input
 */
public record Route(String name, String provider, String model, @Nullable Double priceInputPerMtok,
    @Nullable Double priceOutputPerMtok, @Nullable Double priceCachedInputPerMtok, @Nullable Boolean stream,
    @Nullable Boolean validateOutput, @Nullable String maxTokensField, @Nullable Integer defaultMaxTokens,
    @Nullable Double priceCacheWritePerMtok) {

  /** A route without a cache-write price (cache writes cost the input price). */
  public Route(String name, String provider, String model, @Nullable Double priceInputPerMtok,
      @Nullable Double priceOutputPerMtok, @Nullable Double priceCachedInputPerMtok, @Nullable Boolean stream,
      @Nullable Boolean validateOutput, @Nullable String maxTokensField, @Nullable Integer defaultMaxTokens) {
    this(name, provider, model, priceInputPerMtok, priceOutputPerMtok, priceCachedInputPerMtok, stream,
        validateOutput, maxTokensField, defaultMaxTokens, null);
  }

  public Route(String name, String provider, String model, @Nullable Double priceInputPerMtok,
      @Nullable Double priceOutputPerMtok) {
    this(name, provider, model, priceInputPerMtok, priceOutputPerMtok, null, null, null, null, null);
  }

  /** The request field of the route's default limit. */
  @JsonIgnore
  public String limitField() {
    return maxTokensField == null ? Job.MAX_TOKENS : maxTokensField;
  }

  /** Whether the worker streams this route (the default). */
  @JsonIgnore
  public boolean streams() {
    return stream == null || stream;
  }

  /** Whether the worker validates strict structured outputs on this route. */
  @JsonIgnore
  public boolean validatesOutput() {
    return validateOutput != null && validateOutput;
  }

  /**
   * Cost in USD of the given usage, or null when the route has no prices. Of the prompt tokens, cache reads ({@code
   * cached_tokens}) are priced at the cached-input price and cache writes ({@code cache_creation_input_tokens}) at
   * the cache-write price when the route has them; the rest, and those without a price of their own, at the input
   * price.
   */
  public @Nullable Double cost(@Nullable Usage usage) {
    if (usage == null || (priceInputPerMtok == null && priceOutputPerMtok == null)) {
      return null;
    }
    double in = priceInputPerMtok == null ? 0 : priceInputPerMtok;
    double out = priceOutputPerMtok == null ? 0 : priceOutputPerMtok;
    long cached = Math.min(usage.cachedTokens(), usage.promptTokens());
    long written = Math.min(usage.cacheCreationTokens(), usage.promptTokens() - cached);
    double cachedIn = priceCachedInputPerMtok == null ? in : priceCachedInputPerMtok;
    double writeIn = priceCacheWritePerMtok == null ? in : priceCacheWritePerMtok;
    return ((usage.promptTokens() - cached - written) * in + cached * cachedIn + written * writeIn
        + usage.completionTokens() * out) / 1_000_000d;
  }
}
