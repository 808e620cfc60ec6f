package io.promptfleet.common.config;

import io.promptfleet.common.job.Priority;
import java.util.List;

/**
 * Topic names and how they are created when missing. Every name defaults to {@code <prefix>.<suffix>}, so one
 * {@code prefix} moves a whole fleet's topics (a second fleet or an environment on the same cluster).
 *
 * @param prefix            the default first part of every topic name (default llm)
 * @param jobsHigh          high-priority jobs (default llm.jobs.high)
 * @param jobsNormal        normal-priority jobs (default llm.jobs.normal)
 * @param jobsLow           low-priority jobs (default llm.jobs.low)
 * @param jobsRetry         jobs waiting for another attempt (default llm.jobs.retry)
 * @param assignments       dispatcher to workers, read through a share group (default llm.assignments)
 * @param assignmentsDlq    the workers' share-group dead-letter queue: assignments the broker archived after the
 *                          group's delivery limit, read by the dispatcher (default dlq.llm.assignments; the broker
 *                          requires the prefix of errors.deadletterqueue.topic.name.prefix, dlq. by default)
 * @param fleetEvents       workers to dispatcher (default llm.fleet.events)
 * @param deadLetters       records that are not valid jobs, with the reason (default llm.jobs.dlq)
 * @param cancels           job ids to cancel (default llm.cancels)
 * @param defaultReplyTo    reply topic for jobs without reply_to (default llm.replies)
 * @param replyToAllow      allowed reply topics: exact names, or prefixes ending in * (default llm.replies*)
 * @param dispatcherState   the active dispatcher's state for a takeover: snapshots (partition 0) and the job ids
 *                          it admitted (partition 1), written in its transactions, read by its successor only
 *                          (default llm.dispatcher.state; created by the dispatcher with two partitions)
 * @param batches           the batcher's durable state: open provider batches and their member jobs, compacted,
 *                          keyed by batch and by member (default llm.batches)
 * @param partitions        partitions of topics created on start (default 6), except the assignments topic
 * @param assignmentPartitions partitions of the assignments topic and its dead-letter topic (default: derived from
 *                          the keys, see {@code TopicAdmin.assignmentPartitions}); an existing topic with fewer is
 *                          grown to it at start. Few partitions let every idle worker lane take every assignment (a
 *                          share group gives each lane only some partitions, and a busy lane takes nothing new);
 *                          enough partitions keep each one's in-flight window (share.partition.max.record.locks)
 *                          from capping concurrent streams. See docs/DESIGN.md, "Fleet utilisation"
 * @param replicationFactor replication of topics created on start (default 1)
 * @param minInsyncReplicas {@code min.insync.replicas} of the topics created on start (default: not set, the
 *                          broker's {@code min.insync.replicas}, 1 unless configured): with the fleet's acks=all
 *                          producers, how many replicas must hold a record before it counts as written; at most
 *                          {@code replicationFactor}. With a replication factor of 3, 2 keeps every acknowledged
 *                          record on two brokers and writes going while one broker is down
 */
public record TopicSettings(
    String prefix,
    String jobsHigh,
    String jobsNormal,
    String jobsLow,
    String jobsRetry,
    String assignments,
    String assignmentsDlq,
    String fleetEvents,
    String deadLetters,
    String cancels,
    String defaultReplyTo,
    List<String> replyToAllow,
    String dispatcherState,
    String batches,
    Integer partitions,
    Integer assignmentPartitions,
    Short replicationFactor,
    Integer minInsyncReplicas) {

  public TopicSettings {
    prefix = or(prefix, "llm");
    jobsHigh = or(jobsHigh, prefix + ".jobs.high");
    jobsNormal = or(jobsNormal, prefix + ".jobs.normal");
    jobsLow = or(jobsLow, prefix + ".jobs.low");
    jobsRetry = or(jobsRetry, prefix + ".jobs.retry");
    assignments = or(assignments, prefix + ".assignments");
    assignmentsDlq = or(assignmentsDlq, "dlq." + assignments);
    fleetEvents = or(fleetEvents, prefix + ".fleet.events");
    deadLetters = or(deadLetters, prefix + ".jobs.dlq");
    cancels = or(cancels, prefix + ".cancels");
    defaultReplyTo = or(defaultReplyTo, prefix + ".replies");
    dispatcherState = or(dispatcherState, prefix + ".dispatcher.state");
    batches = or(batches, prefix + ".batches");
    replyToAllow = replyToAllow == null ? List.of(prefix + ".replies*") : List.copyOf(replyToAllow);
    partitions = partitions == null ? 6 : partitions;
    replicationFactor = replicationFactor == null ? 1 : replicationFactor;
    ConfigException.require(partitions > 0, "topics.partitions must be > 0");
    ConfigException.require(assignmentPartitions == null || assignmentPartitions > 0,
        "topics.assignment_partitions must be > 0");
    ConfigException.require(replicationFactor > 0, "topics.replication_factor must be > 0");
    ConfigException.require(minInsyncReplicas == null || minInsyncReplicas > 0,
        "topics.min_insync_replicas must be > 0");
    ConfigException.require(minInsyncReplicas == null || minInsyncReplicas <= replicationFactor,
        "topics.min_insync_replicas (" + minInsyncReplicas + ") must be <= topics.replication_factor ("
            + replicationFactor + "): no write with acks=all could succeed");
    ConfigException.require(!assignmentsDlq.startsWith("__"), "topics.assignments_dlq must not start with __");
    ConfigException.require(isReplyToAllowed(defaultReplyTo, replyToAllow),
        "topics.default_reply_to (" + defaultReplyTo + ") must match topics.reply_to_allow");
  }

  public static TopicSettings defaults() {
    return new TopicSettings(null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null);
  }

  public String jobs(Priority p) {
    return switch (p) {
      case HIGH -> jobsHigh;
      case NORMAL -> jobsNormal;
      case LOW -> jobsLow;
    };
  }

  /**
   * Every topic the fleet itself uses (reply topics other than the default are the producers' business), except
   * {@link #assignmentsDlq()}, which needs a topic config of its own ({@code TopicAdmin.ensureFleetTopics}).
   */
  public List<String> all() {
    return List.of(jobsHigh, jobsNormal, jobsLow, jobsRetry, assignments, fleetEvents, deadLetters, cancels,
        defaultReplyTo);
  }

  /**
   * The topic configs the fleet gives every topic it creates: {@code min.insync.replicas} when set, else none (the
   * broker's default applies).
   */
  public java.util.Map<String, String> createdTopicConfigs() {
    return minInsyncReplicas == null ? java.util.Map.of()
        : java.util.Map.of("min.insync.replicas", Integer.toString(minInsyncReplicas));
  }

  public boolean isReplyToAllowed(String topic) {
    return isReplyToAllowed(topic, replyToAllow);
  }

  private static boolean isReplyToAllowed(String topic, List<String> allow) {
    if (topic == null) {
      return false;
    }
    for (String a : allow) {
      if (a.endsWith("*") ? topic.startsWith(a.substring(0, a.length() - 1)) : topic.equals(a)) {
        return true;
      }
    }
    return false;
  }

  private static String or(String v, String d) {
    return v == null || v.isBlank() ? d : v;
  }
}
