package io.promptfleet.worker.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.kafka.KafkaClients;
import io.promptfleet.common.kafka.TopicAdmin;
import io.promptfleet.kafka.embedded.KafkaTestSupport;
import io.promptfleet.kafka.embedded.SharedKafka;
import io.promptfleet.simulator.SimulatorOptions;
import io.promptfleet.worker.WorkerOptions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The assignments topic's partitions follow the keys' concurrency, the workers' share group starts them at the earliest
 * offset, and a running fleet uses partitions added.
 */
class AssignmentTopicIT {
  private WorkerHarness h;

  @AfterEach
  void stop() throws Exception {
    if (h != null) {
      h.close();
    }
  }

  /** The topic's partition count, asked until the broker's metadata has the topic (just after it was created). */
  private int partitions(FleetConfig config) throws Exception {
    String topic = config.topics().assignments();
    try (Admin admin = Admin.create(KafkaClients.admin(config.kafka(), "it-admin"))) {
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (true) {
        try {
          return admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic)
              .partitions().size();
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > until) {
            throw e;
          }
          Thread.sleep(50);
        }
      }
    }
  }

  /**
   * The broker starts a share partition at the offset its copy of the group's {@code share.auto.offset.reset} says
   * when a member first fetches it; without {@code earliest} there yet, the partition starts at its latest offset and
   * an assignment already in it is never delivered (Http2IT's warm-up job, in two forks). So from the moment the
   * assignments topic exists on the broker, the broker must show the group's {@code earliest}: watched here, as fast
   * as the broker answers, while the fleet's topics are created.
   */
  @Test
  void shouldHaveTheShareGroupStartAtTheEarliestOffsetBeforeTheAssignmentsTopicExists() throws Exception {
    String prefix = KafkaTestSupport.uniqueName("w");
    FleetConfig config = ConfigLoader.parse("""
        kafka: {bootstrap_servers: "%s"}
        topics: {prefix: %s, partitions: 1}
        providers: {sim: {base_url: "http://127.0.0.1:9/v1"}}
        keys: {k1: {provider: sim, secret_env: PF_UNUSED, max_concurrency: 16000}}
        models: {sim: {routes: [{provider: sim, model: sim}]}}
        worker: {share_group: %s-workers}
        """.formatted(SharedKafka.bootstrapServers(), prefix, prefix), Map.of(), new Properties());
    String topic = config.topics().assignments();
    ConfigResource group = new ConfigResource(ConfigResource.Type.GROUP, config.worker().shareGroup());
    CompletableFuture<String> resetWhenTopicAppeared;
    try (Admin admin = Admin.create(KafkaClients.admin(config.kafka(), "it-watch"))) {
      resetWhenTopicAppeared = CompletableFuture.supplyAsync(() -> {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        try {
          while (System.nanoTime() < until) {
            if (admin.listTopics().names().get(10, TimeUnit.SECONDS).contains(topic)) {
              var reset = admin.describeConfigs(List.of(group)).all().get(10, TimeUnit.SECONDS).get(group)
                  .get("share.auto.offset.reset");
              return reset == null ? "(not set)" : reset.value();
            }
          }
          return "(the topic never appeared)";
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      TopicAdmin.ensureFleetTopics(config);
      assertThat(partitions(config)).as("16,000 streams of key concurrency").isEqualTo(32);
      assertThat(resetWhenTopicAppeared.get(60, TimeUnit.SECONDS))
          .as("the group's share.auto.offset.reset on the broker when the assignments topic appeared")
          .isEqualTo("earliest");
    }
  }

  @Test
  void shouldGrowTheAssignmentsTopicWhenKeysGrowAndRunWhatLandsOnTheNewPartitions() throws Exception {
    h = WorkerHarness.start(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0), "",
        "slots: 4, lanes: 2", Map.of());
    assertThat(partitions(h.config)).as("64 streams of key concurrency: one partition").isEqualTo(1);
    h.addWorker(WorkerOptions.defaults());

    FleetConfig grown = ConfigLoader.parse(h.yaml.replace("max_concurrency: 64", "max_concurrency: 1200"), Map.of(),
        new Properties());
    TopicAdmin.ensureFleetTopics(grown);
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (partitions(h.config) != 3 && System.nanoTime() < until) {
      Thread.sleep(50); // the broker's metadata catches up with the new partitions
    }
    assertThat(partitions(h.config)).as("1,200 streams: three partitions").isEqualTo(3);

    String jobId = h.jobId();
    h.sendTo(2, h.assignment(jobId, "on a new partition", 1));
    assertThat(h.awaitResult(jobId, Duration.ofSeconds(30)).status()).isEqualTo(JobStatus.SUCCEEDED);
  }
}
