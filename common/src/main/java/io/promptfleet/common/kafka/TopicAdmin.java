package io.promptfleet.common.kafka;

import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.TopicSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Creates the fleet's topics when missing and prepares the workers' share group. Blocking; call off event loops. */
public final class TopicAdmin {
  private static final Logger LOG = LoggerFactory.getLogger(TopicAdmin.class);

  private TopicAdmin() {}

  /** Topic config that lets a share group write its dead letters to a topic (Kafka 4.4, KIP-1191). */
  public static final String DLQ_GROUP_ENABLE = "errors.deadletterqueue.group.enable";
  /** Share-group config naming the group's dead-letter topic. */
  public static final String GROUP_DLQ_TOPIC = "errors.deadletterqueue.topic.name";
  /** Share-group config: copy the archived record's key and value onto the dead-letter record (default false). */
  public static final String GROUP_DLQ_COPY_RECORD = "errors.deadletterqueue.copy.record.enable";
  /** Headers the broker puts on a share-group dead letter. */
  public static final String DLQ_HEADER_TOPIC = "__dlq.errors.topic";
  public static final String DLQ_HEADER_PARTITION = "__dlq.errors.partition";
  public static final String DLQ_HEADER_OFFSET = "__dlq.errors.offset";
  public static final String DLQ_HEADER_DELIVERY_COUNT = "__dlq.errors.delivery.count";
  public static final String DLQ_HEADER_MESSAGE = "__dlq.errors.message";
  /** Share-group config: where a share partition starts when a member first fetches it (by default latest). */
  static final String SHARE_AUTO_OFFSET_RESET = "share.auto.offset.reset";
  static final String EARLIEST = "earliest";

  /**
   * Concurrent streams one assignments partition is sized for when {@code topics.assignment_partitions} is not set.
   * A share partition delivers only within a window of {@code share.partition.max.record.locks} offsets (2,000 by
   * default) from its oldest unfinished record; at saturation each assignment takes up to two offsets (its record
   * and a transaction marker), and a stream that outlives the others pins the window's start, so 500 leaves the
   * window half free for that.
   */
  public static final int STREAMS_PER_ASSIGNMENT_PARTITION = 500;
  /** The most partitions the derived count gives; set {@code topics.assignment_partitions} to go beyond. */
  public static final int MAX_DERIVED_ASSIGNMENT_PARTITIONS = 32;

  /**
   * The assignments topic's partition count: {@code topics.assignment_partitions} when set, else one per
   * {@value #STREAMS_PER_ASSIGNMENT_PARTITION} streams of the keys' summed {@code max_concurrency} (which bounds the
   * assignments in flight), at least 1 and at most {@value #MAX_DERIVED_ASSIGNMENT_PARTITIONS}. As few as that:
   * every partition is shared by fewer worker lanes, and a lane busy with its batch takes nothing new.
   */
  public static int assignmentPartitions(FleetConfig config) {
    Integer set = config.topics().assignmentPartitions();
    if (set != null) {
      return set;
    }
    long streams = config.keys().values().stream().mapToLong(k -> k.maxConcurrency()).sum();
    long n = (streams + STREAMS_PER_ASSIGNMENT_PARTITION - 1) / STREAMS_PER_ASSIGNMENT_PARTITION;
    return (int) Math.max(1, Math.min(MAX_DERIVED_ASSIGNMENT_PARTITIONS, n));
  }

