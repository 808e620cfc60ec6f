package io.promptfleet.common.config;

import com.fasterxml.jackson.annotation.JsonIgnore;
import io.promptfleet.common.job.Job;
import java.util.List;

/**
 * One way to serve a model: a provider, the model name sent to it, and the keys that may be used.
 *
 * @param provider            the provider's name
 * @param model               the upstream model name; absent on a pass-through route (the job's model is sent)
 * @param keys                names of the keys to use (default: every key of the provider)
 * @param maxTokensCap        the largest completion limit a job may ask for (default 32,768)
 * @param defaultMaxTokens    the completion limit when the job sets none (default 1,024)
 * @param priceInputPerMtok   USD per million prompt tokens (optional, for the result's cost)
 * @param priceOutputPerMtok  USD per million completion tokens (optional)
 * @param maxPromptTokens     prompts estimated larger are rejected with prompt_too_large (optional: no limit
 *                            beyond what a key's tokens_per_minute can ever admit)
 * @param maxTokensField      the request field the dispatcher fills {@code default_max_tokens} into when a job sets
 *                            no limit: {@code max_tokens} (default; what most OpenAI-compatible servers take) or
 *                            {@code max_completion_tokens} (OpenAI's reasoning models reject {@code max_tokens}).
 *                            A limit the job sets itself is never moved from one field to the other
 * @param priceCachedInputPerMtok USD per million cached prompt tokens (optional; without it cached tokens cost the
 *                            input price)
 * @param stream              false when the model does not stream: the worker makes a plain request and publishes
 *                            the whole answer as one chunk (default true)
 * @param validateOutput      true to validate strict structured outputs ({@code response_format} {@code
 *                            json_schema} with {@code strict: true}) against their schema in the worker; an
 *                            invalid answer is retried once, then the job fails with {@code invalid_output}
 *                            (default false: the provider enforces the schema)
 * @param imageTokens         the token estimate of one image part whose size the dispatcher cannot read (a
 *                            remote URL), for TPM reservations (default 1,445: OpenAI's largest high-detail image
 *                            of 8 tiles; set it for models with other tile prices)
 * @param attachmentTokens    the token estimate of one audio or file content part (default 4,096); the worker's
 *                            reported usage corrects the reservation after the call
 * @param overflow            true to send a job down the chain when this route is merely busy (every key the job
 *                            may use is at its max_concurrency or its requests/tokens per window). Default false:
 *                            the job waits for this route while it is busy, and goes down the chain only when the
 *                            route's breaker is open, every such key is disabled or cooling down after a 429, or
 *                            the route cannot serve the job (max_tokens_cap, max_prompt_tokens, a reservation no
 *                            key's window can ever hold)
 * @param breaker             this route's own breaker settings, each one over {@code dispatcher.breaker} (optional;
 *                            routes of the same name must agree: they share one breaker)
 * @param priceCacheWritePerMtok USD per million prompt tokens written to the provider's prompt cache (Anthropic's
 *                            {@code cache_creation_input_tokens}; optional: without it they cost the input price)
 * @param batch               the provider batch API jobs allowing it may go through, with its price and limits
 *                            (optional: none; see {@link RouteBatchSettings})
 */
