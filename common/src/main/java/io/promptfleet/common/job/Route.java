package io.promptfleet.common.job;

/**
 * Where an assignment is served: a configured provider and the model name sent upstream.
 *
 * @param name     the route's name in the configuration (provider/model unless named)
 * @param provider the provider's name in the configuration (the worker maps it to a base URL)
 * @param model    the model name sent to the provider
 * @param priceInputPerMtok  USD per million prompt tokens, or null
 * @param priceOutputPerMtok USD per million completion tokens, or null
 */
public record Route(String name, String provider, String model, Double priceInputPerMtok,
    Double priceOutputPerMtok) {

  /** Cost in USD of the given usage, or null when the route has no prices. */
  public Double cost(Usage usage) {
    if (usage == null || (priceInputPerMtok == null && priceOutputPerMtok == null)) {
      return null;
    }
    double in = priceInputPerMtok == null ? 0 : priceInputPerMtok;
    double out = priceOutputPerMtok == null ? 0 : priceOutputPerMtok;
    return (usage.promptTokens() * in + usage.completionTokens() * out) / 1_000_000d;
  }
}