  /**
   * Prepares the share group ({@link #prepareShareGroup(Admin, String, String)}) and, once the broker knows its
   * settings, creates every topic the configuration names, each tenant's job topics and default reply topic included
   * (idempotent; the assignments topic and its dead-letter topic with {@link #assignmentPartitions(FleetConfig)}
   * partitions, growing an existing assignments topic with fewer).
   *
   * <p>The group first: a broker starts a share partition at the offset its own copy of the group's
   * {@code share.auto.offset.reset} says when a member first fetches it, and the group's settings reach it only
   * through its metadata log, asynchronously. Created the other way round, a worker already in the group could fetch
   * a new partition while its broker has not applied the setting yet: the partition starts at the latest offset, and
   * an assignment written to it just before is never delivered. Seen in Http2IT with another test JVM beside it: the
   * broker applied the setting 2-3 s after this method had returned, 0.4 s after it had started the partition of the
   * first assignment. So the settings go into the metadata log before the topics, and the broker has shown them before
   * the topics are created ({@link #awaitGroupSettings}).
   */
  public static void ensureFleetTopics(FleetConfig config) {
    var topics = config.topics();
    int assignmentPartitions = assignmentPartitions(config);
    try (Admin admin = Admin.create(KafkaClients.admin(config.kafka(), "promptfleet-admin"))) {
      prepareShareGroup(admin, config.worker().shareGroup(), topics.assignmentsDlq());
      awaitGroupSettings(admin, config.worker().shareGroup(), GROUP_SETTINGS_WAIT);
      List<String> others = new ArrayList<>(topics.all());
      others.remove(topics.assignments());
      for (var tenant : config.tenants().values()) { // its job topics and its default reply topic
        others.addAll(tenant.topics().all());
        if (tenant.defaultReplyTo() != null) {
          others.add(tenant.defaultReplyTo());
        }
      }
      createTopics(admin, others, topics.partitions(), topics);
      if (createTopics(admin, List.of(topics.assignments()), assignmentPartitions, topics).isEmpty()) {
        growAssignments(admin, topics.assignments(), assignmentPartitions, topics.assignmentPartitions() != null);
      }
      ensureDeadLetterTopic(admin, topics.assignmentsDlq(), assignmentPartitions, topics);
    }
  }

  /** How long {@link #ensureFleetTopics} waits for the broker to show the share group's settings. */
  static final Duration GROUP_SETTINGS_WAIT = Duration.ofSeconds(30);

