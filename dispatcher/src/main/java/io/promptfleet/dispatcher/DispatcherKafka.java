package io.promptfleet.dispatcher;

import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.TopicSettings;
import io.promptfleet.common.kafka.KafkaClients;
import io.promptfleet.common.kafka.TopicAdmin;
import io.promptfleet.common.kafka.TopicPartitions;
import io.promptfleet.dispatcher.ha.SingleActiveAssignor;
import io.promptfleet.dispatcher.ha.StateSnapshot;
import io.promptfleet.dispatcher.intake.Inbound;
import io.promptfleet.dispatcher.intake.TopicCatalog;
import io.promptfleet.dispatcher.spill.SpillTopics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka side of the loop owner that is not the loop: how its clients are configured, the workers' share group
 * prepared on activation, and the read-back of {@code llm.assignments} and the feedback topics for a takeover.
 * Static and stateless; every method runs on the {@code pf-dispatcher} thread, and no client it makes outlives the
 * call except those it returns to {@link Dispatcher}.
 */
final class DispatcherKafka {
  private static final Logger LOG = LoggerFactory.getLogger(DispatcherKafka.class);
  static final int MAX_POLL_RECORDS = 2_000;
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  /** A read-back that brings nothing for this long while records are missing gives up. */
  private static final long STALL_MS = 60_000;

  private DispatcherKafka() {}

