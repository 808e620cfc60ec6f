package io.promptfleet.dispatcher;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.dispatcher.intake.Inbound;
import io.promptfleet.dispatcher.intake.AllTopicsExist;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import io.promptfleet.dispatcher.transaction.Outbound;
import io.promptfleet.dispatcher.transaction.RecordSink;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warms a standby dispatcher's code for the moment it takes over: it runs synthetic jobs through scratch cores of
 * its own (parse, token estimate, admission, scheduling, the transaction's records and a state snapshot, all
 * discarded), so the JIT has compiled the dispatch path before the first real round needs it. Nothing reaches Kafka,
 * the real core, its metrics or its keys.
 *
 * <p>Why: a standby's JVM has never dispatched. Measured with 10,000 leases in flight and 4,000 jobs waiting
 * (bench/dispatcher {@code takeover}, before this class): its first round after the takeover (the first poll's
 * jobs parsed and estimated, then the first transaction with a 10,000-lease snapshot) took 1.3 to 2.8 s of a
 * 5.2 to 7.2 s takeover, in interpreted and first-tier code. Off by default ({@code dispatcher.standby_warmup_jobs}
 * 0): with the standby following the state topic ({@code StandbyState}), a quiet host's takeover took 3.3-4.8 s with
 * it and 3.5-3.6 s without; on a saturated host one pair showed the first round halved (0.8 against 1.7 s).
 *
 * <p>Runs once, on its own low-priority daemon thread, when the dispatcher has stood by for
 * {@link #STANDING_BY_MS} (a lone dispatcher becomes active at once and never pays for it); {@link #stop} ends it
 * at its next job (at a takeover, so it never competes with the real first round).
 */
final class StandbyWarmup {
  private static final Logger LOG = LoggerFactory.getLogger(StandbyWarmup.class);

  /** How long a dispatcher stands by before it warms up. */
  static final long STANDING_BY_MS = 5_000;
  /** Jobs per scratch core (a fresh term with empty keys), in one round. */
  static final int JOBS_PER_ROUND = 1_000;

  private final FleetConfig config;
  private final String instanceId;
  private volatile boolean stopped;
  private Thread thread;

  StandbyWarmup(FleetConfig config, String instanceId) {
    this.config = config;
    this.instanceId = instanceId;
  }

  /** Starts the warm-up thread (once; not at all when {@code dispatcher.standby_warmup_jobs} is 0). */
  void start() {
    int jobs = config.dispatcher().standbyWarmupJobs();
    if (thread != null || jobs == 0) {
      return;
    }
    int rounds = (jobs + JOBS_PER_ROUND - 1) / JOBS_PER_ROUND;
    thread = new Thread(() -> {
      long t0 = System.nanoTime();
      try {
        long records = run(rounds, Math.min(jobs, JOBS_PER_ROUND));
        LOG.info("dispatcher {} {} its dispatch path while standing by: {} records of synthetic jobs discarded, "
            + "{} ms", instanceId, stopped ? "stopped warming up (a takeover)" : "warmed up", records,
            (System.nanoTime() - t0) / 1_000_000);
      } catch (RuntimeException e) {
        LOG.warn("dispatcher {}: the standby warm-up failed (the takeover will run on cold code): {}", instanceId,
            e.toString());
      }
    }, "pf-dispatcher-warmup");
    thread.setDaemon(true);
    thread.setPriority(Thread.MIN_PRIORITY);
    thread.start();
  }

  /** Ends the warm-up at its next job. */
  void stop() {
    stopped = true;
  }

  /**
   * Runs {@code rounds} scratch cores of {@code jobs} synthetic jobs each, spread over the configured models; returns
   * how many records their transactions would have written (assignments, answers, snapshots).
   */
  long run(int rounds, int jobs) {
    List<String> models = new ArrayList<>(config.models().keySet());
    models.replaceAll(m -> "*".equals(m) ? "warmup-model" : m);
    if (models.isEmpty()) {
      models.add("warmup-model");
    }
    long records = 0;
    long now = System.currentTimeMillis();
    for (int round = 0; round < rounds && !stopped; round++) {
      DispatcherCore core = new DispatcherCore(config, new SimpleMeterRegistry(), Clock.systemUTC(),
          () -> ThreadLocalRandom.current().nextDouble(), instanceId + "-warmup", "pf-warmup");
      try {
        records += round(core, round, jobs, models, now);
      } finally {
        core.close(); // its batcher's thread
      }
    }
    return records;
  }

  /** One scratch core's round: its jobs, settle, the transaction's records counted and dropped. */
  private long round(DispatcherCore core, int round, int jobs, List<String> models, long now) {
    String topic = config.topics().jobsNormal();
    core.begin("warmup" + round + "-", new AllTopicsExist(), null, now).finish();
    for (int i = 0; i < jobs; i++) {
      if (stopped) {
        return 0; // a takeover: the CPU is the real core's now
      }
      String id = "warmup-" + round + "-" + i;
      String job = "{\"job_id\":\"" + id + "\",\"model\":\"" + models.get(i % models.size())
          + "\",\"max_tokens\":64,\"messages\":[{\"role\":\"system\",\"content\":\"You answer briefly.\"},"
          + "{\"role\":\"user\",\"content\":\"Summarise request " + i + " of round " + round
          + " in one sentence, please.\"}]}";
      core.job(new Inbound(topic, i % 4, i, now, id, job.getBytes(StandardCharsets.UTF_8)), now);
    }
    core.settle(now, NO_PARTITIONS);
    Counting sink = new Counting();
    core.write(sink, now, Map::of);
    core.committed(core.offsetsToCommit());
    return sink.records;
  }

  /** A consumer that pauses nothing and stands nowhere. */
  private static final JobPartitions NO_PARTITIONS = new JobPartitions() {
    @Override
    public void pause(Lane lane) {}

    @Override
    public void pauseAll() {}

    @Override
    public void resume(Lane lane) {}

    @Override
    public void pause(TopicPartition tp) {}

    @Override
    public void resume(TopicPartition tp) {}

    @Override
    public long position(TopicPartition tp) {
      return -1;
    }
  };

  /** Counts the records a transaction would send, and drops them. */
  private static final class Counting implements RecordSink {
    long records;

    @Override
    public void begin() {}

    @Override
    public void send(Outbound record) {
      records++;
    }
  }
}
