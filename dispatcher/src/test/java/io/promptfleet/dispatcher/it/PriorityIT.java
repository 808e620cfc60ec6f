package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.Priority;
import io.promptfleet.simulator.SimulatorOptions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * With 20,000 low jobs queued in Kafka, a burst of high jobs still starts within a few dispatch cycles (a bounded
 * number of low assignments go between a high job's arrival and its own assignment), and low jobs still progress
 * while high work is waiting (weighted, not strict, priority).
 */
class PriorityIT {

  @Test
  void shouldStartHighJobsWithinAFewCyclesBehindTwentyThousandLowJobsWhileLowStillProgresses() throws Exception {
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(30).withTokensPerSecond(0)
        .withDefaultCompletionTokens(2), Map.of("k", "{max_concurrency: 8, requests_per_minute: 10000000}"), """
        models:
          sim:
            routes:
              - {provider: sim, model: sim, max_tokens_cap: 64}
        """)) {
      int low = 20_000;
      String lowTopic = fleet.config.topics().jobsLow();
      for (int i = 0; i < low; i++) {
        fleet.produce(lowTopic, "low-" + i, fleet.job("low-" + i, "sim", "l", 4));
      }
      fleet.flush();
      fleet.startDispatcher("d1");
      fleet.startWorkers(1);
      // Low work flows.
      assertThat(fleet.assignments(200, Duration.ofSeconds(60))).hasSizeGreaterThanOrEqualTo(200);

      int high = 300;
      for (int i = 0; i < high; i++) {
        fleet.produce(fleet.config.topics().jobsHigh(), "high-" + i, fleet.job("high-" + i, "sim", "h", 4));
      }
      fleet.flush();
      List<Assignment> all = fleet.readUntil(fleet.config.topics().assignments(), Duration.ofSeconds(90),
          rs -> rs.stream().filter(r -> r.key().startsWith("high-")).count() >= high).stream()
          .map(r -> Json.read(r.value(), Assignment.class))
          .sorted((a, b) -> a.dispatchedAt().compareTo(b.dispatchedAt())).toList();

      long highEnqueued = all.stream().filter(a -> a.priority() == Priority.HIGH)
          .mapToLong(a -> a.enqueuedAt().toEpochMilli()).min().orElseThrow();
      int firstHigh = -1;
      int lastHigh = -1;
      for (int i = 0; i < all.size(); i++) {
        if (all.get(i).priority() == Priority.HIGH) {
          firstHigh = firstHigh < 0 ? i : firstHigh;
          lastHigh = i;
        }
      }
      long lowBetweenArrivalAndFirstHigh = all.subList(0, firstHigh).stream()
          .filter(a -> a.dispatchedAt().toEpochMilli() >= highEnqueued).count();
      long lowDuringHighBurst = all.subList(firstHigh, lastHigh + 1).stream()
          .filter(a -> a.priority() == Priority.LOW).count();
      assertThat(lowBetweenArrivalAndFirstHigh).as("low assignments between the first high job's arrival and its "
          + "start (a few dispatch cycles of an 8-stream key)").isLessThanOrEqualTo(40);
      assertThat(lowDuringHighBurst).as("low jobs progress during the high burst (weights 8:1)")
          .isBetween(high / 9L / 2, high / 2L);
    }
  }
}
