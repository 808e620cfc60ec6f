package io.promptfleet.dispatcher.lease;

import io.promptfleet.common.job.Assignment;

/**
 * A record of the workers' share-group dead-letter queue, read: the assignment the broker archived after its
 * delivery limit, and what the broker's headers say. Immutable.
 *
 * @param assignment the archived assignment, or null when the record could not be read as one (or lacks its lease
 *                   id, job, job id or reply topic)
 * @param deliveries how often it was delivered (header {@code __dlq.errors.delivery.count}, 1 when absent)
 * @param why        the broker's reason (header {@code __dlq.errors.message})
 * @param where      topic-partition@offset of the original assignment, for logs
 */
public record ArchivedAssignment(Assignment assignment, int deliveries, String why, String where) {

  /** True when the assignment can be answered: it names a lease, a job and a reply topic. */
  public boolean readable() {
    return assignment != null && assignment.leaseId() != null && assignment.job() != null
        && assignment.job().jobId() != null && assignment.replyTo() != null;
  }
}
