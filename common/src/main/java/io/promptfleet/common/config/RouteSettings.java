package io.promptfleet.common.config;

import java.util.List;

/**
 * One way to serve a model: a provider, the model name sent to it, and the keys that may be used.
 *
 * @param provider            the provider's name
 * @param model               the upstream model name; absent on a pass-through route (the job's model is sent)
 * @param keys                names of the keys to use (default: every key of the provider)
 * @param maxTokensCap        the largest max_tokens a job may ask for (default 32,768)
 * @param defaultMaxTokens    max_tokens when the job gives none (default 1,024)
 * @param priceInputPerMtok   USD per million prompt tokens (optional, for the result's cost)
 * @param priceOutputPerMtok  USD per million completion tokens (optional)
 * @param maxPromptTokens     prompts estimated larger are rejected with prompt_too_large (optional: no limit
 *                            beyond what a key's tokens_per_minute can ever admit)
 */
public record RouteSettings(String provider, String model, List<String> keys, Integer maxTokensCap,
    Integer defaultMaxTokens, Double priceInputPerMtok, Double priceOutputPerMtok, Integer maxPromptTokens) {

  /** A route without a prompt limit (the form older code builds). */
  public RouteSettings(String provider, String model, List<String> keys, Integer maxTokensCap,
      Integer defaultMaxTokens, Double priceInputPerMtok, Double priceOutputPerMtok) {
    this(provider, model, keys, maxTokensCap, defaultMaxTokens, priceInputPerMtok, priceOutputPerMtok, null);
  }

  public RouteSettings {
    keys = keys == null ? List.of() : List.copyOf(keys);
    maxTokensCap = maxTokensCap == null ? 32_768 : maxTokensCap;
    defaultMaxTokens = defaultMaxTokens == null ? Math.min(1_024, maxTokensCap) : defaultMaxTokens;
  }

  /** The route's display name: provider/model, or provider/* for pass-through. */
  public String name() {
    return provider + "/" + (model == null ? "*" : model);
  }

  /** The wire form of this route for an assignment; a pass-through route sends the job's own model name. */
  public io.promptfleet.common.job.Route toRoute(String jobModel) {
    String upstream = model == null ? jobModel : model;
    return new io.promptfleet.common.job.Route(provider + "/" + upstream, provider, upstream, priceInputPerMtok,
        priceOutputPerMtok);
  }
}