  /**
   * Waits until the broker answers {@code share.auto.offset.reset=earliest} for the share group: it has applied the
   * metadata record that set it, and a topic created after this comes later in its metadata log, which it applies in
   * order. A broker that does not show it within {@code max} is logged, not failed: the topics are still created.
   */
  static void awaitGroupSettings(Admin admin, String group, Duration max) {
    ConfigResource r = new ConfigResource(ConfigResource.Type.GROUP, group);
    long until = System.nanoTime() + max.toNanos();
    String seen = null;
    try {
      while (true) {
        var cfg = admin.describeConfigs(List.of(r)).all().get(30, TimeUnit.SECONDS).get(r);
        var entry = cfg == null ? null : cfg.get(SHARE_AUTO_OFFSET_RESET);
        seen = entry == null ? null : entry.value();
        if (EARLIEST.equals(seen) || System.nanoTime() >= until) {
          break;
        }
        Thread.sleep(20);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    } catch (ExecutionException | TimeoutException e) {
      LOG.warn("cannot read the settings of share group {} back: {}", group, e.toString());
      return;
    }
    if (!EARLIEST.equals(seen)) {
      LOG.warn("the broker still says {}={} for share group {} after {} s: a partition a worker fetches first before "
          + "the broker applies {} starts at its latest offset, skipping the assignments already in it",
          SHARE_AUTO_OFFSET_RESET, seen, group, max.toSeconds(), EARLIEST);
    }
  }

  /**
   * Adds partitions to an assignments topic that has fewer than {@code wanted} (safe while the fleet runs: share
   * groups start new partitions at their earliest offset); warns when one has more than an explicitly configured
   * count (partitions cannot be removed).
   */
  static void growAssignments(Admin admin, String assignments, int wanted, boolean configured) {
    try {
      var d = admin.describeTopics(List.of(assignments)).allTopicNames().get(30, TimeUnit.SECONDS).get(assignments);
      int actual = d == null ? wanted : d.partitions().size();
      if (actual < wanted) {
        admin.createPartitions(Map.of(assignments, NewPartitions.increaseTo(wanted))).all()
            .get(30, TimeUnit.SECONDS);
        LOG.info("topic {}: {} partitions, grown to {} for the keys' concurrency", assignments, actual, wanted);
      } else if (actual > wanted && configured) {
        LOG.warn("topic {} has {} partitions (topics.assignment_partitions is {}): each worker lane takes "
            + "assignments from fewer of them, so jobs can wait while lanes are idle. Partitions cannot be "
            + "removed; when the fleet is idle, delete the topic and restart the dispatcher to recreate it, or set "
            + "topics.assignments to a new name.", assignments, actual, wanted);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      LOG.warn("cannot check the partitions of topic {}: {}", assignments, e.toString());
    }
  }

  /**
   * Creates a share-group dead-letter topic with {@code errors.deadletterqueue.group.enable=true}, or sets that
   * config on an existing topic (idempotent). Without it the broker refuses to write there and archives the record
   * with nothing but an ERROR in its own log.
   */
  public static void ensureDeadLetterTopic(Admin admin, String name, int partitions, TopicSettings topics) {
    try {
      Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      if (!existing.contains(name)) {
        try {
          Map<String, String> configs = new HashMap<>(topics.createdTopicConfigs());
          configs.put(DLQ_GROUP_ENABLE, "true");
          admin.createTopics(List.of(new NewTopic(name, partitions, topics.replicationFactor()).configs(configs)))
              .all().get(30, TimeUnit.SECONDS);
          LOG.info("created share-group dead-letter topic {} ({} partitions)", name, partitions);
          return;
        } catch (ExecutionException ex) {
          if (!(ex.getCause() instanceof TopicExistsException)) {
            throw ex;
          }
        }
      }
      ConfigResource t = new ConfigResource(ConfigResource.Type.TOPIC, name);
      var cfg = admin.describeConfigs(List.of(t)).all().get(30, TimeUnit.SECONDS).get(t);
      var enable = cfg == null ? null : cfg.get(DLQ_GROUP_ENABLE);
      if (enable != null && "true".equals(enable.value())) {
        return;
      }
      try {
        admin.incrementalAlterConfigs(Map.of(t, List.of(new AlterConfigOp(new ConfigEntry(DLQ_GROUP_ENABLE, "true"),
            AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS);
        LOG.info("set {}=true on topic {}", DLQ_GROUP_ENABLE, name);
      } catch (ExecutionException ex) {
        LOG.error("cannot set {}=true on topic {} ({}): the share group cannot dead-letter there", DLQ_GROUP_ENABLE,
            name, ex.getCause() != null ? ex.getCause() : ex);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating topic " + name, e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("cannot create dead-letter topic " + name + ": " + e.getMessage(), e);
    }
  }

  /**
   * Why the share group's dead-letter queue will not work, or null when it will: the broker must run share.version
   * 2 (Kafka 4.4; below it the broker archives without a dead letter) and the topic must exist with
   * {@code errors.deadletterqueue.group.enable=true}. The broker checks none of this when the group config is set,
   * only when it writes a dead letter. Blocking.
   */
  public static String deadLetterQueueProblem(Admin admin, String topic) {
    try {
      var features = admin.describeFeatures().featureMetadata().get(30, TimeUnit.SECONDS).finalizedFeatures();
      var share = features.get("share.version");
      if (share == null || share.maxVersionLevel() < 2) {
        return "the cluster's share.version is " + (share == null ? "not set" : share.maxVersionLevel())
            + "; share-group dead-letter queues need 2 (kafka-features upgrade --feature share.version=2)";
      }
      ConfigResource t = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      var cfg = admin.describeConfigs(List.of(t)).all().get(30, TimeUnit.SECONDS).get(t);
      var enable = cfg == null ? null : cfg.get(DLQ_GROUP_ENABLE);
      if (enable == null || !"true".equals(enable.value())) {
        return "topic " + topic + " does not have " + DLQ_GROUP_ENABLE + "=true";
      }
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    } catch (ExecutionException | TimeoutException e) {
      return "cannot check topic " + topic + ": " + (e.getCause() != null ? e.getCause() : e);
    }
  }

  /**
   * Creates those of {@code names} that do not exist, with the fleet's replication factor and
   * {@link TopicSettings#createdTopicConfigs()} ({@code min.insync.replicas}); returns the ones this call created.
   * An existing topic keeps its own settings.
   */
  public static Set<String> createTopics(Admin admin, Collection<String> names, int partitions,
      TopicSettings topics) {
    return createTopics(admin, names, partitions, topics, Map.of());
  }

  /** As {@link #createTopics(Admin, Collection, int, TopicSettings)}, with topic configs of their own too. */
  public static Set<String> createTopics(Admin admin, Collection<String> names, int partitions,
      TopicSettings topics, Map<String, String> configs) {
    Map<String, String> all = new HashMap<>(topics.createdTopicConfigs());
    all.putAll(configs);
    try {
      Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      List<NewTopic> missing = new ArrayList<>();
      for (String n : names) {
        if (!existing.contains(n)) {
          missing.add(new NewTopic(n, partitions, topics.replicationFactor()).configs(all));
        }
      }
      Set<String> created = new HashSet<>();
      if (missing.isEmpty()) {
        return created;
      }
      for (var e : admin.createTopics(missing).values().entrySet()) {
        try {
          e.getValue().get(30, TimeUnit.SECONDS);
          created.add(e.getKey());
          LOG.info("created topic {} ({} partitions, replication factor {}{})", e.getKey(), partitions,
              topics.replicationFactor(), topics.minInsyncReplicas() == null ? ""
                  : ", min.insync.replicas " + topics.minInsyncReplicas());
        } catch (ExecutionException ex) {
          if (!(ex.getCause() instanceof TopicExistsException)) {
            throw ex;
          }
        }
      }
      return created;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating topics", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("cannot create topics " + names + ": " + e.getMessage(), e);
    }
  }

  /**
   * Prepares the workers' share group (idempotent):
   * <ul>
   *   <li>{@code share.auto.offset.reset=earliest}: share groups start at the latest offset by default, which
   *       would skip assignments written before the first worker joined;</li>
   *   <li>{@code share.isolation.level=read_committed}: assignments are written in the dispatcher's
   *       transactions, and one from an aborted or fenced transaction must never run.</li>
   * </ul>
   */
  public static void prepareShareGroup(Admin admin, String group) {
    prepareShareGroup(admin, group, null);
  }

  /**
   * {@link #prepareShareGroup(Admin, String)}, and when {@code deadLetterTopic} is not null:
   * <ul>
   *   <li>{@code errors.deadletterqueue.topic.name}: a record the group archives after its delivery limit
   *       ({@code share.delivery.count.limit}) goes there, so the dispatcher can answer the job;</li>
   *   <li>{@code errors.deadletterqueue.copy.record.enable=true}: with the assignment's key and value (by default
   *       the broker writes only its {@code __dlq.errors.*} headers).</li>
   * </ul>
   */
  public static void prepareShareGroup(Admin admin, String group, String deadLetterTopic) {
    ConfigResource r = new ConfigResource(ConfigResource.Type.GROUP, group);
    List<AlterConfigOp> ops = new ArrayList<>(List.of(
        new AlterConfigOp(new ConfigEntry(SHARE_AUTO_OFFSET_RESET, EARLIEST), AlterConfigOp.OpType.SET),
        new AlterConfigOp(new ConfigEntry("share.isolation.level", "read_committed"), AlterConfigOp.OpType.SET)));
    if (deadLetterTopic != null) {
      ops.add(new AlterConfigOp(new ConfigEntry(GROUP_DLQ_TOPIC, deadLetterTopic), AlterConfigOp.OpType.SET));
      ops.add(new AlterConfigOp(new ConfigEntry(GROUP_DLQ_COPY_RECORD, "true"), AlterConfigOp.OpType.SET));
    }
    try {
      admin.incrementalAlterConfigs(Map.of(r, ops)).all().get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("cannot configure share group " + group + ": " + e.getMessage(), e);
    }
  }
}
