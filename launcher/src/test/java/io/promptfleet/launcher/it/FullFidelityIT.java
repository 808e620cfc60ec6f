package io.promptfleet.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.ToolCall;
import io.promptfleet.common.job.ToolCallDelta;
import io.promptfleet.simulator.RecordedRequest;
import io.promptfleet.simulator.SimulatorOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Full-fidelity completions through the whole fleet (dispatcher, worker, real broker, simulated provider over
 * HTTP): jobs written as any producer would write them, answers read from the reply topic. Tool calls, reasoning,
 * refusals, logprobs, usage details, reasoning-model limits, pass-through and denied fields, a non-streaming route
 * and validated structured outputs.
 *
 * <p>One fleet for the class: the provider's first-delta timeout is 3 s, so the reasoning job (6 s of reasoning, a
 * delta every 0.5 s, before its first text) shows that any delta ends the wait — the "90 s of reasoning
 * under a 60 s timeout", scaled down 15× (the margin keeps a loaded CI machine from cutting a slow first delta).
 */
class FullFidelityIT {
  private static final Duration WAIT = Duration.ofSeconds(90);
  private static final String SCHEMA = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},"
      + "\"temp_c\":{\"type\":\"number\"}},\"required\":[\"city\",\"temp_c\"],\"additionalProperties\":false}";
  private static TestFleet fleet;
  private static final Map<String, byte[]> jobs = new LinkedHashMap<>();
  private static Map<String, List<Reply>> replies;

  @BeforeAll
  static void runEveryKindOfJob() throws Exception {
    fleet = TestFleet.start(1, SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0),
        "first_token_timeout_ms: 3000",
        """
          sim-reasoning:
            routes:
              - {provider: sim, model: sim-reasoning-1, max_tokens_field: max_completion_tokens}
          sim-plain:
            routes:
              - {provider: sim, model: sim, stream: false}
          sim-strict:
            routes:
              - {provider: sim, model: sim, validate_output: true}
          sim-cached:
            routes:
              - {provider: sim, model: sim, price_input_per_mtok: 2.0, price_cached_input_per_mtok: 0.5, price_output_per_mtok: 8.0}
        """, Map.of("dispatcher.retry.base_ms", "100"));

    ObjectNode tools = job("tools", "sim", "What is the weather and the time? [[sim:tool_calls n=2 split=5]]");
    tools.putArray("tools").add(tool("get_weather")).add(tool("get_time"));
    tools.put("tool_choice", "auto").put("parallel_tool_calls", true);
    put(tools);
    put(job("reasoning", "sim", "Think first. [[sim:reasoning tokens=12 ms=6000]]"));
    put(job("refusal", "sim", "Something I must refuse [[sim:refusal]]"));
    put(job("legacy", "sim", "Call it [[sim:function_call]]").set("functions",
        Json.mapper().createArrayNode().add(tool("lookup").get("function"))));
    ObjectNode logprobs = job("logprobs", "sim", "hello");
    logprobs.put("logprobs", true).put("top_logprobs", 2).put("max_tokens", 6);
    put(logprobs);
    ObjectNode passThrough = job("pass", "sim", "hello");
    passThrough.put("max_tokens", 4).put("verbosity", "low").put("reasoning_effort", "minimal").put("seed", 7)
        .put("user", "u-42");
    passThrough.putObject("chat_template_kwargs").put("enable_thinking", false);
    passThrough.putObject("stream_options").put("include_obfuscation", false);
    put(passThrough);
    ObjectNode completionLimit = job("completion-limit", "sim-reasoning", "hello");
    completionLimit.put("max_completion_tokens", 7);
    put(completionLimit);
    put(job("default-limit", "sim-reasoning", "hello"));
    ObjectNode oldLimit = job("max-tokens-on-reasoning", "sim-reasoning", "hello");
    oldLimit.put("max_tokens", 7);
    put(oldLimit);
    ObjectNode denied = job("denied", "sim", "hello");
    denied.putObject("extra_headers").put("x-route-to", "elsewhere");
    put(denied);
    put(job("plain", "sim-plain", "hello there"));
    put(strict("strict-valid", "{\"city\":\"Zürich\",\"temp_c\":3.5}"));
    put(strict("strict-invalid", "{\"city\":\"Zürich\",\"temp_c\":\"cold\"}"));
    put(job("cached", "sim-cached", "hello [[sim:cached tokens=4]]").put("max_tokens", 5));

    for (var e : jobs.entrySet()) {
      fleet.produceAsync(fleet.config.topics().jobsNormal(), e.getKey(), e.getValue());
    }
    fleet.flush();
    replies = fleet.awaitResults(jobs.size(), WAIT);
    assertThat(replies.keySet()).as("a result for every job").containsAll(jobs.keySet());
  }

  @AfterAll
  static void stop() throws Exception {
    if (fleet != null) {
      fleet.close();
    }
  }

  private static ObjectNode job(String name, String model, String prompt) {
    ObjectNode o = Json.mapper().createObjectNode();
    o.put("job_id", id(name)).put("model", model).put("reply_to", fleet.replies());
    o.putArray("messages").addObject().put("role", "user").put("content", prompt);
    return o;
  }

  private static ObjectNode tool(String name) {
    ObjectNode t = Json.mapper().createObjectNode().put("type", "function");
    ObjectNode f = t.putObject("function").put("name", name).put("description", "test tool " + name);
    f.putObject("parameters").put("type", "object");
    return t;
  }

  private static ObjectNode strict(String name, String answer) throws Exception {
    String b64 = Base64.getEncoder().encodeToString(answer.getBytes(StandardCharsets.UTF_8));
    ObjectNode o = job(name, "sim-strict", "Weather as JSON [[sim:reply b64=" + b64 + "]]");
    ObjectNode rf = o.putObject("response_format").put("type", "json_schema");
    rf.putObject("json_schema").put("name", "weather").put("strict", true)
        .set("schema", Json.mapper().readTree(SCHEMA));
    return o;
  }

  private static void put(ObjectNode job) {
    jobs.put(job.get("job_id").asText(), Json.bytes(job));
  }

  private static String id(String name) {
    return fleet.prefix + "-" + name;
  }

  private static Result result(String name) {
    List<Result> rs = TestFleet.results(replies.get(id(name)));
    assertThat(rs).as("exactly one result for " + name).hasSize(1);
    return rs.get(0);
  }

  private static List<Chunk> chunks(String name, int attempt) {
    return TestFleet.chunks(replies.get(id(name))).stream().filter(c -> c.attempt() == attempt).toList();
  }

  private static JsonNode requestOf(String name) throws Exception {
    for (RecordedRequest r : fleet.provider.recentRequests()) {
      if (r.body().contains(id(name)) || r.header("x-client-request-id").orElse("").startsWith(id(name) + "/")) {
        return Json.mapper().readTree(r.body());
      }
    }
    throw new AssertionError("the provider never saw " + name);
  }

  @Test
  void shouldKeepBothParallelToolCallsWithTheirArgumentsByteForByte() throws Exception {
    Result r = result("tools");

    assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
    assertThat(r.finishReason()).isEqualTo("tool_calls");
    List<ToolCall> calls = r.message().toolCalls();
    assertThat(calls).extracting(c -> c.function().name()).containsExactly("get_weather", "get_time");
    assertThat(calls).allSatisfy(c -> {
      assertThat(c.id()).isNotBlank();
      assertThat(c.type()).isEqualTo("function");
      assertThat(Json.mapper().readTree(c.function().arguments()).isObject()).isTrue();
    });
    // the fragments on the reply topic, joined per index, are exactly the result's arguments
    List<Chunk> chunks = chunks("tools", r.attempt());
    for (int i = 0; i < 2; i++) {
      int index = i;
      String joined = chunks.stream().filter(c -> c.toolCalls() != null).flatMap(c -> c.toolCalls().stream())
          .filter(d -> d.index() == index && d.function() != null && d.function().arguments() != null)
          .map(d -> d.function().arguments()).collect(Collectors.joining());
      assertThat(joined).isEqualTo(calls.get(i).function().arguments());
      assertThat(chunks.stream().filter(c -> c.toolCalls() != null).flatMap(c -> c.toolCalls().stream())
          .filter(d -> d.index() == index).count()).as("call %d arrived in several fragments", i).isGreaterThan(2);
    }
    assertThat(chunks).extracting(Chunk::delta).allMatch(d -> d != null);
    assertThat(requestOf("tools").path("tools")).hasSize(2);
    assertThat(requestOf("tools").path("parallel_tool_calls").asBoolean()).isTrue();
  }

  @Test
  void shouldKeepReasoningAndNotCutAReasoningPhaseLongerThanTheFirstTokenTimeout() {
    Result r = result("reasoning");

    assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
    assertThat(r.attempts()).as("never cut and retried").isEqualTo(1);
    assertThat(r.message().reasoning()).isNotBlank();
    assertThat(r.message().content()).isNotBlank();
    // reasoning counts as the first token: it came the reasoning phase (6 s, 12 tokens) before the first content
    // (compared with each other, not with a fixed bound: a cold, loaded CI run took 3.1 s to the first token)
    assertThat(r.timings().timeToFirstContentMs()).isGreaterThanOrEqualTo(5000);
    assertThat(r.timings().timeToFirstContentMs() - r.timings().timeToFirstTokenMs()).isGreaterThanOrEqualTo(4000);
    assertThat(r.usage().reasoningTokens()).isEqualTo(12);
    List<Chunk> chunks = chunks("reasoning", r.attempt());
    assertThat(chunks.stream().filter(c -> c.reasoning() != null).map(Chunk::reasoning)
        .collect(Collectors.joining())).isEqualTo(r.message().reasoning());
    assertThat(chunks.stream().map(Chunk::delta).collect(Collectors.joining())).isEqualTo(r.content());
    // reasoning first, then text
    int lastReasoning = 0;
    int firstText = Integer.MAX_VALUE;
    for (int i = 0; i < chunks.size(); i++) {
      if (chunks.get(i).reasoning() != null) {
        lastReasoning = i;
      } else if (!chunks.get(i).delta().isEmpty()) {
        firstText = Math.min(firstText, i);
      }
    }
    assertThat(lastReasoning).isLessThan(firstText);
  }

  @Test
  void shouldKeepARefusal() {
    Result r = result("refusal");

    assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
    assertThat(r.message().refusal()).isNotBlank();
    assertThat(r.message().content()).isNull();
    assertThat(chunks("refusal", r.attempt()).stream().filter(c -> c.refusal() != null).map(Chunk::refusal)
        .collect(Collectors.joining())).isEqualTo(r.message().refusal());
  }

  @Test
  void shouldKeepALegacyFunctionCall() throws Exception {
    Result r = result("legacy");

    assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
    assertThat(r.finishReason()).isEqualTo("function_call");
    assertThat(r.message().functionCall().name()).isEqualTo("lookup");
    assertThat(Json.mapper().readTree(r.message().functionCall().arguments()).isObject()).isTrue();
  }

  @Test
  void shouldCarryLogprobsOnChunksAndTheResult() {
    Result r = result("logprobs");

    assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
    assertThat(r.logprobs().path("content")).hasSize(6);
    assertThat(r.logprobs().path("content").get(0).path("top_logprobs")).hasSize(2);
    assertThat(r.logprobsTruncated()).isNull();
    assertThat(chunks("logprobs", r.attempt())).allSatisfy(c -> assertThat(c.logprobs()).isNotNull());
  }

  @Test
  void shouldPassEveryFieldThroughAsGiven() throws Exception {
    JsonNode body = requestOf("pass");

    assertThat(result("pass").status()).isEqualTo(JobStatus.SUCCEEDED);
    assertThat(body.path("verbosity").asText()).isEqualTo("low");
    assertThat(body.path("reasoning_effort").asText()).isEqualTo("minimal");
    assertThat(body.path("seed").asInt()).isEqualTo(7);
    assertThat(body.path("user").asText()).isEqualTo("u-42");
    assertThat(body.path("chat_template_kwargs").path("enable_thinking").isBoolean()).isTrue();
    assertThat(body.path("stream_options").path("include_obfuscation").isBoolean()).isTrue();
    assertThat(body.path("stream_options").path("include_usage").asBoolean()).isTrue();
    assertThat(body.path("stream").asBoolean()).isTrue();
    assertThat(body.has("max_completion_tokens")).isFalse();
    assertThat(body.path("max_tokens").asInt()).isEqualTo(4);
  }

  @Test
  void shouldSendMaxCompletionTokensAsGivenToAReasoningModel() throws Exception {
    Result r = result("completion-limit");

    assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
    assertThat(r.usage().completionTokens()).isEqualTo(7);
    JsonNode body = requestOf("completion-limit");
    assertThat(body.path("max_completion_tokens").asInt()).isEqualTo(7);
    assertThat(body.has("max_tokens")).as("never rewritten into max_tokens").isFalse();
  }

  @Test
  void shouldFillTheDefaultLimitInTheFieldTheRouteNames() throws Exception {
    assertThat(result("default-limit").status()).isEqualTo(JobStatus.SUCCEEDED);
    JsonNode body = requestOf("default-limit");
    assertThat(body.path("max_completion_tokens").asInt()).isEqualTo(1024);
    assertThat(body.has("max_tokens")).isFalse();
  }

  @Test
  void shouldPassAJobsOwnMaxTokensUnchangedAndReportTheProvidersRejection() {
    Result r = result("max-tokens-on-reasoning");

    assertThat(r.status()).isEqualTo(JobStatus.FAILED);
    assertThat(r.error().code()).isEqualTo(ErrorCodes.UPSTREAM_REJECTED);
    assertThat(r.error().message()).contains("max_completion_tokens");
  }

  @Test
  void shouldRejectADeniedFieldByName() {
    Result r = result("denied");

    assertThat(r.status()).isEqualTo(JobStatus.REJECTED);
    assertThat(r.error().code()).isEqualTo(ErrorCodes.FIELD_NOT_ALLOWED);
    assertThat(r.error().message()).contains("extra_headers");
  }

  @Test
  void shouldAnswerANonStreamingRouteWithOneChunkAndTheResult() throws Exception {
    Result r = result("plain");

    assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
    assertThat(r.content()).isNotBlank();
    assertThat(chunks("plain", r.attempt())).singleElement().satisfies(c -> assertThat(c.delta()).isEqualTo(r.content()));
    JsonNode body = requestOf("plain");
    assertThat(body.path("stream").asBoolean(false)).isFalse();
    assertThat(body.has("stream_options")).isFalse();
  }

  @Test
  void shouldValidateAStrictStructuredOutput() {
    Result ok = result("strict-valid");
    assertThat(ok.status()).isEqualTo(JobStatus.SUCCEEDED);
    assertThat(ok.content()).isEqualTo("{\"city\":\"Zürich\",\"temp_c\":3.5}");

    Result bad = result("strict-invalid");
    assertThat(bad.status()).isEqualTo(JobStatus.FAILED);
    assertThat(bad.error().code()).isEqualTo(ErrorCodes.INVALID_OUTPUT);
    assertThat(bad.error().message()).contains("temp_c");
    assertThat(bad.attempts()).as("retried once, on the same route").isEqualTo(2);
    assertThat(bad.route()).isEqualTo("sim/sim");
  }

  @Test
  void shouldReportUsageDetailsAndPriceCachedTokens() {
    Result r = result("cached");

    assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
    assertThat(r.usage().cachedTokens()).isEqualTo(4);
    long prompt = r.usage().promptTokens();
    double expected = ((prompt - 4) * 2.0 + 4 * 0.5 + r.usage().completionTokens() * 8.0) / 1_000_000d;
    assertThat(r.cost()).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-12));
  }

  @Test
  void shouldGiveOldReadersThePlainTextInDelta() {
    for (String name : List.of("tools", "reasoning", "refusal", "pass")) {
      Result r = result(name);
      assertThat(chunks(name, r.attempt()).stream().map(Chunk::delta).collect(Collectors.joining()))
          .as(name).isEqualTo(r.content());
    }
  }

  @SuppressWarnings("unused")
  private static List<ToolCallDelta> fragments(Chunk c) {
    return c.toolCalls() == null ? List.of() : c.toolCalls();
  }
}
