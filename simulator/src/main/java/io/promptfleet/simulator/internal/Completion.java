package io.promptfleet.simulator.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * The deterministic answer to one request: lorem-ipsum words, one per token, chosen from the prompt.
 * Immutable and thread-safe.
 *
 * @param tokens       the content of each token; the first has no leading space, the others one
 * @param finishReason {@code stop}, or {@code length} when {@code max_tokens} cut the answer short
 * @param promptTokens estimated prompt tokens
 */
public record Completion(List<String> tokens, String finishReason, int promptTokens) {

  private static final String[] WORDS = {
      "lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do",
      "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna", "aliqua", "enim",
      "ad", "minim", "veniam", "quis", "nostrud", "exercitation", "ullamco", "laboris", "nisi", "aliquip",
      "ex", "ea", "commodo", "consequat"};

  public Completion {
    tokens = List.copyOf(tokens);
  }

  /**
   * The completion for a prompt.
   *
   * @param prompt        text the words are derived from (same prompt, same words)
   * @param naturalLength tokens the "model" wants to write
   * @param maxTokens     the request's limit, if any
   * @param promptTokens  estimated prompt tokens, reported in usage
   */
  public static Completion of(String prompt, int naturalLength, OptionalInt maxTokens, int promptTokens) {
    boolean cut = maxTokens.isPresent() && maxTokens.getAsInt() < naturalLength;
    int count = cut ? maxTokens.getAsInt() : naturalLength;
    int start = Math.floorMod(prompt.hashCode(), WORDS.length);
    List<String> tokens = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      String word = WORDS[(start + i) % WORDS.length];
      tokens.add(i == 0 ? word : " " + word);
    }
    return new Completion(tokens, cut ? "length" : "stop", promptTokens);
  }

  public int completionTokens() {
    return tokens.size();
  }

  public int totalTokens() {
    return promptTokens + tokens.size();
  }

  /** All tokens concatenated: the non-stream {@code message.content}. */
  public String content() {
    return String.join("", tokens);
  }
}
