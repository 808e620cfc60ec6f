package io.promptfleet.dispatcher;

import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.dispatcher.ha.StateSnapshot;
import io.promptfleet.dispatcher.intake.Inbound;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a standby dispatcher keeps of the active one's state topic while it waits, so that a takeover reads only the
 * last moments of it: the newest complete state snapshot (parsed as it completes, so the parse and its code are warm
 * when needed) and the job-id journal, which it hands to the core's job-id window as it comes ({@code journal}).
 *
 * <p>A takeover without it read up to three snapshots' worth of parts and the whole dedupe window of the journal
 * after the active one's death: 0.8 to 3.4 s of the takeover with 10,000 leases in flight (bench/dispatcher
 * {@code takeover}). With it, {@link #catchUp} reads what was written since the last standby round.
 *
 * <p>Memory: the newest snapshot twice (its parts as bytes and parsed, ~150 bytes per lease each) and the part being
 * read; the journal goes to the window the active dispatcher would hold anyway.
 *
 * <p>Not thread-safe: owned by the dispatcher thread, like every client of the loop. Made when the dispatcher stands
 * by (at start, and after it lost its partitions, when the core forgot its job-id window) and closed when it becomes
 * the active one.
 */
final class StandbyState implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StandbyState.class);

  private final FleetConfig config;
  private final KafkaConsumer<String, byte[]> consumer;
  private final Consumer<Inbound> journal;
  private final StateSnapshot.Reader reader = new StateSnapshot.Reader();
  private TopicPartition snapshots;
  private TopicPartition ids;
  /** The newest complete snapshot, parsed; null: none yet. */
  private StateSnapshot newest;
  private long records;
  /** The dispatcher thread's time when it may try to start reading again after a failure (0: reading). */
  private long retryAtMs;

  StandbyState(FleetConfig config, String clientId, Consumer<Inbound> journal) {
    this.config = config;
    this.journal = journal;
    this.consumer = DispatcherKafka.rebuildConsumer(config, clientId + "-standby");
  }

  /**
   * A standby round: reads what the state topic has now, without waiting. The first call places the reads (the
   * snapshots from three snapshot intervals back, the journal from the dedupe window's start), which takes a few
   * requests; after a failure it tries again 5 s later.
   */
  void follow(long nowMs) {
    if (retryAtMs > nowMs) {
      return;
    }
    try {
      if (snapshots == null && !start(nowMs)) {
        retryAtMs = nowMs + 5_000;
        return;
      }
      for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ZERO)) {
        accept(r);
      }
      retryAtMs = 0;
    } catch (KafkaException | IllegalStateException e) {
      LOG.warn("standby: cannot read the dispatcher state topic {} now ({}); trying again in 5 s",
          config.topics().dispatcherState(), e.toString());
      snapshots = null;
      retryAtMs = nowMs + 5_000;
    }
  }

  /**
   * At a takeover: reads the state topic to its end from where the standby rounds left it and returns the newest
   * complete snapshot with the records read while standing by and now; null when the standby has not followed the
   * topic (never started, or it failed) or found no snapshot: the takeover then reads the topic itself
   * ({@link DispatcherKafka#readSnapshot}), and the journal again.
   */
  DispatcherKafka.StateRead catchUp() {
    if (snapshots == null || retryAtMs != 0) {
      return null;
    }
    try {
      records += DispatcherKafka.readToEnd(consumer, Map.of(snapshots, consumer.position(snapshots),
          ids, consumer.position(ids)), this::accept);
    } catch (KafkaException | IllegalStateException e) {
      LOG.warn("standby: cannot read the dispatcher state topic {} to its end ({}); reading it again",
          config.topics().dispatcherState(), e.toString());
      return null;
    }
    if (reader.unreadable() > 0) {
      LOG.warn("{} unreadable records in the snapshots of {}", reader.unreadable(), snapshots);
    }
    return newest == null ? null : new DispatcherKafka.StateRead(newest, records);
  }

  private boolean start(long nowMs) {
    var d = config.dispatcher();
    TopicPartition s = DispatcherKafka.stateTopicPartition(consumer, config, StateSnapshot.PARTITION);
    TopicPartition j = DispatcherKafka.stateTopicPartition(consumer, config, StateSnapshot.IDS_PARTITION);
    if (s == null || j == null) {
      return false;
    }
    Map<TopicPartition, Long> at = DispatcherKafka.from(consumer, List.of(s, j), Map.of(
        s, nowMs - 3 * d.stateSnapshotMs(), j, nowMs - d.dedupeWindowMs()));
    consumer.assign(List.of(s, j));
    at.forEach(consumer::seek);
    snapshots = s;
    ids = j;
    return true;
  }

  private void accept(ConsumerRecord<String, byte[]> r) {
    accept(DispatcherKafka.inbound(r));
  }

  private void accept(Inbound r) {
    records++;
    if (r.partition() == StateSnapshot.IDS_PARTITION) {
      journal.accept(r);
      return;
    }
    long before = reader.completed();
    reader.accept(r);
    if (reader.completed() != before) {
      StateSnapshot s = reader.newest();
      if (s != null) {
        newest = s;
      }
    }
  }

  @Override
  public void close() {
    DispatcherKafka.closeQuietly(consumer);
  }
}
