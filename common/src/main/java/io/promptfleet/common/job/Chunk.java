package io.promptfleet.common.job;

/**
 * One streamed piece of an attempt's answer.
 *
 * @param jobId        the job
 * @param attempt      the attempt this chunk belongs to; a result for a later attempt supersedes it
 * @param seq          0, 1, 2, ... without gaps within one attempt
 * @param delta        the text delta
 * @param finishReason set on the last chunk when the provider gave one
 */
public record Chunk(String jobId, int attempt, long seq, String delta, String finishReason) implements Reply {}
