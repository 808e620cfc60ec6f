package io.promptfleet.worker.poll;

import io.promptfleet.common.job.LeaseOutcome;

/**
 * A redelivered assignment whose attempt was answered already ({@link AnsweredCheck}): how, and where the terminal
 * record is (topic-partition@offset, for the log).
 */
public record Answered(LeaseOutcome outcome, String where) {}
