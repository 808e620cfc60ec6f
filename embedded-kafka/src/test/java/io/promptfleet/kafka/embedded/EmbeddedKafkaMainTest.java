package io.promptfleet.kafka.embedded;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.promptfleet.kafka.embedded.TestClients.measure;
import static io.promptfleet.kafka.embedded.TestClients.produce;
import static io.promptfleet.kafka.embedded.TestClients.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EmbeddedKafkaMainTest {

    @Test
    void aChildJvmPrintsOneReadyLineServesClientsAndStopsCleanlyOnSigterm(@TempDir Path tmp) throws Exception {
        Path dataDir = tmp.resolve("data");
        Path stderr = tmp.resolve("stderr.txt");
        long t0 = System.nanoTime();
        Process p = childJvm(stderr, "--port", "0", "--data-dir", dataDir.toString());
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line = CompletableFuture.supplyAsync(() -> readLine(out)).get(60, TimeUnit.SECONDS);
            measure("child JVM start -> KAFKA READY ms", (System.nanoTime() - t0) / 1_000_000);
            assertThat(line).as("stdout; stderr was: %s", read(stderr)).matches("KAFKA READY 127\\.0\\.0\\.1:\\d+");
            String bootstrap = line.substring(EmbeddedKafkaMain.READY_PREFIX.length());

            String topic = KafkaTestSupport.uniqueName("child");
            KafkaTestSupport.createTopics(bootstrap, 1, topic);
            produce(bootstrap, topic, "hello");
            List<ConsumerRecord<String, String>> got = readAll(bootstrap, topic,
                    IsolationLevel.READ_COMMITTED.toString(), 1, Duration.ofSeconds(15));
            assertThat(got).extracting(ConsumerRecord::value).containsExactly("hello");

            long t1 = System.nanoTime();
            // SIGTERM (Process.destroy() would also close our end of the pipes).
            assertThat(new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor()).isZero();
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("child stopped after SIGTERM").isTrue();
            measure("child JVM SIGTERM -> exit ms", (System.nanoTime() - t1) / 1_000_000);
            assertThat(p.exitValue()).isEqualTo(143); // 128 + SIGTERM: the JVM ran its shutdown hooks
            assertThat(read(stderr)).contains("embedded-kafka: stopped");
            List<String> rest = new ArrayList<>();
            for (String l; (l = out.readLine()) != null; ) {
                rest.add(l);
            }
            assertThat(rest).as("stdout carries the READY line only").isEmpty();
            assertThat(dataDir.resolve("kraft-logs").resolve("meta.properties")).isRegularFile();
            int port = Integer.parseInt(bootstrap.substring(bootstrap.indexOf(':') + 1));
            try (ServerSocket free = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"))) {
                assertThat(free.getLocalPort()).as("the port is released").isEqualTo(port);
            }
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void aChildJvmExitsWithCode3AndNamesThePortWhenThePortIsInUse(@TempDir Path tmp) throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            Path stderr = tmp.resolve("stderr.txt");
            Process p = childJvm(stderr, "--port", Integer.toString(taken.getLocalPort()));
            try {
                assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
                assertThat(p.exitValue()).isEqualTo(EmbeddedKafkaMain.EXIT_PORT_IN_USE);
                assertThat(read(stderr)).contains("port " + taken.getLocalPort() + " on 127.0.0.1 is already in use");
                assertThat(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isEmpty();
            } finally {
                p.destroyForcibly();
            }
        }
    }

    @Test
    void argumentsOverrideTheEnvironmentAndBadArgumentsAreRejected() {
        EmbeddedKafka k = EmbeddedKafkaMain.parse(new String[] {"--port=0", "--prop", "num.io.threads=2"},
                Map.of("KAFKA_PORT", "1234", "KAFKA_DATA_DIR", "/tmp/x")).build();
        assertThat(k.host()).isEqualTo("127.0.0.1");
        EmbeddedKafkaMain.parse(new String[] {"--node-id", "2", "--controller-port", "9301", "--voters",
            "1@127.0.0.1:9300,2@127.0.0.1:9301", "--cluster-id", "abc"}, Map.of()).build();
        assertThatThrownBy(() -> EmbeddedKafkaMain.parse(new String[] {"--node-id", "-1"}, Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("node id");
        assertThatThrownBy(() -> EmbeddedKafkaMain.parse(new String[] {"--voters", " "}, Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("voters");
        assertThatThrownBy(() -> EmbeddedKafkaMain.parse(new String[] {"--port"}, Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("missing value");
        assertThatThrownBy(() -> EmbeddedKafkaMain.parse(new String[] {"--port", "x"}, Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("number");
        assertThatThrownBy(() -> EmbeddedKafkaMain.parse(new String[] {"--nope", "1"}, Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown option");
        assertThatThrownBy(() -> EmbeddedKafkaMain.parse(new String[] {"--prop", "listeners=x"}, Map.of()))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EmbeddedKafkaMain.parse(new String[] {}, Map.of("KAFKA_PORT", "abc")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static Process childJvm(Path stderr, String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-XX:+UseSerialGC", "-cp", cp,
                EmbeddedKafkaMain.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("KAFKA_PORT");
        pb.environment().remove("KAFKA_DATA_DIR");
        pb.redirectError(stderr.toFile());
        return pb.start();
    }

    private static String readLine(BufferedReader r) {
        try {
            return r.readLine();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String read(Path file) throws Exception {
        return Files.exists(file) ? Files.readString(file) : "";
    }
}
