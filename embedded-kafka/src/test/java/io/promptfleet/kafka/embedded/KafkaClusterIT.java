package io.promptfleet.kafka.embedded;

import static io.promptfleet.kafka.embedded.TestClients.measure;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The three-node cluster in child JVMs: replicated like production (factor 3, min ISR 2, internal topics too),
 * writes with acks=all go on while one broker is SIGKILLed or SIGSTOPped, a restarted node catches up from its
 * own data directory, and close leaves no process behind.
 *
 * <p>Not in the CI suite (three broker JVMs, a restart and a pause cost 25-60 s on 2 cores; {@code
 * BrokerFailoverIT} covers start, kill, restart, leaderOf and awaitHealthy there): run it when changing
 * {@link KafkaCluster}, with {@code mvn -o -q -pl embedded-kafka verify -Dit.test=KafkaClusterIT
 * -Dkafka.cluster.it=true -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@EnabledIfSystemProperty(named = "kafka.cluster.it", matches = "true")
class KafkaClusterIT {

  @Test
  void shouldKeepAcceptingAcksAllWritesWhileOneBrokerIsKilledOrPausedAndHealAfterRestart() throws Exception {
    long t0 = System.nanoTime();
    KafkaCluster cluster = KafkaCluster.builder().start();
    List<Long> pids = new ArrayList<>();
    Path dir;
    try {
      measure("3-node cluster start -> registered ms", (System.nanoTime() - t0) / 1_000_000);
      for (int id : cluster.nodeIds()) {
        pids.add(cluster.pid(id));
        measure("node " + id + " RSS MiB after start", cluster.residentBytes(id) >> 20);
      }
      dir = cluster.dataDir(1).getParent();
      assertThat(cluster.nodeIds()).containsExactly(1, 2, 3);
      assertThat(cluster.bootstrapServers().split(",")).hasSize(3);

      String topic = KafkaTestSupport.uniqueName("cluster");
      TopicPartition tp = new TopicPartition(topic, 0);
      KafkaTestSupport.createTopics(cluster.bootstrapServers(), 1, topic);
      try (Admin admin = KafkaTestSupport.admin(cluster.bootstrapServers())) {
        var d = admin.describeTopics(List.of(topic)).allTopicNames().get(15, TimeUnit.SECONDS).get(topic);
        assertThat(d.partitions().get(0).replicas()).as("default.replication.factor").hasSize(3);
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        assertThat(admin.describeConfigs(List.of(r)).all().get(15, TimeUnit.SECONDS).get(r)
            .get("min.insync.replicas").value()).isEqualTo("2");
      }
      cluster.awaitHealthy(Duration.ofSeconds(30));

      try (KafkaProducer<String, String> producer = producer(cluster.bootstrapServers())) {
        send(producer, topic, 0, 10);
        int leader = cluster.leaderOf(tp).orElseThrow();

        long t1 = System.nanoTime();
        cluster.kill(leader);
        send(producer, topic, 10, 10);
        measure("kill -9 of the leader -> 10 acks=all writes ms", (System.nanoTime() - t1) / 1_000_000);
        assertThat(cluster.leaderOf(tp).orElseThrow()).as("a new leader").isNotEqualTo(leader);

        long t2 = System.nanoTime();
        cluster.restart(leader);
        cluster.awaitHealthy(Duration.ofSeconds(60));
        measure("restart -> healthy (every ISR complete) ms", (System.nanoTime() - t2) / 1_000_000);

        int paused = cluster.leaderOf(tp).orElseThrow();
        long t3 = System.nanoTime();
        cluster.pause(paused);
        assertThat(cluster.isRunning(paused)).isFalse();
        send(producer, topic, 20, 10);
        measure("SIGSTOP of the leader -> 10 acks=all writes ms", (System.nanoTime() - t3) / 1_000_000);
        cluster.resume(paused);
        cluster.awaitHealthy(Duration.ofSeconds(60));
      }
      List<ConsumerRecord<String, String>> got = TestClients.readAll(cluster.bootstrapServers(), topic,
          IsolationLevel.READ_COMMITTED.toString(), 30, Duration.ofSeconds(30));
      assertThat(got).extracting(ConsumerRecord::value).as("every acknowledged write, once, in order")
          .containsExactlyElementsOf(java.util.stream.IntStream.range(0, 30).mapToObj(i -> "v" + i).toList());
    } finally {
      cluster.close();
    }
    for (long pid : pids) {
      assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("node pid %d gone", pid)
          .isFalse();
    }
    assertThat(Files.exists(dir)).as("the cluster's temporary data directory is deleted").isFalse();
  }

  private static KafkaProducer<String, String> producer(String bootstrap) {
    Properties p = new Properties();
    p.putAll(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap, ProducerConfig.ACKS_CONFIG, "all",
        ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true", ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "60000",
        ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000",
        ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName(),
        ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName()));
    return new KafkaProducer<>(p);
  }

  private static void send(KafkaProducer<String, String> producer, String topic, int from, int n) throws Exception {
    List<java.util.concurrent.Future<?>> acks = new ArrayList<>();
    for (int i = from; i < from + n; i++) {
      acks.add(producer.send(new ProducerRecord<>(topic, 0, "k" + i, "v" + i)));
    }
    for (var a : acks) {
      a.get(60, TimeUnit.SECONDS);
    }
  }
}
