package io.promptfleet.dispatcher;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.RetryRequest;
import io.promptfleet.common.kafka.KafkaClients;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.Lease;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.intake.JobIntake;
import io.promptfleet.dispatcher.schedule.ReadyQueues;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dispatcher: one named thread ({@code pf-dispatcher}) owns the job consumer, the fleet-event consumer and the
 * transactional producer. Each round it reads jobs into bounded ready queues (pausing partitions when they are
 * full, so the backlog waits in Kafka), then writes assignments for keys with capacity, dead letters and
 * rejections, together with the input offsets, in one Kafka transaction.
 *
 * <p>Thread-safe for {@link #start()} and {@link #close()}; everything else runs on the dispatcher thread.
 * The transactional id is the group id, so a second dispatcher that takes over fences the first.
 */
public final class Dispatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);
  private static final int MAX_RECORDS_PER_TRANSACTION = 1_000;

  private final FleetConfig config;
  private final JobIntake intake;
  private final KeyPool keys;
  private final ReadyQueues<ConsumerRecord<String, byte[]>> queues = new ReadyQueues<>();
  private final Map<String, Lane> laneOfTopic = new HashMap<>();
  private final Clock clock;
  private final String instanceId;
  private final Thread thread;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final Counter dispatched;
  private final Counter deadLettered;
  private final Counter answered;
  private final Counter leasesExpired;
  private volatile boolean running = true;
  private volatile boolean active;
  private volatile Throwable failure;
  private volatile KafkaConsumer<String, byte[]> jobs;
  private KafkaConsumer<String, byte[]> events;
  private KafkaProducer<String, byte[]> producer;
  private final Set<TopicPartition> paused = new HashSet<>();

  public Dispatcher(FleetConfig config, MeterRegistry registry, Clock clock, String instanceId) {
    this.config = config;
    this.intake = new JobIntake(config);
    this.keys = new KeyPool(config.keys());
    this.clock = clock;
    this.instanceId = instanceId;
    var t = config.topics();
    laneOfTopic.put(t.jobsRetry(), Lane.RETRY);
    laneOfTopic.put(t.jobsHigh(), Lane.HIGH);
    laneOfTopic.put(t.jobsNormal(), Lane.NORMAL);
    laneOfTopic.put(t.jobsLow(), Lane.LOW);
    this.dispatched = Counter.builder("promptfleet.dispatcher.assignments").description("assignments written")
        .register(registry);
    this.deadLettered = Counter.builder("promptfleet.dispatcher.dead.letters")
        .description("records that were not valid jobs, sent to the dead-letter topic").register(registry);
    this.answered = Counter.builder("promptfleet.dispatcher.answered")
        .description("jobs answered without running (rejected, expired)").register(registry);
    this.leasesExpired = Counter.builder("promptfleet.dispatcher.leases.expired")
        .description("leases reclaimed because no worker released them").register(registry);
    Gauge.builder("promptfleet.dispatcher.buffered", queues, ReadyQueues::size)
        .description("jobs read from Kafka and waiting for a key").register(registry);
    for (String k : config.keys().keySet()) {
      Gauge.builder("promptfleet.key.in.flight", keys, p -> p.inFlight(k)).tag("key", k)
          .description("assignments holding the key's concurrency").register(registry);
      Gauge.builder("promptfleet.key.max.concurrency", () -> config.keys().get(k).maxConcurrency()).tag("key", k)
          .description("the key's configured concurrency").register(registry);
    }
    this.thread = new Thread(this::run, "pf-dispatcher");
  }

  public void start() {
    thread.start();
  }

  /** True once this instance holds the job partitions and its transactional producer is ready. */
  public boolean isActive() {
    return active && failure == null;
  }

  /** Null while healthy, else why this dispatcher stopped. */
  public Throwable failure() {
    return failure;
  }

  private void run() {
    try {
      producer = new KafkaProducer<>(KafkaClients.transactionalProducer(config.kafka(), "pf-dispatcher-" + instanceId,
          config.dispatcher().groupId()));
      producer.initTransactions();
      var consumerProps = KafkaClients.consumer(config.kafka(), "pf-dispatcher-" + instanceId,
          config.dispatcher().groupId());
      consumerProps.put("max.poll.records", 500);
      jobs = new KafkaConsumer<>(consumerProps);
      var eventProps = KafkaClients.consumer(config.kafka(), "pf-dispatcher-events-" + instanceId,
          config.dispatcher().groupId() + "-events-" + instanceId);
      eventProps.put("auto.offset.reset", "latest");
      eventProps.put("isolation.level", "read_uncommitted");
      events = new KafkaConsumer<>(eventProps);
      events.subscribe(List.of(config.topics().fleetEvents()));
      jobs.subscribe(laneOfTopic.keySet(), new Rebalance());
      active = true;
      LOG.info("dispatcher {} started: reading {}", instanceId, laneOfTopic.keySet());
      while (running) {
        round();
      }
    } catch (WakeupException e) {
      if (running) {
        failure = e;
      }
    } catch (ProducerFencedException e) {
      failure = e;
      LOG.error("dispatcher {} was fenced by another dispatcher instance; stopping", instanceId);
    } catch (Throwable e) {
      failure = e;
      LOG.error("dispatcher {} failed; stopping", instanceId, e);
    } finally {
      active = false;
      closeQuietly(jobs);
      closeQuietly(events);
      closeQuietly(producer);
      stopped.countDown();
    }
  }

  private void round() {
    Instant now = clock.instant();
    for (ConsumerRecord<String, byte[]> r : events.poll(Duration.ZERO)) {
      onFleetEvent(r);
    }
    for (Lease l : keys.expire(now)) {
      leasesExpired.increment();
      LOG.warn("lease {} of job {} on key {} expired without release", l.leaseId(), l.jobId(), l.keyId());
    }
    Duration wait = queues.size() > 0 ? Duration.ofMillis(5) : Duration.ofMillis(100);
    for (ConsumerRecord<String, byte[]> r : jobs.poll(wait)) {
      queues.add(laneOfTopic.get(r.topic()), r);
    }
    flowControl();
    dispatchReady();
  }

  /** Pauses every partition while the ready queues are full, so the backlog stays in Kafka. */
  private void flowControl() {
    int max = config.dispatcher().maxBufferedJobs();
    if (queues.size() >= max && paused.isEmpty()) {
      paused.addAll(jobs.assignment());
      jobs.pause(paused);
    } else if (queues.size() <= max / 2 && !paused.isEmpty()) {
      jobs.resume(paused);
      paused.clear();
    }
  }

  private void dispatchReady() {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    List<Lease> acquired = new java.util.ArrayList<>();
    boolean inTxn = false;
    try {
      int n = 0;
      while (n < MAX_RECORDS_PER_TRANSACTION) {
        Instant now = clock.instant();
        Lane lane = queues.next(r -> isDue(r, now));
        if (lane == null) {
          break;
        }
        ConsumerRecord<String, byte[]> r = queues.peek(lane);
        Decision d = lane == Lane.RETRY
            ? intake.ofRetry(r.value(), now)
            : intake.ofJob(r.value(), Instant.ofEpochMilli(r.timestamp()), now);
        if (d instanceof Decision.Dispatch dispatch) {
          Optional<ProducerRecord<String, byte[]>> assignment = assign(dispatch, priorityOf(lane, r), now, acquired);
          if (assignment.isEmpty()) {
            break; // no key has capacity: the job waits (strict priority: nothing overtakes it)
          }
          if (!inTxn) {
            producer.beginTransaction();
            inTxn = true;
          }
          producer.send(assignment.get());
          dispatched.increment();
        } else {
          if (!inTxn) {
            producer.beginTransaction();
            inTxn = true;
          }
          emit(d, r);
        }
        queues.poll(lane);
        offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
        n++;
      }
      if (inTxn) {
        producer.sendOffsetsToTransaction(offsets, jobs.groupMetadata());
        producer.commitTransaction();
      }
    } catch (ProducerFencedException e) {
      throw e;
    } catch (KafkaException e) {
      LOG.warn("dispatch transaction failed, rewinding: {}", e.toString());
      if (inTxn) {
        producer.abortTransaction();
      }
      acquired.forEach(l -> keys.release(l.leaseId()));
      rewind();
    }
  }

  private Optional<ProducerRecord<String, byte[]>> assign(Decision.Dispatch d, Priority priority, Instant now,
      List<Lease> acquired) {
    for (RouteSettings route : d.routes()) {
      Optional<String> key = keys.choose(config.keysOf(route), d.job().tenant());
      if (key.isPresent()) {
        String leaseId = UUID.randomUUID().toString();
        Lease lease = new Lease(leaseId, key.get(), d.job().jobId(),
            d.deadline().plusMillis(config.dispatcher().leaseGraceMs()));
        keys.acquire(lease);
        acquired.add(lease);
        Assignment a = new Assignment(leaseId, d.job(), d.attempt(), priority, route.toRoute(d.job().model()),
            key.get(), d.enqueuedAt(), now, d.deadline(), d.job().replyTo());
        return Optional.of(new ProducerRecord<>(config.topics().assignments(), d.job().jobId(), Json.bytes(a)));
      }
    }
    return Optional.empty();
  }

  private void emit(Decision d, ConsumerRecord<String, byte[]> r) {
    if (d instanceof Decision.DeadLetter dl) {
      RecordHeaders h = new RecordHeaders();
      r.headers().forEach(h::add);
      h.add("pf.dlq.reason", dl.reason().getBytes(StandardCharsets.UTF_8));
      h.add("pf.dlq.topic", r.topic().getBytes(StandardCharsets.UTF_8));
      h.add("pf.dlq.partition", Integer.toString(r.partition()).getBytes(StandardCharsets.UTF_8));
      h.add("pf.dlq.offset", Long.toString(r.offset()).getBytes(StandardCharsets.UTF_8));
      h.add("pf.dlq.timestamp", Long.toString(r.timestamp()).getBytes(StandardCharsets.UTF_8));
      producer.send(new ProducerRecord<>(config.topics().deadLetters(), null, r.key(), r.value(), h));
      deadLettered.increment();
      LOG.info("dead-lettered {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), dl.reason());
      if (dl.answer() != null) {
        emit(dl.answer(), r);
      }
    } else if (d instanceof Decision.Answer a) {
      producer.send(new ProducerRecord<>(a.replyTo(), a.result().jobId(), Json.bytes(a.result())));
      answered.increment();
    }
  }

  private boolean isDue(ConsumerRecord<String, byte[]> r, Instant now) {
    if (!config.topics().jobsRetry().equals(r.topic())) {
      return true;
    }
    try {
      RetryRequest retry = Json.read(r.value(), RetryRequest.class);
      return retry.notBefore() == null || !now.isBefore(retry.notBefore());
    } catch (RuntimeException e) {
      return true; // intake dead-letters it
    }
  }

  private static Priority priorityOf(Lane lane, ConsumerRecord<String, byte[]> r) {
    return switch (lane) {
      case HIGH -> Priority.HIGH;
      case NORMAL -> Priority.NORMAL;
      case LOW -> Priority.LOW;
      case RETRY -> {
        try {
          Priority p = Json.read(r.value(), RetryRequest.class).assignment().priority();
          yield p == null ? Priority.NORMAL : p;
        } catch (RuntimeException e) {
          yield Priority.NORMAL;
        }
      }
    };
  }

  private void onFleetEvent(ConsumerRecord<String, byte[]> r) {
    FleetEvent e;
    try {
      e = Json.read(r.value(), FleetEvent.class);
    } catch (RuntimeException ex) {
      LOG.warn("unreadable fleet event at {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), ex.toString());
      return;
    }
    if (e.type() == FleetEvent.Type.LEASE_RELEASED && e.leaseId() != null) {
      keys.release(e.leaseId());
    }
  }

  /** After an aborted transaction: forget what was read and read again from the committed offsets. */
  private void rewind() {
    Set<TopicPartition> assigned = jobs.assignment();
    queues.removeIf(r -> true);
    Map<TopicPartition, OffsetAndMetadata> committed = jobs.committed(assigned);
    for (TopicPartition tp : assigned) {
      OffsetAndMetadata om = committed.get(tp);
      if (om != null) {
        jobs.seek(tp, om);
      } else {
        jobs.seekToBeginning(List.of(tp));
      }
    }
  }

  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      // Nothing of theirs is in an open transaction (we commit every round); drop what waits, the next owner reads it.
      queues.removeIf(r -> partitions.contains(new TopicPartition(r.topic(), r.partition())));
      paused.removeAll(partitions);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      LOG.info("dispatcher {} now reads {} partitions", instanceId, partitions.size());
      if (!paused.isEmpty()) {
        jobs.pause(partitions);
        paused.addAll(partitions);
      }
    }
  }

  @Override
  public void close() {
    running = false;
    if (jobs != null) {
      jobs.wakeup();
    }
    try {
      if (!stopped.await(30, TimeUnit.SECONDS)) {
        LOG.warn("dispatcher {} did not stop within 30 s", instanceId);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c != null) {
      try {
        c.close();
      } catch (Exception e) {
        LOG.debug("close failed", e);
      }
    }
  }
}
