package io.promptfleet.common.job;

import org.jspecify.annotations.Nullable;

/**
 * Timings of a job in milliseconds.
 *
 * @param queuedMs             from the job record's timestamp to the start of the final attempt's request
 * @param timeToFirstTokenMs   from the final attempt's request to its first delta of any kind (content,
 *                             reasoning, tool call, refusal), null if none; the route's breakers judge this
 * @param totalMs              from the job record's timestamp to the result
 * @param timeToFirstContentMs from the final attempt's request to its first content delta, null if none (a
 *                             reasoning model's thinking, or a tool-call-only answer, makes it later than, or
 *                             absent beside, time to first token)
 */
public record Timings(long queuedMs, @Nullable Long timeToFirstTokenMs, long totalMs,
    @Nullable Long timeToFirstContentMs) {
  public Timings(long queuedMs, @Nullable Long timeToFirstTokenMs, long totalMs) {
    this(queuedMs, timeToFirstTokenMs, totalMs, timeToFirstTokenMs);
  }
}
