package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.simulator.Fault;
import io.promptfleet.simulator.RecordedRequest;
import io.promptfleet.simulator.SimulatorOptions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A provider with {@code protocol: openai-responses}: jobs in the chat-completions format go upstream as Responses
 * API requests ({@code POST /v1/responses}) and its event stream comes back as the same results: text, function
 * calls, reasoning summary, usage with cached and reasoning tokens; a mid-stream {@code response.failed} or {@code
 * error} event is retried as a new attempt, a 400 is answered once. One fleet (real broker, simulated provider).
 */
class ResponsesIT {

  @Test
  void shouldServeJobsThroughTheResponsesApi() throws Exception {
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0),
        "protocol: openai-responses", Map.of("k", "{max_concurrency: 8}"), """
        models:
          gpt:
            routes:
              - {provider: sim, model: gpt-5-sim}
        dispatcher:
          retry: {base_ms: 50, cap_ms: 100, max_attempts: 3}
          breaker: {minimum_calls: 100}
        """)) {
      fleet.startDispatcher("d1");
      fleet.startWorkers(1);
      String topic = fleet.config.topics().jobsNormal();
      String reply = Fault.reply("Bonjour, monde").toDirective();
      fleet.produce(topic, "text", fleet.job("text", "gpt", "Say hi " + reply, 40));
      ObjectNode tools = job(fleet, "tools", "Weather? " + Fault.toolCalls(2).toDirective(), 400);
      tools.set("tools", Json.mapper().readTree("[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
          + "\"parameters\":{\"type\":\"object\"}}},{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}]"));
      fleet.produce(topic, "tools", Json.bytes(tools));
      ObjectNode thinks = job(fleet, "thinks", "Think " + Fault.reasoning(5).toDirective() + " "
          + Fault.cached(3).toDirective() + " " + reply, 40);
      thinks.put("reasoning_effort", "low");
      fleet.produce(topic, "thinks", Json.bytes(thinks));
      fleet.produce(topic, "failed-once", fleet.job("failed-once", "gpt", "A " + Fault.errorEvent(2).times(1)
          .toDirective() + " " + reply, 40));
      fleet.produce(topic, "error-once", fleet.job("error-once", "gpt", "B " + Fault.errorEvent(1,
          Fault.ErrorEventForm.EVENT).times(1).toDirective() + " " + reply, 40));
      fleet.produce(topic, "bad", fleet.job("bad", "gpt", "C " + Fault.status(400).toDirective(), 40));
      fleet.flush();

      Map<String, List<Result>> results = fleet.awaitResults(6, Duration.ofSeconds(30));

      assertThat(results.get("text")).singleElement().satisfies(r -> {
        assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
        assertThat(r.content()).isEqualTo("Bonjour, monde");
        assertThat(r.finishReason()).isEqualTo("stop");
        assertThat(r.model()).isEqualTo("gpt-5-sim");
        assertThat(r.completionId()).startsWith("resp_sim");
        assertThat(r.usage().completionTokens()).isPositive();
        assertThat(r.usage().totalTokens()).isEqualTo(r.usage().promptTokens() + r.usage().completionTokens());
      });
      assertThat(results.get("tools")).singleElement().satisfies(r -> {
        assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
        assertThat(r.finishReason()).isEqualTo("tool_calls");
        assertThat(r.message().toolCalls()).hasSize(2);
        assertThat(r.message().toolCalls()).extracting(c -> c.function().name())
            .containsExactly("get_weather", "get_time");
        assertThat(r.message().toolCalls().get(0).id()).isNotEqualTo(r.message().toolCalls().get(1).id());
        for (int i = 0; i < 2; i++) {
          JsonNode args = Json.mapper().readTree(r.message().toolCalls().get(i).function().arguments());
          assertThat(args.get("call").asInt()).as("call %d's arguments, whole", i).isEqualTo(i);
        }
      });
      assertThat(results.get("thinks")).singleElement().satisfies(r -> {
        assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
        assertThat(r.message().reasoning()).isNotBlank();
        assertThat(r.content()).isEqualTo("Bonjour, monde");
        assertThat(r.usage().reasoningTokens()).isEqualTo(5);
        assertThat(r.usage().cachedTokens()).isEqualTo(3);
      });
      for (String retried : List.of("failed-once", "error-once")) {
        assertThat(results.get(retried)).as(retried).singleElement().satisfies(r -> {
          assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
          assertThat(r.attempt()).as("the second attempt answered").isEqualTo(2);
          assertThat(r.content()).isEqualTo("Bonjour, monde");
        });
      }
      assertThat(results.get("bad")).singleElement().satisfies(r -> {
        assertThat(r.status()).isEqualTo(JobStatus.FAILED);
        assertThat(r.attempts()).isEqualTo(1);
        assertThat(r.error().code()).isEqualTo(ErrorCodes.UPSTREAM_REJECTED);
      });

      List<RecordedRequest> sent = fleet.sim.recentRequests();
      assertThat(sent).extracting(RecordedRequest::path).containsOnly("/v1/responses");
      assertThat(sent.stream().filter(q -> q.body().contains("\"C ")).count()).as("the 400 was sent once")
          .isEqualTo(1);
      JsonNode thinking = Json.mapper().readTree(sent.stream().filter(q -> q.body().contains("Think "))
          .findFirst().orElseThrow().body());
      assertThat(thinking.get("reasoning")).isEqualTo(Json.mapper().readTree(
          "{\"effort\":\"low\",\"summary\":\"auto\"}"));
      assertThat(thinking.get("store").asBoolean()).isFalse();
      assertThat(thinking.get("stream").asBoolean()).isTrue();
      assertThat(thinking.get("max_output_tokens").asInt()).isEqualTo(40);
      assertThat(thinking.has("messages")).isFalse();
      assertThat(sent.get(0).header("authorization")).hasValue(fleet.auth("k"));
    }
  }

  private static ObjectNode job(Fleet fleet, String id, String content, int maxTokens) {
    return Json.read(fleet.job(id, "gpt", content, maxTokens), ObjectNode.class);
  }
}
