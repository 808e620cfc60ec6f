package io.promptfleet.common.job;

/** Token usage as the provider reported it. */
public record Usage(long promptTokens, long completionTokens, long totalTokens) {
  public static Usage of(long prompt, long completion) {
    return new Usage(prompt, completion, prompt + completion);
  }
}
