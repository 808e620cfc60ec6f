package io.promptfleet.worker.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.config.KafkaSettings;
import io.promptfleet.common.kafka.KafkaClients;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/** Sends from an event loop must never wait for Kafka. */
class ReplyPublisherTest {
  @Test
  void shouldFailAChunkSendAtOnceWhenTheTopicsMetadataIsNotThereInsteadOfBlocking() throws Exception {
    // A real producer with no broker behind it: any send has to wait for metadata that never comes.
    var settings = new KafkaSettings("127.0.0.1:1", null);
    try (var producer = new KafkaProducer<String, byte[]>(ReplyPublisher.producerProperties(
        KafkaClients.producer(settings, "reply-publisher-test")))) {
      ReplyPublisher publisher = new ReplyPublisher(producer, "events", "retry");
      CompletableFuture<Exception> error = new CompletableFuture<>();

      long t0 = System.nanoTime();
      publisher.chunk("llm.replies", "job-1", "{}".getBytes(), (md, e) -> error.complete(e));
      long blockedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

      assertThat(error.get(5, TimeUnit.SECONDS)).as("the send fails").isNotNull();
      // the producer's default max.block.ms is 60 s: a send that waited for metadata would hold the caller that long;
      // the bound is wide because a loaded CI machine took 2.2 s for the first send's class loading and JIT
      assertThat(Duration.ofMillis(blockedMs)).as("the caller (an event loop) was not held for max.block.ms")
          .isLessThan(Duration.ofSeconds(30));
    }
  }
}
