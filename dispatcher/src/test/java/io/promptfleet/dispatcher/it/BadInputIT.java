package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.simulator.SimulatorOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * Bad input on every topic the dispatcher reads (the job topics, the retry topic, fleet events, cancels): each
 * record gives a dead letter or one rejected result that names the problem, and the dispatcher keeps going.
 */
class BadInputIT {

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void shouldDeadLetterOrRejectBadInputOnEveryTopicAndKeepGoing() throws Exception {
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0),
        Map.of("k", "{max_concurrency: 4, tokens_per_minute: 60000}"), """
        models:
          sim:
            routes:
              - {provider: sim, model: sim, max_tokens_cap: 256, max_prompt_tokens: 500}
        dispatcher: {max_record_bytes: 20000}
        """)) {
      Fleet.awaitActive(fleet.startDispatcher("d1"), Duration.ofSeconds(60));
      fleet.startWorkers(1);
      var t = fleet.config.topics();
      String replies = t.defaultReplyTo();
      int deadLetters = 0;
      for (String topic : List.of(t.jobsHigh(), t.jobsNormal(), t.jobsLow())) {
        String p = topic.substring(topic.lastIndexOf('.') + 1);
        fleet.produce(topic, "x", bytes("not json {"));
        fleet.produce(topic, "x", bytes("{\"model\":\"sim\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));
        fleet.produce(topic, "x", bytes("{\"job_id\":\"" + p + "-types\",\"model\":\"sim\",\"messages\":\"nope\","
            + "\"reply_to\":\"" + replies + "\"}"));
        fleet.produce(topic, "x", bytes("{\"job_id\":\"" + p + "-huge\",\"model\":\"sim\",\"messages\":[{\"role\":"
            + "\"user\",\"content\":\"" + "a".repeat(30_000) + "\"}]}"));
        fleet.produce(topic, "x", bytes("{\"job_id\":\"" + p + "-reply\",\"model\":\"sim\",\"messages\":[{\"role\":"
            + "\"user\",\"content\":\"hi\"}],\"reply_to\":\"elsewhere\"}"));
        deadLetters += 5;
        fleet.produce(topic, p + "-model", fleet.job(p + "-model", "no-such-model", "hi", 10));
        fleet.produce(topic, p + "-cap", fleet.job(p + "-cap", "sim", "hi", 100_000));
        fleet.produce(topic, p + "-prompt", fleet.job(p + "-prompt", "sim", "word ".repeat(2_000), 10));
      }
      // Full-fidelity requests: forbidden fields are rejected naming them; every other field is passed through, and a
      // limit in max_completion_tokens is never renamed (nor joined by a max_tokens).
      String hi = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"reply_to\":\"" + replies + "\"";
      fleet.produce(t.jobsNormal(), "no-key", bytes("{\"job_id\":\"no-key\",\"model\":\"sim\"," + hi
          + ",\"api_key\":\"sk-mine\"}"));
      fleet.produce(t.jobsNormal(), "no-headers", bytes("{\"job_id\":\"no-headers\",\"model\":\"sim\"," + hi
          + ",\"extra_headers\":{\"X-Route\":\"elsewhere\"}}"));
      deadLetters += 2;
      fleet.produce(t.jobsNormal(), "mct-cap", bytes("{\"job_id\":\"mct-cap\",\"model\":\"sim\"," + hi
          + ",\"max_completion_tokens\":100000}"));
      fleet.produce(t.jobsNormal(), "mct", bytes("{\"job_id\":\"mct\",\"model\":\"sim\"," + hi
          + ",\"max_completion_tokens\":64}"));
      fleet.produce(t.jobsNormal(), "ext", bytes("{\"job_id\":\"ext\",\"model\":\"sim\"," + hi
          + ",\"chat_template_kwargs\":{\"enable_thinking\":false}}"));
      fleet.produce(t.jobsRetry(), "x", bytes("not json"));
      fleet.produce(t.jobsRetry(), "x", bytes("{\"next_attempt\":2}"));
      fleet.produce(t.fleetEvents(), "x", bytes("garbage"));
      fleet.produce(t.fleetEvents(), "x", bytes("{\"type\":\"no_such_type\"}"));
      fleet.produce(t.cancels(), "x", bytes("{\"not\":\"a cancel\"}"));
      deadLetters += 5;
      fleet.produce(t.jobsNormal(), "after", fleet.job("after", "sim", "still going?", 10));
      fleet.flush();

      // 1 after, 4 per priority topic, 2 forbidden fields, 1 over the cap, and mct and ext (whatever their outcome)
      Map<String, List<Result>> results = fleet.awaitResults(1 + 3 * 4 + 2 + 1 + 2, Duration.ofSeconds(60));
      assertThat(results.get("after")).singleElement()
          .satisfies(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED));
      for (String p : List.of("high", "normal", "low")) {
        assertThat(results.get(p + "-types")).singleElement().satisfies(r -> {
          assertThat(r.status()).isEqualTo(JobStatus.REJECTED);
          assertThat(r.error().code()).isEqualTo(ErrorCodes.INVALID_JOB);
        });
        assertThat(results).as("too large to parse: a dead letter only").doesNotContainKey(p + "-huge");
        assertThat(results).as("reply_to outside the allow-list: a dead letter only").doesNotContainKey(p + "-reply");
        assertThat(results.get(p + "-model")).singleElement()
            .satisfies(r -> assertThat(r.error().code()).isEqualTo(ErrorCodes.UNKNOWN_MODEL));
        assertThat(results.get(p + "-cap")).singleElement()
            .satisfies(r -> assertThat(r.error().code()).isEqualTo(ErrorCodes.MAX_TOKENS_TOO_LARGE));
        assertThat(results.get(p + "-prompt")).singleElement().satisfies(r -> {
          assertThat(r.status()).isEqualTo(JobStatus.REJECTED);
          assertThat(r.error().code()).isEqualTo(ErrorCodes.PROMPT_TOO_LARGE);
          assertThat(r.error().message()).contains("max_prompt_tokens");
        });
      }
      for (String field : List.of("api_key", "extra_headers")) {
        String id = field.equals("api_key") ? "no-key" : "no-headers";
        assertThat(results.get(id)).as(field).singleElement().satisfies(r -> {
          assertThat(r.status()).isEqualTo(JobStatus.REJECTED);
          assertThat(r.error().code()).isEqualTo(ErrorCodes.FIELD_NOT_ALLOWED);
          assertThat(r.error().message()).contains(field);
        });
      }
      assertThat(results.get("mct-cap")).singleElement().satisfies(r -> {
        assertThat(r.error().code()).isEqualTo(ErrorCodes.MAX_TOKENS_TOO_LARGE);
        assertThat(r.error().message()).startsWith("max_completion_tokens 100000 exceeds the cap of 256");
      });
      Map<String, Assignment> assigned = new HashMap<>();
      fleet.readUntil(t.assignments(), Duration.ofSeconds(30), rs -> {
        rs.forEach(r -> assigned.putIfAbsent(r.key(), Json.read(r.value(), Assignment.class)));
        return assigned.containsKey("mct") && assigned.containsKey("ext");
      });
      assertThat(assigned.get("mct")).as("assignment of mct").isNotNull().satisfies(a -> {
        assertThat(a.job().params()).containsKey("max_completion_tokens").doesNotContainKey("max_tokens");
        assertThat(a.job().params().get("max_completion_tokens").intValue()).isEqualTo(64);
        assertThat(a.lastError()).isNull();
      });
      assertThat(assigned.get("ext")).as("assignment of ext").isNotNull().satisfies(a -> {
        assertThat(a.job().params()).containsKey("chat_template_kwargs");
        assertThat(a.job().params().get("chat_template_kwargs").path("enable_thinking").isBoolean()).isTrue();
        assertThat(a.job().params()).as("the job as written: the worker adds the route's default")
            .doesNotContainKey("max_tokens").doesNotContainKey("max_completion_tokens");
        assertThat(a.route().defaultMaxTokens()).isEqualTo(256);
        assertThat(a.route().limitField()).isEqualTo("max_tokens");
      });
      final int expected = deadLetters;
      List<ConsumerRecord<String, byte[]>> dlq = fleet.readUntil(t.deadLetters(), Duration.ofSeconds(30),
          rs -> rs.size() >= expected);
      assertThat(dlq).hasSize(expected);
      assertThat(dlq).allSatisfy(r -> {
        assertThat(r.headers().lastHeader("pf.dlq.reason")).isNotNull();
        assertThat(r.headers().lastHeader("pf.dlq.topic")).isNotNull();
      });
      assertThat(dlq.stream().map(r -> new String(r.headers().lastHeader("pf.dlq.topic").value(),
          StandardCharsets.UTF_8)).distinct()).containsExactlyInAnyOrder(t.jobsHigh(), t.jobsNormal(), t.jobsLow(),
          t.jobsRetry(), t.fleetEvents(), t.cancels());
      assertThat(fleet.dispatchers.get(0).dispatcher().failure()).isNull();
    }
  }
}