  /**
   * The job consumer: every dispatcher of the group subscribes; {@link SingleActiveAssignor} picks the active one,
   * and its COOPERATIVE protocol lets it keep its partitions while standbys join and leave.
   */
  static KafkaConsumer<String, byte[]> jobConsumer(FleetConfig config, String clientId) {
    var props = KafkaClients.consumer(config.kafka(), clientId, config.dispatcher().groupId());
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, MAX_POLL_RECORDS);
    props.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, SingleActiveAssignor.class.getName());
    props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
    int session = config.dispatcher().sessionTimeoutMs();
    props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, session);
    props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, Math.max(100, session / 4));
    return new KafkaConsumer<>(props);
  }

  /** The feedback consumer: no group, every partition, assigned on activation. */
  static KafkaConsumer<String, byte[]> feedbackConsumer(FleetConfig config, String clientId) {
    return groupless(config, clientId + "-feedback");
  }

  private static KafkaConsumer<String, byte[]> groupless(FleetConfig config, String clientId) {
    var props = KafkaClients.groupless(config.kafka(), clientId);
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2_000);
    return new KafkaConsumer<>(props);
  }

  /**
   * The transactional producer (transactional id = group id: it fences any predecessor), transactions ready. Its
   * client id is {@code clientId-tx}: one id per client, so Kafka's app-info metrics of the job consumer and the
   * producer do not collide.
   */
  static KafkaProducer<String, byte[]> transactionalProducer(FleetConfig config, String clientId) {
    var props = KafkaClients.transactionalProducer(config.kafka(), clientId + "-tx", config.dispatcher().groupId());
    // A transaction that starts while the previous one's markers are still being written gets
    // CONCURRENT_TRANSACTIONS and is retried after retry.backoff.ms: 100 ms by default, a stall of every
    // dispatch behind it. Retry quickly instead.
    props.putIfAbsent(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, 2);
    props.putIfAbsent(ProducerConfig.RETRY_BACKOFF_MAX_MS_CONFIG, 100);
    KafkaProducer<String, byte[]> producer = new KafkaProducer<>(props);
    producer.initTransactions();
    return producer;
  }

  /**
   * Share groups read uncommitted records by default: a worker would run an assignment whose transaction was
   * aborted (a rewind, or a fenced predecessor) and the job would run twice. Set the workers' share group to
   * read_committed (idempotent), and check its dead-letter queue. Returns whether that worked.
   */
  static boolean prepareWorkersShareGroup(FleetConfig config, String clientId) {
    try (Admin admin = Admin.create(KafkaClients.admin(config.kafka(), clientId + "-admin"))) {
      TopicAdmin.prepareShareGroup(admin, config.worker().shareGroup(), config.topics().assignmentsDlq());
      String problem = TopicAdmin.deadLetterQueueProblem(admin, config.topics().assignmentsDlq());
      if (problem != null) {
        LOG.error("SHARE-GROUP DEAD-LETTER QUEUE NOT WORKING: {}. An assignment delivered share.delivery.count.limit "
            + "times is archived by the broker and its job gets no result.", problem);
      }
      return true;
    } catch (RuntimeException e) {
      LOG.warn("cannot set share.isolation.level=read_committed on share group {}: {}; workers may run assignments "
          + "of aborted transactions", config.worker().shareGroup(), e.toString());
      return false;
    }
  }

  /**
   * Creates the models' spill topics that do not exist (one partition per lane, the fleet's replication),
   * before the job consumer subscribes to them. A dispatcher that cannot create them stops: jobs of a full model
   * would have nowhere to wait. A spill topic of a model no longer configured is not read: if it still holds jobs,
   * they would wait unanswered, so each one with records is named in an ERROR (put the model back until its
   * backlog is read, or move its records to a job topic).
   */
  static void ensureSpillTopics(FleetConfig config, String clientId, List<String> topics) {
    try (Admin admin = Admin.create(KafkaClients.admin(config.kafka(), clientId + "-spill"))) {
      TopicAdmin.createTopics(admin, topics, SpillTopics.PARTITIONS, config.topics());
      String prefix = config.topics().prefix() + ".jobs.spill.";
      List<String> orphans = admin.listTopics().names().get(30, TimeUnit.SECONDS).stream()
          .filter(t -> t.startsWith(prefix) && !topics.contains(t)).toList();
      for (String t : orphans) {
        List<TopicPartition> parts = new ArrayList<>();
        for (int p = 0; p < SpillTopics.PARTITIONS; p++) {
          parts.add(new TopicPartition(t, p));
        }
        long records = 0;
        var end = admin.listOffsets(parts.stream().collect(Collectors.toMap(tp -> tp, tp -> OffsetSpec.latest())))
            .all().get(30, TimeUnit.SECONDS);
        var start = admin.listOffsets(parts.stream().collect(Collectors.toMap(tp -> tp,
            tp -> OffsetSpec.earliest()))).all().get(30, TimeUnit.SECONDS);
        for (TopicPartition tp : parts) {
          records += end.get(tp).offset() - start.get(tp).offset();
        }
        if (records > 0) {
          LOG.error("SPILL TOPIC OF A MODEL NO LONGER CONFIGURED: {} holds {} record offsets that no dispatcher "
              + "reads; its jobs get no answer until the model is configured again (or its records are moved to a "
              + "job topic)", t, records);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while checking spill topics", e);
    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
      LOG.warn("cannot check for spill topics of models no longer configured: {}", e.toString());
    }
  }

  /**
   * The consumer a takeover reads the state topic and {@code llm.assignments} back with (no group; fetches return
   * at once rather than waiting for more bytes: a read-back wants the records up to an end it knows).
   */
  static KafkaConsumer<String, byte[]> rebuildConsumer(FleetConfig config, String clientId) {
    var props = KafkaClients.groupless(config.kafka(), clientId + "-rebuild");
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2_000);
    props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 10);
    props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 8 << 20); // snapshot parts and id journal: ~0.5 MB each
    return new KafkaConsumer<>(props);
  }

  /** Hands {@code to} every record of {@code llm.assignments} written since {@code fromMs}; returns how many. */
  static long streamAssignments(KafkaConsumer<String, byte[]> c, FleetConfig config, long fromMs,
      Consumer<Inbound> to) {
    return readToEnd(c, from(c, partitions(c, config.topics().assignments()), fromMs), to);
  }

  /**
   * Hands {@code to} the feedback a takeover replays, with the loop owner's {@code feedback} consumer, which is left
   * at the end (the live feedback goes on there): the fleet events from {@code positions} (a snapshot's; a partition
   * without one from {@code fromMs}) and the cancels since {@code fromMs}, each partition in offset order; then the
   * assignments' dead-letter queue from {@code positions} (after every release: a lease released by anyone is not
   * answered again). Returns how many records it read.
   */
  static long streamFeedback(KafkaConsumer<String, byte[]> feedback, TopicSettings topics, long fromMs,
      Map<String, Long> positions, Consumer<Inbound> to) {
    List<TopicPartition> events = new ArrayList<>(partitions(feedback, topics.fleetEvents()));
    events.addAll(partitions(feedback, topics.cancels()));
    List<TopicPartition> dlq = partitions(feedback, topics.assignmentsDlq());
    List<TopicPartition> all = new ArrayList<>(events);
    all.addAll(dlq);
    feedback.assign(all);
    Map<TopicPartition, Long> start = from(feedback, all, fromMs);
    for (TopicPartition tp : all) {
      Long p = tp.topic().equals(topics.cancels()) ? null
          : positions.get(StateSnapshot.position(tp.topic(), tp.partition()));
      if (p != null) {
        start.put(tp, p);
      }
    }
    feedback.pause(dlq);
    long n = readToEnd(feedback, subset(start, events), to);
    feedback.resume(dlq);
    feedback.pause(events);
    n += readToEnd(feedback, subset(start, dlq), to);
    feedback.resume(events);
    return n;
  }

  /** The feedback consumer's positions on the fleet events and the dead-letter queue (a state snapshot's). */
  static Map<String, Long> feedbackPositions(KafkaConsumer<String, byte[]> feedback, TopicSettings topics) {
    Map<String, Long> out = new HashMap<>();
    for (TopicPartition tp : feedback.assignment()) {
      if (!tp.topic().equals(topics.cancels())) {
        out.put(StateSnapshot.position(tp.topic(), tp.partition()), feedback.position(tp, TIMEOUT));
      }
    }
    return out;
  }

  /**
   * Creates the dispatcher state topic when it does not exist: two partitions (snapshots, job-id journal), the
   * fleet's replication, deleted after the dedupe window or the lookback (the longer) and an hour more, in segments
   * of ten minutes so old snapshots go soon. A dispatcher that cannot create it writes no snapshots.
   */
  static boolean ensureStateTopic(FleetConfig config, String clientId) {
    var d = config.dispatcher();
    if (d.stateSnapshotMs() <= 0) {
      return false;
    }
    try (Admin admin = Admin.create(KafkaClients.admin(config.kafka(), clientId + "-state"))) {
      long retention = Math.max(d.dedupeWindowMs(), d.rebuildLookbackMs()) + 3_600_000L;
      TopicAdmin.createTopics(admin, List.of(config.topics().dispatcherState()), 2, config.topics(), Map.of(
          "retention.ms", Long.toString(retention), "segment.ms", "600000", "cleanup.policy", "delete"));
      return true;
    } catch (RuntimeException e) {
      LOG.warn("cannot create the dispatcher state topic {}: {}; takeovers read the whole lookback",
          config.topics().dispatcherState(), e.toString());
      return false;
    }
  }

  /**
   * Creates the batcher's topic when some route has a {@code batch} block and the topic does not exist: one
   * partition (read back whole at each takeover, in order), compacted (a batch's and each member's latest record,
   * until its tombstone), the fleet's replication. Without batching routes it is not created, but one left by an
   * earlier configuration is still read (its jobs then run live). Returns whether there is one.
   */
  static boolean ensureBatchTopic(FleetConfig config, String clientId) {
    boolean batching = config.models().values().stream().flatMap(m -> m.routes().stream())
        .anyMatch(r -> r.batch() != null);
    try (Admin admin = Admin.create(KafkaClients.admin(config.kafka(), clientId + "-batches"))) {
      if (!batching) {
        return admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(config.topics().batches());
      }
      TopicAdmin.createTopics(admin, List.of(config.topics().batches()), 1, config.topics(), Map.of(
          "cleanup.policy", "compact", "segment.ms", "600000", "min.compaction.lag.ms", "0"));
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while listing topics", e);
    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("cannot list topics to find " + config.topics().batches(), e);
    }
  }

  /** Hands {@code to} every record of the batch topic from its start; returns how many. */
  static long streamBatches(KafkaConsumer<String, byte[]> c, String topic, Consumer<Inbound> to) {
    return readToEnd(c, from(c, partitions(c, topic), 0), to);
  }

  /** What a takeover read of the state topic: the newest snapshot (null: none) and the records it read. */
  record StateRead(StateSnapshot snapshot, long records) {}

  /**
   * Reads the newest complete snapshot of the state topic for a takeover: from {@code 3 × state_snapshot_ms} back,
   * else from the lookback's start. Null snapshot when there is none (or the topic cannot be read).
   */
  static StateRead readSnapshot(KafkaConsumer<String, byte[]> c, FleetConfig config, long nowMs) {
    var d = config.dispatcher();
    try {
      TopicPartition snapshots = stateTopicPartition(c, config, StateSnapshot.PARTITION);
      if (snapshots == null) {
        return new StateRead(null, 0);
      }
      StateSnapshot.Reader reader = new StateSnapshot.Reader();
      long n = readToEnd(c, from(c, List.of(snapshots), nowMs - 3 * d.stateSnapshotMs()), reader::accept);
      if (!reader.found()) {
        n += readToEnd(c, from(c, List.of(snapshots), nowMs - d.rebuildLookbackMs()), reader::accept);
      }
      StateSnapshot s = reader.newest();
      if (reader.unreadable() > 0) {
        LOG.warn("{} unreadable records in the snapshots of {}", reader.unreadable(), snapshots);
      }
      return new StateRead(s, n);
    } catch (org.apache.kafka.common.errors.TimeoutException | IllegalStateException e) {
      LOG.warn("cannot read the dispatcher state topic {}: {}; rebuilding from the lookback",
          config.topics().dispatcherState(), e.toString());
      return new StateRead(null, 0);
    }
  }

  /** Hands {@code to} the job-id journal of the dedupe window (the state topic's second partition). */
  static long streamJournal(KafkaConsumer<String, byte[]> c, FleetConfig config, long nowMs,
      Consumer<Inbound> to) {
    TopicPartition journal = stateTopicPartition(c, config, StateSnapshot.IDS_PARTITION);
    return journal == null ? 0
        : readToEnd(c, from(c, List.of(journal), nowMs - config.dispatcher().dedupeWindowMs()), to);
  }

  static TopicPartition stateTopicPartition(KafkaConsumer<?, ?> c, FleetConfig config, int partition) {
    String topic = config.topics().dispatcherState();
    TopicPartition tp = new TopicPartition(topic, partition);
    if (!TopicPartitions.await(c, topic, TIMEOUT).contains(tp)) {
      LOG.warn("dispatcher state topic {} has no partition {}: rebuilding from the lookback", topic, partition);
      return null;
    }
    return tp;
  }

  /** Lists topics on its own thread (every 30 s, and on demand at most every 200 ms), after a first listing. */
  static TopicCatalog topicCatalog(FleetConfig config, String clientId) {
    return new TopicCatalog(KafkaClients.admin(config.kafka(), clientId + "-topics"), 30_000, 200).start(10_000);
  }

  /** Two polls' records as one batch, each partition's records in offset order. */
  static ConsumerRecords<String, byte[]> merge(ConsumerRecords<String, byte[]> first,
      ConsumerRecords<String, byte[]> second) {
    Map<TopicPartition, List<ConsumerRecord<String, byte[]>>> all = new HashMap<>();
    for (ConsumerRecords<String, byte[]> batch : List.of(first, second)) {
      for (TopicPartition tp : batch.partitions()) {
        all.computeIfAbsent(tp, k -> new ArrayList<>()).addAll(batch.records(tp));
      }
    }
    return new ConsumerRecords<>(all, Map.of());
  }

  /** The polled records but those of {@code dropped}. */
  static ConsumerRecords<String, byte[]> without(ConsumerRecords<String, byte[]> polled,
      Set<TopicPartition> dropped) {
    if (polled.isEmpty() || Collections.disjoint(polled.partitions(), dropped)) {
      return polled;
    }
    Map<TopicPartition, List<ConsumerRecord<String, byte[]>>> kept = new HashMap<>();
    for (TopicPartition tp : polled.partitions()) {
      if (!dropped.contains(tp)) {
        kept.put(tp, polled.records(tp));
      }
    }
    return new ConsumerRecords<>(kept, Map.of());
  }

  /** A polled record as the core sees it. */
  static Inbound inbound(ConsumerRecord<String, byte[]> r) {
    return new Inbound(r.topic(), r.partition(), r.offset(), r.timestamp(), r.key(), r.value(), r.headers());
  }

  /** The topic's partitions ({@link TopicPartitions#await}: a term never runs without a topic it reads). */
  private static List<TopicPartition> partitions(KafkaConsumer<?, ?> c, String topic) {
    return TopicPartitions.await(c, topic, TIMEOUT);
  }


  /** Where each of {@code parts} is at {@code fromMs} (its end offset when nothing is that recent). */
  private static Map<TopicPartition, Long> from(KafkaConsumer<String, byte[]> c, List<TopicPartition> parts,
      long fromMs) {
    Map<TopicPartition, Long> times = new HashMap<>();
    parts.forEach(tp -> times.put(tp, fromMs));
    return from(c, parts, times);
  }

  /**
   * Where each of {@code parts} is at its time in {@code fromMs} (its end offset when nothing is that recent). The end
   * offsets are asked first: a record written between the two lookups is then found by the time lookup or lies past
   * that end, never skipped (the other order skipped a snapshot written just then).
   */
  static Map<TopicPartition, Long> from(KafkaConsumer<String, byte[]> c, List<TopicPartition> parts,
      Map<TopicPartition, Long> fromMs) {
    Map<TopicPartition, Long> query = new HashMap<>();
    parts.forEach(tp -> query.put(tp, Math.max(0, fromMs.get(tp))));
    Map<TopicPartition, Long> end = c.endOffsets(parts, TIMEOUT);
    Map<TopicPartition, OffsetAndTimestamp> start = c.offsetsForTimes(query, TIMEOUT);
    Map<TopicPartition, Long> out = new HashMap<>();
    for (TopicPartition tp : parts) {
      OffsetAndTimestamp o = start.get(tp);
      out.put(tp, o == null ? end.get(tp) : o.offset());
    }
    return out;
  }

  private static Map<TopicPartition, Long> subset(Map<TopicPartition, Long> all, List<TopicPartition> parts) {
    Map<TopicPartition, Long> out = new HashMap<>();
    parts.forEach(tp -> out.put(tp, all.get(tp)));
    return out;
  }

  /**
   * Reads each partition of {@code start} from its offset up to its end offset as of now (the consumer is
   * assigned them, and may be assigned more, paused), handing each record to {@code to} as it comes: nothing is
   * collected. Gives up when a poll brings nothing for {@value #STALL_MS} ms while records are still missing.
   */
  static long readToEnd(KafkaConsumer<String, byte[]> c, Map<TopicPartition, Long> start,
      Consumer<Inbound> to) {
    if (!c.assignment().containsAll(start.keySet())) {
      c.assign(new ArrayList<>(start.keySet()));
    }
    Map<TopicPartition, Long> end = c.endOffsets(start.keySet(), TIMEOUT);
    start.forEach(c::seek);
    long n = 0;
    long lastProgress = System.nanoTime();
    while (true) {
      boolean done = true;
      for (TopicPartition tp : start.keySet()) {
        if (c.position(tp) < end.get(tp)) {
          done = false;
          break;
        }
      }
      if (done) {
        return n;
      }
      ConsumerRecords<String, byte[]> polled = c.poll(Duration.ofMillis(100));
      if (!polled.isEmpty()) {
        lastProgress = System.nanoTime();
      } else if (System.nanoTime() - lastProgress > TimeUnit.MILLISECONDS.toNanos(STALL_MS)) {
        throw new IllegalStateException("could not read " + start.keySet() + " to their end: nothing came for "
            + STALL_MS + " ms");
      }
      for (ConsumerRecord<String, byte[]> r : polled) {
        to.accept(inbound(r));
        n++;
      }
    }
  }

  /** Closes a client (or the topic catalog), logging a failure at DEBUG. */
  static void closeQuietly(AutoCloseable c) {
    if (c != null) {
      try {
        c.close();
      } catch (Exception e) {
        LOG.debug("close failed", e);
      }
    }
  }
}
