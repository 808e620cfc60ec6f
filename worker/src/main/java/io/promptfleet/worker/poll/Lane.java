package io.promptfleet.worker.poll;

import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import io.promptfleet.worker.arrival.ArrivalRule;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicIdPartition;
import org.apache.kafka.common.errors.GroupMaxSizeReachedException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One share consumer and the named thread that owns it.
 *
 * <p>Share consumers in explicit mode impose a batch discipline (measured on 4.4.0, see embedded-kafka's
 * ShareRenewTest): {@code poll()} throws while any record of the last batch is unacknowledged, and after
 * RENEW + commit the next poll returns the renewed records again and nothing new. So a lane acquires up to
 * {@code batch} assignments with one poll, hands each to its {@link LaneListener}, and acquires again only when the
 * whole batch is acknowledged. While a batch runs, when the first record's renewal is due the lane RENEWs every held
 * record, commits at once (a renewal left to the next poll goes out late), and polls to get them back; an
 * acknowledgement that arrives in that window is applied as soon as the record is back. A renewed record that does
 * not come back within {@link #LOST_AFTER} is reported lost (its lock expired; another worker may run it). The
 * bookkeeping of all this is {@link HeldBatch}; this class runs the consumer.
 *
 * <p>The price of this discipline: a lane that holds one long stream takes no new work until it ends, however many
 * of its batch are done, and with a backlog a poll may return fewer records than the batch (one partition's
 * fetch). A worker therefore fills its slots only approximately (measured: 9,150 of 10,000 slots in 16 lanes, see
 * bench/worker/README.md); more lanes with smaller batches narrow the gap at the cost of more consumers.
 *
 * <p>A lane can be <em>parked</em> ({@link #park}): once it holds nothing it leaves the share group (closes its
 * consumer) and stays out, costing neither the broker nor itself a fetch or a heartbeat, until {@link #unpark}, when
 * it joins with a new consumer. {@link LaneParking} parks an idle worker's surplus lanes and reopens them.
 *
 * <p>Other threads talk to the lane only through {@link #acknowledge}, {@link #stopPolling}, {@link #park},
 * {@link #unpark} and {@link #close}, which queue work for the lane thread or set flags. Thread-safe in that sense; the consumer is touched by the lane
 * thread only, and the listener is called there.
 */
public final class Lane implements LaneParking.Parkable {
  private static final Logger LOG = LoggerFactory.getLogger(Lane.class);
  /** How long a renewed record may take to come back from poll before the lane gives up on it. */
  static final Duration LOST_AFTER = Duration.ofSeconds(5);
  /** How long a lane whose consumer failed waits before it starts a new one. */
  static final Duration RESTART_DELAY = Duration.ofSeconds(1);
  /** How long a lane refused by a full share group waits before it tries with a new consumer. */
  static final Duration GROUP_FULL_RETRY = Duration.ofSeconds(30);
  /** How long it waits for the worker to stop the streams of the failed consumer's batch. */
  static final Duration HAND_BACK_WAIT = Duration.ofSeconds(10);
  /**
   * How long one poll for a new batch waits (200 ms before issue 13). A poll returns as soon as records are
   * acquired, so this is not a latency: it is how often an idle lane wakes (each poll also wakes the consumer's
   * network thread). {@link #close} wakes a lane out of its poll, so it is not how long a close takes either.
   */
  static final Duration IDLE_POLL = Duration.ofSeconds(1);

  private final String name;
  private final Map<String, Object> props;
  private final String topic;
  private final LaneListener listener;
  private final Clock clock;
  private final BlockingQueue<Ack> acks = new LinkedBlockingQueue<>();
  private final HeldBatch<ConsumerRecord<String, byte[]>> batch;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final Thread thread;
  private volatile boolean polling = true;
  /** Asked to leave the group once it holds nothing, and to stay out until unparked (cleared under parkMonitor). */
  private volatile boolean parkRequested;
  /** Out of the group by request: no consumer. Written by the lane thread. */
  private volatile boolean parked;
  private final Object parkMonitor = new Object();
  private volatile BooleanSupplier mayAcquire = () -> true;
  private volatile boolean running = true;
  private volatile boolean connected;
  private volatile long lastPollMillis;
  /** The share group's acquisition lock, as the consumer last reported it (0 before the first poll). */
  private volatile long lockTimeoutMs;
  /** Written by the lane thread; read by {@link #close} to wake it. */
  private volatile KafkaShareConsumer<String, byte[]> consumer;
  /** Made by {@link #checkRedeliveries}; used and closed by the lane thread. */
  private volatile AnsweredCheck answeredCheck;

  private record Ack(ConsumerRecord<String, byte[]> record, AcknowledgeType type) {}

  /**
   * @param renewAfterMax renew a still-running record at most this long after acquisition or its last renewal;
   *                      the lane renews sooner when the group's lock is shorter (at half the lock)
   * @param listener      told of acquired, renewed and lost records, on the lane thread
   */
  public Lane(String name, Map<String, Object> props, String topic, Duration renewAfterMax, Clock clock,
      LaneListener listener) {
    this.name = name;
    this.props = props;
    this.topic = topic;
    this.listener = listener;
    this.clock = clock;
    this.batch = new HeldBatch<>(Lane::key, (r, type) -> consumer.acknowledge(r, type), renewAfterMax, LOST_AFTER);
    this.thread = new Thread(this::run, name);
  }

  public void start() {
    thread.start();
  }

  /** Acknowledges a record this lane handed out; any thread. */
  public void acknowledge(ConsumerRecord<String, byte[]> record, AcknowledgeType type) {
    acks.add(new Ack(record, type));
  }

  /** Assignments acquired and not yet acknowledged. */
  public int held() {
    return batch.size();
  }

  /** True once the consumer has polled successfully and the lane has not failed since. */
  public boolean connected() {
    return connected;
  }

  /** The share group's acquisition lock in ms as the consumer reported it, 0 before its first poll. */
  public long lockTimeoutMs() {
    return lockTimeoutMs;
  }

  /** Wall-clock millis of the last poll that returned (0 before the first). */
  public long lastPollMillis() {
    return lastPollMillis;
  }

  /**
   * Acquires a new batch only while {@code condition} holds (checked before each poll, from the lane thread): the
   * worker holds its lanes back while the streams it has are still waiting to start (for connections), rather than
   * acquire assignments it could not start within their time budget.
   */
  public void acquireWhen(BooleanSupplier condition) {
    this.mayAcquire = condition;
  }

  /**
   * Before handing out a record delivered more than once, or a late copy (a first delivery dispatched more than
   * {@link ArrivalRule#LATE_COPY_AFTER_MS} ago: possibly a share partition's new leader's copy of one another worker
   * answered), look for the terminal record of its attempt ({@link AnsweredCheck}); one found goes to
   * {@link LaneListener#onAnswered} instead of being run again. Only records written that long ago are parsed for
   * the check (their CreateTime is their dispatch). Call before {@link #start}.
   *
   * @param consumerProps a plain consumer's properties (no group), read_committed
   * @param lookback      how far back the terminal record may be
   */
  public void checkRedeliveries(Map<String, Object> consumerProps, String retryTopic, Duration lookback) {
    this.answeredCheck = new AnsweredCheck(consumerProps, retryTopic, lookback, clock);
  }

  /** Stops acquiring new assignments; those in flight go on, and once it holds none the lane leaves the group. */
  public void stopPolling() {
    polling = false;
    wakeParked();
  }

  /**
   * Asks the lane to leave the share group once it holds nothing (at once if it holds nothing and is not in a poll,
   * else after the poll or when its batch is done) and to stay out until {@link #unpark}. Any thread.
   */
  @Override
  public void park() {
    parkRequested = true;
  }

  /** Takes back {@link #park}: a parked lane joins the group again with a new consumer. Any thread. */
  @Override
  public void unpark() {
    synchronized (parkMonitor) {
      parkRequested = false;
      parkMonitor.notifyAll();
    }
  }

  /** True while the lane is out of the group, or asked to leave it. */
  @Override
  public boolean parked() {
    return parked || parkRequested;
  }

  private void wakeParked() {
    synchronized (parkMonitor) {
      parkMonitor.notifyAll();
    }
  }

  /**
   * Stops the lane: waits up to {@code grace} for the records in flight to be acknowledged, then releases the rest
   * to the share group for another worker and closes the consumer.
   */
  public void close(Duration grace) {
    polling = false;
    long until = System.nanoTime() + grace.toNanos();
    while (batch.size() > 0 && System.nanoTime() < until) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    running = false; // the lane thread sees it after its ack wait (<= 50 ms), or at once in a poll (woken here)
    wakeParked();
    KafkaShareConsumer<String, byte[]> c = consumer;
    if (c != null) {
      c.wakeup(); // a poll throws WakeupException now; a wakeup that finds no poll is met in releaseAll's commit
    }
    try {
      if (!stopped.await(30, TimeUnit.SECONDS)) {
        LOG.warn("lane {} did not stop within 30 s", name);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    try {
      while (running && awaitUnparked()) {
        consumer = new KafkaShareConsumer<>(props);
        try {
          consumer.subscribe(List.of(topic));
          while (running && !parkDue()) {
            loop();
          }
          if (running) {
            leaveToPark();
          }
        } catch (WakeupException e) {
          running = false; // closing
        } catch (RuntimeException e) {
          if (!running) {
            LOG.error("lane {} failed while closing", name, e);
            break;
          }
          restartAfter(e);
        }
      }
    } finally {
      connected = false;
      releaseAll();
      if (answeredCheck != null) {
        answeredCheck.close();
      }
      stopped.countDown();
    }
  }

  /** Parked on request, holding nothing and with no acknowledgement left to send. */
  private boolean parkDue() {
    return parkRequested && batch.size() == 0 && acks.isEmpty();
  }

  /**
   * Leaves the share group as a closing lane does ({@link #releaseAll}: it holds nothing, so that commits and closes
   * the consumer; closing waits for the fetch it keeps outstanding, and a record that fetch acquired goes back to the
   * group with its delivery counted, as at {@link #stopPolling}).
   */
  private void leaveToPark() {
    parked = true;
    releaseAll();
    consumer = null;
    LOG.debug("lane {} parked: out of the share group until the worker needs it", name);
  }

  /**
   * Waits while the lane is parked; false when it is closing or stopped polling meanwhile (a parked lane that stops
   * polling has nothing to leave). Clears {@link #parked} when it may join again.
   */
  private boolean awaitUnparked() {
    if (!parked) {
      return true;
    }
    synchronized (parkMonitor) {
      while (running && polling && parkRequested) {
        try {
          parkMonitor.wait(1_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          running = false;
        }
      }
    }
    if (!running || !polling) {
      running = false;
      return false;
    }
    parked = false;
    LOG.debug("lane {} unparked: joining the share group", name);
    return true;
  }

  /**
   * The share consumer threw (seen on 4.4.0 when a renewal's commit failed while the share partition's leader died:
   * the next poll said "All records must be acknowledged in explicit acknowledgement mode"). The lane does not die
   * with it, which would leave the worker a lane short for good: the streams of its batch are handed back first (the
   * worker stops them, writes no result and acknowledges them), their acknowledgements are dropped, the consumer is
   * closed, and after {@link #RESTART_DELAY} a new consumer joins the share group. Handing back before closing: once
   * the old consumer is gone its records go to other workers, and a stream still running here would answer twice.
   */
  private void restartAfter(RuntimeException e) {
    connected = false;
    List<ConsumerRecord<String, byte[]>> held = batch.abandon();
    Duration delay = RESTART_DELAY;
    if (e instanceof GroupMaxSizeReachedException) {
      // Thrown once; the consumer then polls empty for good (ShareGroupSizeTest). A new one may find room later.
      delay = GROUP_FULL_RETRY;
      LOG.error("lane {}: THE WORKERS' SHARE GROUP IS FULL ({}): this lane takes no work; it tries again in {} s. "
          + "Every lane of every worker is one member: lower worker.lanes, or raise the broker's group.share.max.size "
          + "(default 200, at most 1000). See docs/SIZING.md", name, e.getMessage(), delay.toSeconds());
    } else {
      LOG.error("lane {}: its share consumer failed; handing back its {} assignments and starting a new consumer in "
          + "{} ms", name, held.size(), delay.toMillis(), e);
    }
    Set<Long> unacknowledged = new HashSet<>();
    for (ConsumerRecord<String, byte[]> r : held) {
      unacknowledged.add(key(r));
      listener.onLockLost(r, this);
    }
    long until = System.nanoTime() + HAND_BACK_WAIT.toNanos();
    try {
      while (!unacknowledged.isEmpty() && System.nanoTime() < until) {
        Ack a = acks.poll(50, TimeUnit.MILLISECONDS);
        if (a != null) {
          unacknowledged.remove(key(a.record()));
        }
      }
      acks.clear(); // for records the old consumer held: none may reach the new one
      if (!unacknowledged.isEmpty()) {
        LOG.warn("lane {}: {} handed-back assignments were not acknowledged within {} ms", name,
            unacknowledged.size(), HAND_BACK_WAIT.toMillis());
      }
      try {
        consumer.close(Duration.ofSeconds(5));
      } catch (RuntimeException closing) {
        LOG.debug("lane {}: closing the failed consumer: {}", name, closing.toString());
      }
      sleepWhileRunning(delay);
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
      running = false;
    }
  }

  private void sleepWhileRunning(Duration delay) throws InterruptedException {
    long until = System.nanoTime() + delay.toNanos();
    while (running && System.nanoTime() < until) {
      Thread.sleep(Math.min(100, Math.max(1, (until - System.nanoTime()) / 1_000_000)));
    }
  }

  private void loop() {
    applyAcks(0);
    switch (batch.next(clock.millis(), polling)) {
      // Stopped and holding nothing: leave the group now rather than at close. After a poll that returned nothing
      // the consumer keeps a fetch outstanding in the background; records it acquires would stay locked to this
      // lane (and count a delivery) until the consumer closed, up to the whole drain grace later, while other
      // workers sit idle. Measured: a handed-back stream came to the next worker as attempt 3, not 2.
      case LEAVE -> running = false;
      case POLL -> {
        if (!mayAcquire.getAsBoolean()) {
          applyAcks(50);
          return;
        }
        ConsumerRecords<String, byte[]> records = poll(IDLE_POLL);
        Integer lockMs = consumer.acquisitionLockTimeoutMs().orElse(null);
        batch.lockTimeout(lockMs);
        if (lockMs != null) {
          this.lockTimeoutMs = lockMs;
        }
        accept(records);
      }
      case REPOLL -> repoll();
      case RENEW -> renewAll();
      case AWAIT_ACKS -> applyAcks(50);
    }
  }

  /** Polls (which also sends the acknowledgements made so far). */
  private ConsumerRecords<String, byte[]> poll(Duration timeout) {
    ConsumerRecords<String, byte[]> records = consumer.poll(timeout);
    connected = true;
    lastPollMillis = clock.millis();
    return records;
  }

  private void accept(ConsumerRecords<String, byte[]> records) {
    List<ConsumerRecord<String, byte[]>> fresh = batch.polled(records, clock.millis());
    maybeCommit();
    if (!fresh.isEmpty()) {
      listener.onAcquired(fresh.size());
    }
    Map<ConsumerRecord<String, byte[]>, Answered> answered = Map.of();
    AnsweredCheck check = answeredCheck;
    if (check != null) {
      long lateBefore = clock.millis() - ArrivalRule.LATE_COPY_AFTER_MS;
      List<ConsumerRecord<String, byte[]>> again = fresh.stream()
          .filter(r -> r.deliveryCount().orElse((short) 1) > 1 || r.timestamp() < lateBefore).toList();
      if (!again.isEmpty()) {
        answered = check.answered(again);
      }
    }
    for (ConsumerRecord<String, byte[]> r : fresh) {
      Answered a = answered.get(r);
      if (a != null) {
        listener.onAnswered(r, this, a);
      } else {
        listener.onAssignment(r, this);
      }
    }
  }

  /** Applies the acknowledgements queued by other threads, waiting up to {@code waitMs} for the first. */
  private void applyAcks(long waitMs) {
    try {
      Ack a = waitMs > 0 ? acks.poll(waitMs, TimeUnit.MILLISECONDS) : acks.poll();
      while (a != null) {
        batch.acknowledge(a.record(), a.type());
        a = acks.poll();
      }
      maybeCommit();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      running = false;
    }
  }

  private void maybeCommit() {
    long now = clock.millis();
    if (batch.commitDue(now)) {
      batch.committed(now);
      consumer.commitAsync();
    }
  }

  /** RENEW every held record (poll may only run once the whole batch is acknowledged), commit at once. */
  private void renewAll() {
    listener.onRenewed(batch.renewAll(clock.millis()));
    Map<TopicIdPartition, Optional<KafkaException>> result = consumer.commitSync(Duration.ofSeconds(5));
    result.forEach((tp, err) -> err.ifPresent(e -> LOG.warn("lane {}: renewing assignments of {} failed: {}",
        name, tp, e.toString())));
  }

  /** After a renewal: poll until every renewed record is back, applying acks that arrived meanwhile. */
  private void repoll() {
    applyAcks(0);
    accept(poll(Duration.ofMillis(100)));
    for (ConsumerRecord<String, byte[]> r : batch.lost(clock.millis())) {
      LOG.warn("lane {}: assignment {}-{}@{} did not come back after RENEW; its lock is lost", name, r.topic(),
          r.partition(), r.offset());
      listener.onLockLost(r, this);
    }
  }

  private void releaseAll() {
    KafkaShareConsumer<String, byte[]> c = consumer;
    if (c == null) {
      return;
    }
    try {
      applyAcks(0);
      int n = batch.releaseAll();
      if (n > 0) {
        LOG.info("lane {} released {} unfinished assignments to the share group", name, n);
      }
      commitOnClose(c);
    } catch (RuntimeException e) {
      LOG.warn("lane {}: releasing on leaving the group failed (the broker reclaims them when the lock expires): {}",
          name, e.toString());
    } finally {
      c.close(Duration.ofSeconds(5));
    }
  }

  /** Commits at close; a wakeup from {@link #close} that found no poll to end is met here once, then it commits. */
  private static void commitOnClose(KafkaShareConsumer<String, byte[]> c) {
    try {
      c.commitSync(Duration.ofSeconds(5));
    } catch (WakeupException e) {
      c.commitSync(Duration.ofSeconds(5));
    }
  }

  private static long key(ConsumerRecord<String, byte[]> r) {
    return ((long) r.partition() << 48) ^ r.offset();
  }
}
