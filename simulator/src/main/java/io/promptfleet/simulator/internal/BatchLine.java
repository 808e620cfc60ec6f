package io.promptfleet.simulator.internal;

/**
 * One request of a simulated batch, answered when the batch was created (the same answer a live call with the same
 * body gets): its {@code custom_id}, whether it succeeded, its result as one JSONL line in the protocol's shape, and
 * its usage. Immutable and thread-safe.
 *
 * @param customId     the request's {@code custom_id}
 * @param succeeded    true for an answer, false for an error (invalid body, a {@code status} directive)
 * @param line         the whole output line (OpenAI: an output or error file line; Anthropic: a results line)
 * @param inputTokens  prompt tokens (0 for an error)
 * @param cachedTokens cached prompt tokens
 * @param outputTokens completion tokens
 * @param reasoningTokens reasoning tokens among the completion tokens
 */
record BatchLine(String customId, boolean succeeded, String line, int inputTokens, int cachedTokens,
    int outputTokens, int reasoningTokens) {

  static BatchLine failed(String customId, String line) {
    return new BatchLine(customId, false, line, 0, 0, 0, 0);
  }
}
