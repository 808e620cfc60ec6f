package io.promptfleet.common.job;

/**
 * Timings of a job in milliseconds.
 *
 * @param queuedMs          from the job record's timestamp to the start of the final attempt's request
 * @param timeToFirstTokenMs from the final attempt's request to its first content delta (null if none)
 * @param totalMs           from the job record's timestamp to the result
 */
public record Timings(long queuedMs, Long timeToFirstTokenMs, long totalMs) {}
