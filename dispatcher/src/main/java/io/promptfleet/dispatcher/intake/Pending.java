package io.promptfleet.dispatcher.intake;

import io.promptfleet.common.job.JobError;
import io.promptfleet.common.job.Priority;
import io.promptfleet.dispatcher.capacity.TokenEstimator;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import org.apache.kafka.common.TopicPartition;

/**
 * A valid job read from Kafka, admitted by {@link Admission} and waiting in a ready queue for a key. Immutable.
 *
 * @param tp           where its record is
 * @param offset       its record's offset (committed only once it is dispatched or answered)
 * @param lane         the lane it waits in
 * @param group        the ready-queue group (the configured model name whose fallback chain serves it)
 * @param dispatch     the validated job
 * @param priority     the priority its assignment carries
 * @param readyAtMs    when it may go: when it was read, or when its retry backoff ends
 * @param prompt       the estimate of its prompt, priced per route
 * @param lastError    for a retry: why the previous attempt failed
 * @param lastKey      for a retry: the key of the previous attempt (avoided when another key has room)
 */
public record Pending(TopicPartition tp, long offset, Lane lane, String group, Decision.Dispatch dispatch,
    Priority priority, long readyAtMs, TokenEstimator.Estimate prompt, JobError lastError, String lastKey) {}
