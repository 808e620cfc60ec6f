package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.dispatcher.DispatcherService;
import io.promptfleet.simulator.Fault;
import io.promptfleet.simulator.SimulatorOptions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Two dispatchers of one group: the first (in its own JVM) is active, the second stands by with no partitions.
 * The active one is killed with SIGKILL mid-run; the standby takes over within seconds (session timeout), fences
 * the dead one's transaction, rebuilds the in-flight leases from Kafka, and goes on. Every job ends with exactly
 * one terminal result, and no key went over its concurrency at the provider, before, during or after.
 */
class FailoverIT {

  @Test
  void shouldTakeOverAfterKillNineWithOneResultPerJobAndNoKeyOverItsConcurrency() throws Exception {
    Map<String, String> keys = new LinkedHashMap<>();
    keys.put("k1", "{max_concurrency: 3}");
    keys.put("k2", "{max_concurrency: 5}");
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(50).withTokensPerSecond(0)
        .withDefaultCompletionTokens(4), keys, """
        models:
          sim:
            routes:
              - {provider: sim, model: sim}
        dispatcher:
          session_timeout_ms: 6000
          breaker: {slow_call_ms: 60000}   # the 12 s streams are on purpose, not a rollback trigger
        """)) {
      try (DispatcherChild child = DispatcherChild.launch(fleet, "child", Duration.ofSeconds(90))) {
        DispatcherService standby = fleet.startDispatcher("standby");
        fleet.startWorkers(1);
        // Eight long streams fill both keys (3 + 5) and are still running when the active dispatcher dies.
        for (int i = 0; i < 8; i++) {
          fleet.produce(fleet.config.topics().jobsNormal(), "long" + i,
              fleet.job("long" + i, "sim", "long " + Fault.slow(12_000, 0).toDirective(), 8));
        }
        fleet.flush();
        assertThat(fleet.assignments(8, Duration.ofSeconds(60))).hasSize(8);
        int jobs = 200;
        for (int i = 0; i < jobs; i++) {
          fleet.produce(fleet.config.topics().jobsNormal(), "j" + i, fleet.job("j" + i, "sim", "hi " + i, 8));
        }
        fleet.flush();
        Thread.sleep(500);
        assertThat(standby.dispatcher().isActive()).as("the standby holds nothing while the active one lives")
            .isFalse();

        child.kill();

        Map<String, List<Result>> results = fleet.awaitResults(jobs + 8, Duration.ofSeconds(120));
        assertThat(standby.dispatcher().isActive()).isTrue();
        assertThat(results).hasSize(jobs + 8);
        assertThat(results.values()).allSatisfy(rs -> assertThat(rs).as("exactly one terminal result")
            .singleElement().satisfies(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED)));
        assertThat(fleet.sim.stats().maxConcurrentRequests(fleet.auth("k1"))).as("k1 at the provider")
            .isBetween(1, 3);
        assertThat(fleet.sim.stats().maxConcurrentRequests(fleet.auth("k2"))).as("k2 at the provider")
            .isBetween(1, 5);
        assertThat(standby.dispatcher().lastTakeover()).as("the standby followed the active one's state snapshots")
            .satisfies(t -> assertThat(t.fromSnapshot()).isTrue(), t -> assertThat(t.followed()).isTrue());
        String metrics = Fleet.scrape(standby);
        assertThat(metrics).as("the long streams' leases were rebuilt from Kafka")
            .containsPattern("promptfleet_dispatcher_leases_rebuilt_total\\{[^}]*} 8\\.0");
      }
    }
  }
}
