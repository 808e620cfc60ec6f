package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.Result;
import io.promptfleet.kafka.embedded.KafkaTestSupport;
import io.promptfleet.simulator.SimulatorOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * Guarantee 1 for a reply topic that passes the allow-list but does not exist: the job cannot get a result, so it
 * is dead-lettered with the reason at intake (it is never assigned, and the dispatcher never waits on the missing
 * topic's metadata), while a reply topic created just before its job is found by an on-demand listing.
 */
class ReplyTopicMissingIT {

  private static byte[] job(String jobId, String model, String replyTo) {
    return ("{\"job_id\":\"" + jobId + "\",\"model\":\"" + model + "\",\"max_tokens\":8,\"reply_to\":\"" + replyTo
        + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void shouldDeadLetterAJobWhoseReplyTopicDoesNotExistAndServeATopicCreatedJustBefore() throws Exception {
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0),
        Map.of("k", "{max_concurrency: 4}"), """
        models:
          sim:
            routes:
              - {provider: sim, model: sim}
        """)) {
      Fleet.awaitActive(fleet.startDispatcher("d1"), Duration.ofSeconds(60));
      fleet.startWorkers(1);
      var t = fleet.config.topics();
      String missing = t.defaultReplyTo() + ".missing";
      String fresh = t.defaultReplyTo() + ".fresh";
      assertThat(t.isReplyToAllowed(missing)).isTrue();
      fleet.produce(t.jobsNormal(), "missing", job("missing", "sim", missing));
      fleet.produce(t.jobsHigh(), "missing-model", job("missing-model", "no-such-model", missing));
      fleet.flush();
      // Created now: the dispatcher's periodic listing (every 30 s) has not seen it, an on-demand one must.
      KafkaTestSupport.createTopics(fleet.config.kafka().bootstrapServers(), 1, fresh);
      fleet.produce(t.jobsNormal(), "fresh", job("fresh", "sim", fresh));
      fleet.produce(t.jobsNormal(), "after", fleet.job("after", "sim", "still going?", 8));
      fleet.flush();
      long t0 = System.nanoTime();

      assertThat(fleet.awaitResults(1, Duration.ofSeconds(30)).get("after")).singleElement()
          .satisfies(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED));
      var freshResults = fleet.readUntil(fresh, Duration.ofSeconds(30), rs -> rs.stream()
          .anyMatch(r -> Json.read(r.value(), Reply.class) instanceof Result));
      assertThat(freshResults.stream().map(r -> Json.read(r.value(), Reply.class))
          .filter(Result.class::isInstance).map(Result.class::cast)).singleElement()
          .satisfies(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED));
      assertThat(Duration.ofNanos(System.nanoTime() - t0))
          .as("no send waited for the missing topic's metadata (max.block.ms)").isLessThan(Duration.ofSeconds(20));

      List<ConsumerRecord<String, byte[]>> dlq = fleet.readUntil(t.deadLetters(), Duration.ofSeconds(10),
          rs -> rs.size() >= 2);
      assertThat(dlq).hasSize(2);
      assertThat(dlq).allSatisfy(r -> assertThat(new String(r.headers().lastHeader("pf.dlq.reason").value(),
          StandardCharsets.UTF_8)).contains("reply_to topic " + missing + " does not exist"));
      assertThat(dlq.stream().map(r -> new String(r.value(), StandardCharsets.UTF_8)))
          .anyMatch(v -> v.contains("\"missing\"")).anyMatch(v -> v.contains("\"missing-model\""));
      assertThat(fleet.assignments(2, Duration.ofSeconds(2)).stream().map(a -> a.job().jobId()))
          .as("a job whose reply topic does not exist is never assigned").containsExactlyInAnyOrder("fresh", "after");
      assertThat(fleet.dispatchers.get(0).dispatcher().failure()).isNull();
    }
  }
}
