package io.promptfleet.kafka.embedded;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.promptfleet.kafka.embedded.TestClients.measure;
import static io.promptfleet.kafka.embedded.TestClients.produce;
import static io.promptfleet.kafka.embedded.TestClients.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EmbeddedKafkaTest {

    private static final String READ_UNCOMMITTED = IsolationLevel.READ_UNCOMMITTED.toString();

    @Test
    void startsOnAFreePortRoundTripsRecordsAndDeletesItsTempDirOnClose() {
        Path dataDir;
        long t0 = System.nanoTime();
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().port(0).start()) {
            measure("embedded broker start ms", (System.nanoTime() - t0) / 1_000_000);
            assertThat(kafka.isRunning()).isTrue();
            assertThat(kafka.port()).isPositive().isNotEqualTo(kafka.controllerPort());
            assertThat(kafka.bootstrapServers()).isEqualTo("127.0.0.1:" + kafka.port());
            dataDir = kafka.dataDir();
            assertThat(dataDir.resolve("server.properties")).isRegularFile();
            assertThat(dataDir.resolve("kraft-logs").resolve("meta.properties")).isRegularFile();

            String topic = KafkaTestSupport.uniqueName("roundtrip");
            KafkaTestSupport.createTopics(kafka.bootstrapServers(), 1, topic);
            KafkaTestSupport.createTopics(kafka.bootstrapServers(), 1, topic); // idempotent
            produce(kafka.bootstrapServers(), topic, "a", "b", "c");
            List<ConsumerRecord<String, String>> got =
                    readAll(kafka.bootstrapServers(), topic, READ_UNCOMMITTED, 3, Duration.ofSeconds(15));
            assertThat(got).extracting(ConsumerRecord::value).containsExactly("a", "b", "c");
            t0 = System.nanoTime();
        }
        measure("embedded broker close ms", (System.nanoTime() - t0) / 1_000_000);
        assertThat(dataDir).doesNotExist();
    }

    @Test
    void aDataDirGivenByTheCallerIsKeptAndABrokerStartedOnItAgainFindsTheRecords(@TempDir Path dir) {
        String topic = KafkaTestSupport.uniqueName("persist");
        String clusterId;
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().port(0).dataDir(dir).defaultPartitions(3).start()) {
            clusterId = kafka.clusterId();
            KafkaTestSupport.createTopics(kafka.bootstrapServers(), 1, topic);
            produce(kafka.bootstrapServers(), topic, "kept-1", "kept-2");
        }
        assertThat(dir.resolve("kraft-logs").resolve("meta.properties")).isRegularFile();

        // A new broker (new ports) on the same directory: same cluster, same data.
        try (EmbeddedKafka again = EmbeddedKafka.builder().port(0).dataDir(dir).start()) {
            assertThat(again.clusterId()).isEqualTo(clusterId);
            List<ConsumerRecord<String, String>> got =
                    readAll(again.bootstrapServers(), topic, READ_UNCOMMITTED, 2, Duration.ofSeconds(15));
            assertThat(got).extracting(ConsumerRecord::value).containsExactly("kept-1", "kept-2");
        }
        assertThat(dir).isDirectory();
    }

    @Test
    void aPortInUseFailsFastWithAMessageNamingThePort() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            EmbeddedKafka kafka = EmbeddedKafka.builder().port(port).build();
            long t0 = System.nanoTime();
            assertThatThrownBy(kafka::start)
                    .isInstanceOf(PortInUseException.class)
                    .hasMessageContaining("port " + port + " on 127.0.0.1 is already in use")
                    .satisfies(e -> assertThat(((PortInUseException) e).port()).isEqualTo(port));
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
            assertThat(kafka.isRunning()).isFalse();
            assertThatThrownBy(kafka::bootstrapServers).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(kafka::start).isInstanceOf(IllegalStateException.class); // closed for good
            kafka.close(); // idempotent
        }
    }

    @Test
    void propertiesThatEmbeddedKafkaDerivesItselfCannotBeOverridden() {
        assertThatThrownBy(() -> EmbeddedKafka.builder().brokerProperty("listeners", "PLAINTEXT://:1"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("listeners");
        assertThatThrownBy(() -> EmbeddedKafka.builder().brokerProperties(Map.of("log.dirs", "/tmp/x")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EmbeddedKafka.builder().port(70000)).isInstanceOf(IllegalArgumentException.class);
        assertThat(EmbeddedKafka.defaultBrokerProperties(4)).containsEntry("num.partitions", "4")
                .containsEntry("auto.create.topics.enable", "false");
    }

    @Test
    void anUnstartedBrokerHasNoAddressAndClosingItDoesNothing() {
        EmbeddedKafka kafka = EmbeddedKafka.builder().port(0).build();
        assertThatThrownBy(kafka::bootstrapServers).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(kafka::dataDir).isInstanceOf(IllegalStateException.class);
        assertThat(kafka.toString()).contains("not started");
        kafka.close();
        assertThat(kafka.isRunning()).isFalse();
    }
}
