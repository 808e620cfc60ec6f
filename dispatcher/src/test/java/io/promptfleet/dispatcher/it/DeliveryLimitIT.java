package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.kafka.KafkaClients;
import io.promptfleet.dispatcher.DispatcherService;
import io.promptfleet.kafka.embedded.KafkaTestSupport;
import io.promptfleet.simulator.SimulatorOptions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.junit.jupiter.api.Test;

/**
 * Guarantee 1 past the share group's delivery limit: a "worker" that hands every assignment back (as a crashing
 * worker, or one that cannot publish, does) makes the broker archive it to the group's dead-letter queue after
 * {@code share.delivery.count.limit} deliveries, and the dispatcher answers the job exactly once with
 * failed/delivery_limit and releases its lease: live, and after a failover (the new dispatcher answers what was
 * archived while no dispatcher ran, and not again what its predecessor answered).
 */
class DeliveryLimitIT {

  @Test
  void shouldAnswerAnArchivedAssignmentOnceAndReleaseItsLeaseAcrossAFailover() throws Exception {
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults(), Map.of("k", "{max_concurrency: 2}"), """
        models:
          sim:
            routes:
              - {provider: sim, model: sim}
        """)) {
      KafkaTestSupport.alterGroupConfigs(fleet.config.kafka().bootstrapServers(), fleet.config.worker().shareGroup(),
          Map.of("share.delivery.count.limit", "2"));
      var t = fleet.config.topics();
      DispatcherService d1 = fleet.startDispatcher("d1");
      Fleet.awaitActive(d1, Duration.ofSeconds(60));
      AtomicBoolean handBack = new AtomicBoolean(true);
      AtomicBoolean stop = new AtomicBoolean();
      Map<String, AtomicInteger> deliveries = new ConcurrentHashMap<>();
      Thread releaser = new Thread(() -> {
        try (KafkaShareConsumer<String, byte[]> c = new KafkaShareConsumer<>(KafkaClients.shareConsumer(
            fleet.config.kafka(), fleet.prefix + "-releaser", fleet.config.worker().shareGroup(), 10))) {
          c.subscribe(List.of(t.assignments()));
          while (!stop.get()) {
            if (!handBack.get()) {
              Thread.sleep(20);
              continue;
            }
            var recs = c.poll(Duration.ofMillis(100));
            for (var r : recs) {
              deliveries.computeIfAbsent(r.key(), k -> new AtomicInteger()).incrementAndGet();
              c.acknowledge(r, AcknowledgeType.RELEASE);
            }
            if (!recs.isEmpty()) {
              c.commitSync();
            }
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "releasing-worker");
      releaser.start();
      try {
        // Live: archived while d1 is active.
        fleet.produce(t.jobsNormal(), "a", fleet.job("a", "sim", "hi", 8));
        fleet.flush();
        Map<String, List<Result>> results = fleet.awaitResults(1, Duration.ofSeconds(30));
        assertFailedOnce(results, "a");
        assertThat(deliveries.get("a")).hasValue(2);
        awaitNoLease(d1);

        // Dispatched by d1, archived while no dispatcher runs: the next active one answers it when it takes over.
        handBack.set(false);
        fleet.produce(t.jobsNormal(), "b", fleet.job("b", "sim", "hi", 8));
        fleet.flush();
        assertThat(fleet.assignments(2, Duration.ofSeconds(30))).hasSize(2);
        d1.close();
        handBack.set(true);
        long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while ((deliveries.get("b") == null || deliveries.get("b").get() < 2) && System.nanoTime() < until) {
          Thread.sleep(20);
        }
        assertThat(deliveries.get("b")).hasValue(2);
        DispatcherService d2 = fleet.startDispatcher("d2");
        Fleet.awaitActive(d2, Duration.ofSeconds(60));
        results = fleet.awaitResults(2, Duration.ofSeconds(30));
        assertFailedOnce(results, "b");
        awaitNoLease(d2);
        Thread.sleep(1_000); // a second answer for "a" would be in the first transaction after the takeover
        results = fleet.awaitResults(3, Duration.ofSeconds(1));
        assertThat(results.get("a")).as("a failover does not answer an archived assignment twice").hasSize(1);
        assertThat(results.get("b")).hasSize(1);
        assertThat(d2.dispatcher().failure()).isNull();
      } finally {
        stop.set(true);
        releaser.join(10_000);
      }
    }
  }

  private static void assertFailedOnce(Map<String, List<Result>> results, String jobId) {
    assertThat(results.get(jobId)).as(jobId).singleElement().satisfies(r -> {
      assertThat(r.status()).isEqualTo(JobStatus.FAILED);
      assertThat(r.error().code()).isEqualTo(ErrorCodes.DELIVERY_LIMIT);
      assertThat(r.error().message()).contains("delivered 2 time(s) without an answer");
      assertThat(r.attempts()).isEqualTo(2);
    });
  }

  /** The key's lease is released: the status snapshot (published every 500 ms) shows nothing in flight. */
  private static void awaitNoLease(DispatcherService d) throws InterruptedException {
    long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    int inFlight = -1;
    while (System.nanoTime() < until) {
      var snapshot = d.dispatcher().status();
      if (snapshot.dispatcher().active()) {
        inFlight = snapshot.keys().stream().filter(k -> k.name().equals("k")).findFirst().orElseThrow().inFlight();
        if (inFlight == 0) {
          return;
        }
      }
      Thread.sleep(100);
    }
    throw new AssertionError("key k still holds " + inFlight + " lease(s)");
  }
}
