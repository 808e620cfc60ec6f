package io.promptfleet.worker.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.kafka.TopicAdmin;
import io.promptfleet.kafka.embedded.EmbeddedKafka;
import io.promptfleet.kafka.embedded.SharedKafka;
import io.promptfleet.worker.Worker;
import io.promptfleet.worker.WorkerOptions;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** Readiness follows the broker: not ready while the worker is cut off from Kafka, ready again once it is back. */
class ReadinessIT {

  @Test
  void shouldNotBeReadyWhileCutOffFromKafkaAndRecoverWhenTheBrokerReturns() throws Exception {
    Path data = Files.createTempDirectory("readiness-kafka");
    EmbeddedKafka kafka = broker(0, data).start();
    int port = kafka.port();
    String yaml = """
        kafka: {bootstrap_servers: "%s"}
        topics: {partitions: 1}
        providers: {sim: {base_url: "http://127.0.0.1:9/v1"}}
        keys: {k1: {provider: sim, secret_env: PF_READINESS_KEY}}
        models: {sim: {routes: [{provider: sim, model: sim}]}}
        worker: {slots: 2, lanes: 1, http_port: 0}
        """.formatted(kafka.bootstrapServers());
    FleetConfig config = ConfigLoader.parse(yaml, Map.of(), new Properties());
    TopicAdmin.ensureFleetTopics(config);
    Vertx vertx = Vertx.vertx();
    WorkerOptions options = new WorkerOptions(Duration.ofSeconds(1), Duration.ofSeconds(10), 0, 1, 100,
        Duration.ofMinutes(1), Duration.ofSeconds(2), Duration.ofMillis(300), Duration.ofSeconds(30));
    Worker worker = new Worker(config, options, vertx, new SimpleMeterRegistry(), "readiness", Clock.systemUTC());
    try {
      worker.start();
      assertThat(eventually(worker::notReadyReason, r -> r == null)).isNull();

      kafka.close();
      assertThat(eventually(worker::notReadyReason, r -> r != null && r.startsWith("cut off")))
          .startsWith("cut off from Kafka");

      kafka = broker(port, data).start();
      assertThat(eventually(worker::notReadyReason, r -> r == null)).isNull();
    } finally {
      worker.close();
      kafka.close();
      vertx.close();
    }
  }

  private static EmbeddedKafka broker(int port, Path data) {
    return EmbeddedKafka.builder().port(port).dataDir(data).brokerProperties(SharedKafka.testBrokerProperties())
        .build();
  }

  private static String eventually(Supplier<String> reason, java.util.function.Predicate<String> done)
      throws InterruptedException {
    long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    String r = reason.get();
    while (!done.test(r) && System.nanoTime() < until) {
      Thread.sleep(100);
      r = reason.get();
    }
    return r;
  }
}
