package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

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
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/**
 * A provider with {@code protocol: anthropic}: jobs in the OpenAI chat format go to the simulator's {@code
 * /v1/messages} with the key in {@code x-api-key}, and Anthropic's event stream comes back as the fleet's results:
 * text, a tool call, thinking as reasoning with its signature, usage with cache reads and writes and their cost,
 * an {@code error} event mid-stream retried as a new attempt that succeeds, and a 400 answered once, as failed.
 */
class AnthropicIT {

  @Test
  void shouldServeJobsThroughAnthropicMessages() throws Exception {
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0)
            .withDefaultCompletionTokens(4), "protocol: anthropic", Map.of("k", "{max_concurrency: 4}"), """
        models:
          claude:
            routes:
              - {provider: sim, model: claude-sim, price_input_per_mtok: 3.0, price_output_per_mtok: 15.0,
                 price_cached_input_per_mtok: 0.3, price_cache_write_per_mtok: 3.75}
        dispatcher:
          retry: {base_ms: 50, cap_ms: 100, max_attempts: 3}
          breaker: {minimum_calls: 100}
        """)) {
      fleet.startDispatcher("d1");
      fleet.startWorkers(1);
      String jobs = fleet.config.topics().jobsNormal();
      fleet.produce(jobs, "text", fleet.job("text", "claude", "Say hello", 16));
      ObjectNode tool = (ObjectNode) Json.mapper().readTree(fleet.job("tool", "claude",
          "Weather in Paris? " + Fault.toolCalls(1).toDirective(), 64));
      tool.putArray("tools").addObject().put("type", "function").putObject("function").put("name", "weather")
          .putObject("parameters").put("type", "object");
      fleet.produce(jobs, "tool", Json.bytes(tool));
      fleet.produce(jobs, "think", fleet.job("think", "claude", "27 * 453? " + Fault.reasoning(5).toDirective(),
          64));
      ObjectNode cached = (ObjectNode) Json.mapper().readTree(fleet.job("cached", "claude",
          "Summarise. " + Fault.cached(8).toDirective(), 16));
      ObjectNode system = Json.mapper().createObjectNode().put("role", "system");
      system.putArray("content").addObject().put("type", "text")
          .put("text", "A long and stable system prompt that is worth caching, written once.")
          .putObject("cache_control").put("type", "ephemeral");
      ((com.fasterxml.jackson.databind.node.ArrayNode) cached.get("messages")).insert(0, system);
      fleet.produce(jobs, "cached", Json.bytes(cached));
      fleet.produce(jobs, "flaky", fleet.job("flaky", "claude", "Go " + Fault.errorEvent(2).times(1).toDirective(),
          16));
      fleet.produce(jobs, "bad", fleet.job("bad", "claude", "No " + Fault.status(400).toDirective(), 16));
      fleet.flush();

      Map<String, List<Result>> results = fleet.awaitResults(6, Duration.ofSeconds(60));

      assertThat(results.get("text")).singleElement().satisfies(r -> {
        assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
        assertThat(r.content()).isNotBlank();
        assertThat(r.finishReason()).isEqualTo("stop");
        assertThat(r.completionId()).startsWith("msg_sim");
        assertThat(r.usage().completionTokens()).isEqualTo(4);
      });
      assertThat(results.get("tool")).singleElement().satisfies(r -> {
        assertThat(r.finishReason()).isEqualTo("tool_calls");
        assertThat(r.message().toolCalls()).singleElement().satisfies(c -> {
          assertThat(c.id()).isNotBlank();
          assertThat(c.function().name()).isEqualTo("weather");
          assertThat(Json.mapper().readTree(c.function().arguments()).isObject()).as("whole JSON arguments").isTrue();
        });
      });
      assertThat(results.get("think")).singleElement().satisfies(r -> {
        assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
        assertThat(r.message().reasoning()).isNotBlank();
        assertThat(r.message().extra().get("reasoning_signature").asText()).as("the thinking block's signature")
            .isNotBlank();
        assertThat(r.content()).isNotBlank();
      });
      assertThat(results.get("cached")).singleElement().satisfies(r -> {
        var u = r.usage();
        assertThat(u.cachedTokens()).as("cache reads").isEqualTo(8);
        assertThat(u.cacheCreationTokens()).as("the cacheable system prompt not read").isPositive();
        assertThat(u.promptTokensDetails().get("cache_read_input_tokens").asLong()).isEqualTo(8);
        long input = u.promptTokens() - 8 - u.cacheCreationTokens();
        assertThat(input).isPositive();
        assertThat(r.cost()).isCloseTo((input * 3.0 + 8 * 0.3 + u.cacheCreationTokens() * 3.75
            + u.completionTokens() * 15.0) / 1e6, Offset.offset(1e-12));
      });
      assertThat(results.get("flaky")).singleElement().satisfies(r -> {
        assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
        assertThat(r.attempt()).as("the error event ended attempt 1; attempt 2 answered").isEqualTo(2);
      });
      assertThat(results.get("bad")).singleElement().satisfies(r -> {
        assertThat(r.status()).isEqualTo(JobStatus.FAILED);
        assertThat(r.error().code()).isEqualTo(ErrorCodes.UPSTREAM_REJECTED);
        assertThat(r.error().message()).contains("400");
        assertThat(r.attempts()).as("answered once").isEqualTo(1);
      });

      List<RecordedRequest> requests = fleet.sim.recentRequests();
      assertThat(requests).isNotEmpty().allSatisfy(q -> {
        assertThat(q.path()).isEqualTo("/v1/messages");
        assertThat(q.header("x-api-key")).hasValue(fleet.auth("k").substring(7));
        assertThat(q.header("authorization")).isEmpty();
        assertThat(q.header("anthropic-version")).hasValue("2023-06-01");
      });
      assertThat(fleet.sim.stats().maxConcurrentRequests(fleet.auth("k"))).as("counted by x-api-key").isPositive();
    }
  }
}
