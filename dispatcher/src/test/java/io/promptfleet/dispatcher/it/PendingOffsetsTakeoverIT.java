package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.kafka.KafkaClients;
import io.promptfleet.dispatcher.DispatcherService;
import io.promptfleet.simulator.SimulatorOptions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * The active dispatcher dies between its transaction's offsets and its commit (a kill -9 mid-round): the group
 * coordinator holds those offsets as pending, and a consumer reading committed offsets (read_committed asks for
 * stable ones) waits until that transaction ends. Its transactional id is the group's, so the successor's producer
 * aborts it at once; the successor must fence before it reads its partitions' committed offsets, not after. (Read in
 * the rebalance listener, before the producer existed, the read waited for the dead transaction's timeout: the
 * fault suite's dispatcher-kill took 38-43 s instead of 6-12 s whenever the kill fell in that window.)
 */
class PendingOffsetsTakeoverIT {

  @Test
  void shouldTakeOverAtOnceWhenThePredecessorDiedWithItsOffsetsPending() throws Exception {
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0)
        .withDefaultCompletionTokens(3), Map.of("k1", "{max_concurrency: 2}"), """
        models:
          sim:
            routes:
              - {provider: sim, model: sim}
        """)) {
      String topic = fleet.config.topics().jobsNormal();
      fleet.produce(topic, "j0", fleet.job("j0", "sim", "hi", 8));
      fleet.flush();
      String group = fleet.config.dispatcher().groupId();
      Map<String, Object> props = KafkaClients.transactionalProducer(fleet.config.kafka(), fleet.prefix + "-dead",
          group);
      props.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 120_000); // it would not end by itself during the test
      try (KafkaProducer<String, byte[]> dead = new KafkaProducer<>(props)) {
        dead.initTransactions();
        dead.beginTransaction();
        dead.sendOffsetsToTransaction(Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(0)),
            new ConsumerGroupMetadata(group));
        // no commit and no abort: the predecessor is gone with its offsets pending at the group coordinator

        long t0 = System.nanoTime();
        DispatcherService successor = fleet.startDispatcher("successor");
        Fleet.awaitActive(successor, Duration.ofSeconds(25));
        long activeMs = (System.nanoTime() - t0) / 1_000_000;
        fleet.startWorkers(1);
        Map<String, List<Result>> results = fleet.awaitResults(1, Duration.ofSeconds(30));
        assertThat(results).as("active after %d ms", activeMs).containsOnlyKeys("j0");
        assertThat(results.get("j0")).singleElement()
            .satisfies(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED));
      }
    }
  }
}
