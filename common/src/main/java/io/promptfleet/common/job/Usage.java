package io.promptfleet.common.job;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.databind.JsonNode;
import org.jspecify.annotations.Nullable;

/**
 * Token usage as the provider reported it, with its details passed through as sent.
 *
 * @param promptTokens            prompt tokens, cached ones included
 * @param completionTokens        completion tokens, reasoning ones included
 * @param totalTokens             as reported (prompt + completion when the provider gave none)
 * @param promptTokensDetails     e.g. {@code {"cached_tokens": 1920, "audio_tokens": 0}}, or null
 * @param completionTokensDetails e.g. {@code {"reasoning_tokens": 512, "accepted_prediction_tokens": 0, ...}},
 *                                or null
 */
public record Usage(long promptTokens, long completionTokens, long totalTokens, @Nullable JsonNode promptTokensDetails,
    @Nullable JsonNode completionTokensDetails) {

  public Usage(long promptTokens, long completionTokens, long totalTokens) {
    this(promptTokens, completionTokens, totalTokens, null, null);
  }

  public static Usage of(long prompt, long completion) {
    return new Usage(prompt, completion, prompt + completion);
  }

  /** {@code prompt_tokens_details.cached_tokens}, or 0 when not reported. */
  @JsonIgnore
  public long cachedTokens() {
    return detail(promptTokensDetails, "cached_tokens");
  }

  /**
   * {@code prompt_tokens_details.cache_creation_input_tokens}: prompt tokens written to the provider's prompt cache
   * (Anthropic reports them), or 0 when not reported.
   */
  @JsonIgnore
  public long cacheCreationTokens() {
    return detail(promptTokensDetails, "cache_creation_input_tokens");
  }

  /** {@code completion_tokens_details.reasoning_tokens}, or 0 when not reported. */
  @JsonIgnore
  public long reasoningTokens() {
    return detail(completionTokensDetails, "reasoning_tokens");
  }

  private static long detail(@Nullable JsonNode details, String field) {
    JsonNode v = details == null ? null : details.get(field);
    return v != null && v.canConvertToLong() ? v.longValue() : 0;
  }
}
