package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.kafka.KafkaClients;
import io.promptfleet.dispatcher.Dispatcher;
import io.promptfleet.dispatcher.DispatcherService;
import io.promptfleet.simulator.SimulatorOptions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.common.GroupState;
import org.junit.jupiter.api.Test;

/**
 * Standby dispatchers join and leave the group while the active one dispatches a steady load: the active one keeps
 * its job partitions throughout (cooperative rebalances, {@code SingleActiveAssignor}): it never stands by, takes
 * over no second time and writes every assignment in one term (one lease-id prefix). With the EAGER protocol it
 * revoked everything at each rebalance, stood by ("lost every job partition") and took over again 0.4-1 s later, a
 * new term each time a standby started or stopped. Closing the active one still hands everything to a standby.
 */
class StandbyJoinIT {

  @Test
  void shouldKeepTheActiveDispatcherAndItsTermWhileStandbysJoinAndLeave() throws Exception {
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0)
        .withDefaultCompletionTokens(3), Map.of("k1", "{max_concurrency: 8}"), """
        models:
          sim:
            routes:
              - {provider: sim, model: sim}
        dispatcher:
          session_timeout_ms: 6000
        """)) {
      DispatcherService first = fleet.startDispatcher("a");
      Fleet.awaitActive(first, Duration.ofSeconds(60));
      fleet.startWorkers(1);
      Dispatcher.TakeoverTimes term = first.dispatcher().lastTakeover();
      String topic = fleet.config.topics().jobsNormal();
      AtomicBoolean stop = new AtomicBoolean();
      AtomicInteger produced = new AtomicInteger();
      AtomicInteger inactiveSamples = new AtomicInteger();
      Thread load = new Thread(() -> {
        while (!stop.get()) {
          String id = "j" + produced.get();
          fleet.produce(topic, id, fleet.job(id, "sim", "hi", 8));
          produced.incrementAndGet();
          sleep(25);
        }
      }, "load");
      Thread watch = new Thread(() -> {
        while (!stop.get()) {
          if (!first.dispatcher().isActive()) {
            inactiveSamples.incrementAndGet();
          }
          sleep(5);
        }
      }, "watch");
      load.start();
      watch.start();
      DispatcherService joined;
      try {
        Thread.sleep(1_000);
        DispatcherService second = fleet.startDispatcher("b");
        awaitMembers(fleet, 2);
        Thread.sleep(1_500); // the eager rebalance's active stood by and came back within 0.4-1 s of it
        joined = fleet.startDispatcher("c");
        awaitMembers(fleet, 3);
        Thread.sleep(1_500);
        second.close(); // a standby leaving
        awaitMembers(fleet, 2);
        Thread.sleep(1_500);
      } finally {
        stop.set(true);
        load.join();
        watch.join();
        fleet.flush();
      }
      int jobs = produced.get();
      assertThat(inactiveSamples.get()).as("samples of the active dispatcher not active while standbys joined and left")
          .isZero();
      assertThat(first.dispatcher().lastTakeover()).as("no second takeover (a new term)").isSameAs(term);
      assertThat(joined.dispatcher().isActive()).as("the standby holds nothing").isFalse();
      Map<String, List<Result>> results = fleet.awaitResults(jobs, Duration.ofSeconds(60));
      assertThat(results).hasSize(jobs);
      assertThat(results.values()).allSatisfy(rs -> assertThat(rs).as("exactly one terminal result")
          .singleElement().satisfies(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED)));
      List<Assignment> assignments = fleet.assignments(jobs, Duration.ofSeconds(30));
      assertThat(terms(assignments)).as("every assignment of one term (lease-id prefix)").hasSize(1);

      first.close(); // the active one leaves: the standby takes everything
      Fleet.awaitActive(joined, Duration.ofSeconds(30));
      fleet.produce(topic, "after", fleet.job("after", "sim", "hi", 8));
      fleet.flush();
      assertThat(fleet.awaitResults(jobs + 1, Duration.ofSeconds(60)).get("after")).as("answered after the handover")
          .singleElement().satisfies(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED));
      assertThat(terms(fleet.assignments(jobs + 1, Duration.ofSeconds(30)))).as("the successor's term").hasSize(2);
    }
  }

  /** The lease-id prefixes (one per term) of the assignments. */
  private static Set<String> terms(List<Assignment> assignments) {
    return assignments.stream().map(a -> a.leaseId().substring(0, a.leaseId().indexOf('-') + 1))
        .collect(Collectors.toSet());
  }

  /** Waits until the dispatchers' group is stable with {@code n} members. */
  private static void awaitMembers(Fleet fleet, int n) throws Exception {
    String group = fleet.config.dispatcher().groupId();
    long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    try (Admin admin = Admin.create(KafkaClients.admin(fleet.config.kafka(), fleet.prefix + "-it-admin"))) {
      while (System.nanoTime() < until) {
        ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
        if (d.members().size() == n && d.groupState() == GroupState.STABLE) {
          return;
        }
        Thread.sleep(100);
      }
    }
    throw new AssertionError("group " + group + " not stable with " + n + " members within 60 s");
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