public record RouteSettings(String provider, String model, List<String> keys, Integer maxTokensCap,
    Integer defaultMaxTokens, Double priceInputPerMtok, Double priceOutputPerMtok, Integer maxPromptTokens,
    String maxTokensField, Double priceCachedInputPerMtok, Boolean stream, Boolean validateOutput,
    Integer imageTokens, Integer attachmentTokens, Boolean overflow, RouteBreakerSettings breaker,
    Double priceCacheWritePerMtok, RouteBatchSettings batch) {

  /** A route without a batch block (the form before provider batching existed). */
  public RouteSettings(String provider, String model, List<String> keys, Integer maxTokensCap,
      Integer defaultMaxTokens, Double priceInputPerMtok, Double priceOutputPerMtok, Integer maxPromptTokens,
      String maxTokensField, Double priceCachedInputPerMtok, Boolean stream, Boolean validateOutput,
      Integer imageTokens, Integer attachmentTokens, Boolean overflow, RouteBreakerSettings breaker,
      Double priceCacheWritePerMtok) {
    this(provider, model, keys, maxTokensCap, defaultMaxTokens, priceInputPerMtok, priceOutputPerMtok,
        maxPromptTokens, maxTokensField, priceCachedInputPerMtok, stream, validateOutput, imageTokens,
        attachmentTokens, overflow, breaker, priceCacheWritePerMtok, null);
  }

  /** A route without a cache-write price (the form before it existed). */
  public RouteSettings(String provider, String model, List<String> keys, Integer maxTokensCap,
      Integer defaultMaxTokens, Double priceInputPerMtok, Double priceOutputPerMtok, Integer maxPromptTokens,
      String maxTokensField, Double priceCachedInputPerMtok, Boolean stream, Boolean validateOutput,
      Integer imageTokens, Integer attachmentTokens, Boolean overflow, RouteBreakerSettings breaker) {
    this(provider, model, keys, maxTokensCap, defaultMaxTokens, priceInputPerMtok, priceOutputPerMtok,
        maxPromptTokens, maxTokensField, priceCachedInputPerMtok, stream, validateOutput, imageTokens,
        attachmentTokens, overflow, breaker, null);
  }

  /** A route without a prompt limit (the form older code builds). */
  public RouteSettings(String provider, String model, List<String> keys, Integer maxTokensCap,
      Integer defaultMaxTokens, Double priceInputPerMtok, Double priceOutputPerMtok) {
    this(provider, model, keys, maxTokensCap, defaultMaxTokens, priceInputPerMtok, priceOutputPerMtok, null);
  }

  /** A route with the defaults of every setting added after the prompt limit. */
  public RouteSettings(String provider, String model, List<String> keys, Integer maxTokensCap,
      Integer defaultMaxTokens, Double priceInputPerMtok, Double priceOutputPerMtok, Integer maxPromptTokens) {
    this(provider, model, keys, maxTokensCap, defaultMaxTokens, priceInputPerMtok, priceOutputPerMtok,
        maxPromptTokens, null, null, null, null, null, null);
  }

  /** A route that waits while busy and uses the global breaker settings (the form before overflow existed). */
  public RouteSettings(String provider, String model, List<String> keys, Integer maxTokensCap,
      Integer defaultMaxTokens, Double priceInputPerMtok, Double priceOutputPerMtok, Integer maxPromptTokens,
      String maxTokensField, Double priceCachedInputPerMtok, Boolean stream, Boolean validateOutput,
      Integer imageTokens, Integer attachmentTokens) {
    this(provider, model, keys, maxTokensCap, defaultMaxTokens, priceInputPerMtok, priceOutputPerMtok,
        maxPromptTokens, maxTokensField, priceCachedInputPerMtok, stream, validateOutput, imageTokens,
        attachmentTokens, null, null);
  }

  public RouteSettings {
    keys = keys == null ? List.of() : List.copyOf(keys);
    maxTokensCap = maxTokensCap == null ? 32_768 : maxTokensCap;
    defaultMaxTokens = defaultMaxTokens == null ? Math.min(1_024, maxTokensCap) : defaultMaxTokens;
    maxTokensField = maxTokensField == null ? Job.MAX_TOKENS : maxTokensField;
    stream = stream == null || stream;
    validateOutput = validateOutput != null && validateOutput;
    imageTokens = imageTokens == null ? 1_445 : imageTokens;
    attachmentTokens = attachmentTokens == null ? 4_096 : attachmentTokens;
    overflow = overflow != null && overflow;
    breaker = breaker == null ? RouteBreakerSettings.none() : breaker;
    batch = batch == null ? null : batch.resolved(priceInputPerMtok, priceOutputPerMtok);
  }

  void validate(String at, ProviderProtocol providerProtocol) {
    if (batch != null) {
      batch.validate(at + ".batch", providerProtocol);
    }
    ConfigException.require(Job.MAX_TOKENS.equals(maxTokensField) || Job.MAX_COMPLETION_TOKENS.equals(maxTokensField),
        at + ".max_tokens_field must be max_tokens or max_completion_tokens (got " + maxTokensField + ")");
    ConfigException.require(imageTokens > 0, at + ".image_tokens must be > 0");
    ConfigException.require(attachmentTokens > 0, at + ".attachment_tokens must be > 0");
    ConfigException.require(priceCachedInputPerMtok == null || priceCachedInputPerMtok >= 0,
        at + ".price_cached_input_per_mtok must be >= 0");
    ConfigException.require(priceCacheWritePerMtok == null || priceCacheWritePerMtok >= 0,
        at + ".price_cache_write_per_mtok must be >= 0");
  }

  /** This route's breaker settings: its own {@code breaker} block over {@code global}. */
  public BreakerSettings breakerOver(BreakerSettings global, String at) {
    return breaker.over(global, at + ".breaker");
  }

  /** The route's display name: provider/model, or provider/* for pass-through. */
  @JsonIgnore
  public String name() {
    return provider + "/" + (model == null ? "*" : model);
  }

  /** The wire form of this route for an assignment; a pass-through route sends the job's own model name. */
  public io.promptfleet.common.job.Route toRoute(String jobModel) {
    String upstream = model == null ? jobModel : model;
    return new io.promptfleet.common.job.Route(provider + "/" + upstream, provider, upstream, priceInputPerMtok,
        priceOutputPerMtok, priceCachedInputPerMtok, stream ? null : Boolean.FALSE,
        validateOutput ? Boolean.TRUE : null, maxTokensField, defaultMaxTokens, priceCacheWritePerMtok);
  }
}
