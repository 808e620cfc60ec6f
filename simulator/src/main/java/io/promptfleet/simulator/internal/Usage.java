package io.promptfleet.simulator.internal;

/**
 * The token counts of one answer, as reported in {@code usage} (with {@code prompt_tokens_details} and
 * {@code completion_tokens_details}). Immutable and thread-safe.
 *
 * @param promptTokens     estimated prompt tokens
 * @param completionTokens answer tokens, reasoning included
 * @param cachedTokens     {@code prompt_tokens_details.cached_tokens}, at most {@code promptTokens}
 * @param reasoningTokens  {@code completion_tokens_details.reasoning_tokens}, part of {@code completionTokens}
 */
public record Usage(int promptTokens, int completionTokens, int cachedTokens, int reasoningTokens) {

  public int totalTokens() {
    return promptTokens + completionTokens;
  }
}
