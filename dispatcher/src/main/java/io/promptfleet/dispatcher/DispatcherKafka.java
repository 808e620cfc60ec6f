package io.promptfleet.dispatcher;

import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.TopicSettings;
import io.promptfleet.common.kafka.KafkaClients;
import io.promptfleet.common.kafka.TopicAdmin;
import io.promptfleet.common.kafka.TopicPartitions;
import io.promptfleet.dispatcher.ha.SingleActiveAssignor;
import io.promptfleet.dispatcher.intake.Inbound;
import io.promptfleet.dispatcher.intake.TopicCatalog;
import io.promptfleet.dispatcher.spill.SpillTopics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
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

  private DispatcherKafka() {}

  /** The job consumer: every dispatcher of the group subscribes; {@link SingleActiveAssignor} picks the active one. */
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
   * read_committed (idempotent), and check its dead-letter queue.
   */
  static void prepareWorkersShareGroup(FleetConfig config, String clientId) {
    try (Admin admin = Admin.create(KafkaClients.admin(config.kafka(), clientId + "-admin"))) {
      TopicAdmin.prepareShareGroup(admin, config.worker().shareGroup(), config.topics().assignmentsDlq());
      String problem = TopicAdmin.deadLetterQueueProblem(admin, config.topics().assignmentsDlq());
      if (problem != null) {
        LOG.error("SHARE-GROUP DEAD-LETTER QUEUE NOT WORKING: {}. An assignment delivered share.delivery.count.limit "
            + "times is archived by the broker and its job gets no result.", problem);
      }
    } catch (RuntimeException e) {
      LOG.warn("cannot set share.isolation.level=read_committed on share group {}: {}; workers may run assignments "
          + "of aborted transactions", config.worker().shareGroup(), e.toString());
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

  /** Every record of {@code llm.assignments} written since {@code fromMs}, read with a consumer of its own. */
  static List<Inbound> readAssignments(FleetConfig config, String clientId, long fromMs) {
    try (KafkaConsumer<String, byte[]> c = groupless(config, clientId + "-rebuild")) {
      return readToEnd(c, partitions(c, config.topics().assignments()), fromMs);
    }
  }

  /**
   * Every record of the fleet events, the cancels and the assignments' dead-letter queue since {@code fromMs},
   * read with the loop owner's {@code feedback} consumer, which is left at the end: the live feedback goes on there.
   */
  static List<Inbound> readFeedback(KafkaConsumer<String, byte[]> feedback, TopicSettings topics, long fromMs) {
    List<TopicPartition> parts = new ArrayList<>(partitions(feedback, topics.fleetEvents()));
    parts.addAll(partitions(feedback, topics.cancels()));
    parts.addAll(partitions(feedback, topics.assignmentsDlq()));
    return readToEnd(feedback, parts, fromMs);
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

  /** A polled record as the core sees it. */
  static Inbound inbound(ConsumerRecord<String, byte[]> r) {
    return new Inbound(r.topic(), r.partition(), r.offset(), r.timestamp(), r.key(), r.value(), r.headers());
  }

  /** The topic's partitions ({@link TopicPartitions#await}: a term never runs without a topic it reads). */
  private static List<TopicPartition> partitions(KafkaConsumer<?, ?> c, String topic) {
    return TopicPartitions.await(c, topic, TIMEOUT);
  }


  /** Assigns {@code parts}, seeks to {@code fromMs} and reads up to the end offsets as of now. */
  private static List<Inbound> readToEnd(KafkaConsumer<String, byte[]> c, List<TopicPartition> parts, long fromMs) {
    c.assign(parts);
    Map<TopicPartition, Long> query = new HashMap<>();
    parts.forEach(tp -> query.put(tp, Math.max(0, fromMs)));
    Map<TopicPartition, OffsetAndTimestamp> start = c.offsetsForTimes(query, TIMEOUT);
    Map<TopicPartition, Long> end = c.endOffsets(parts, TIMEOUT);
    for (TopicPartition tp : parts) {
      OffsetAndTimestamp o = start.get(tp);
      c.seek(tp, o == null ? end.get(tp) : o.offset());
    }
    List<Inbound> out = new ArrayList<>();
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < until) {
      boolean done = true;
      for (TopicPartition tp : parts) {
        if (c.position(tp) < end.get(tp)) {
          done = false;
          break;
        }
      }
      if (done) {
        return out;
      }
      for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(100))) {
        out.add(inbound(r));
      }
    }
    throw new IllegalStateException("could not read " + parts + " to their end within 60 s");
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
