package io.promptfleet.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.JobParser;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Priority;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/** The JSON a {@link JobRequest} puts on the wire, and that the fleet's parser accepts it as meant. */
class JobRequestTest {

  private static JsonNode json(String s) {
    try {
      return Json.mapper().readTree(s);
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
  }

  private static final JsonNode TOOLS = json("""
      [{"type":"function","function":{"name":"get_weather","description":"Weather of a city",
        "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]""");

  @Test
  void shouldWriteEveryTypedFieldUnderItsWireName() {
    JobRequest r = JobRequest.prompt("What's the weather in Paris?").jobId("j-1").model("gpt-5-mini")
        .maxCompletionTokens(2000).reasoningEffort("low").tools(TOOLS).toolChoice("required")
        .temperature(0.2).logprobs(3).deadline(Instant.parse("2030-01-02T03:04:05Z"))
        .ttl(Duration.ofMinutes(5)).tenant("acme").metadata(json("{\"ticket\":42}"))
        .param("chat_template_kwargs", Map.of("enable_thinking", false)).param("seed", 7)
        .priority(Priority.HIGH).build();

    assertThat(Json.string(r.toJson("llm.replies.me", "sim"))).isEqualTo(Json.string(json("""
        {"messages":[{"role":"user","content":"What's the weather in Paris?"}],"model":"gpt-5-mini",
         "max_completion_tokens":2000,"reasoning_effort":"low","tools":%s,"tool_choice":"required",
         "temperature":0.2,"logprobs":true,"top_logprobs":3,"deadline":"2030-01-02T03:04:05Z",
         "ttl_ms":300000,"tenant":"acme","metadata":{"ticket":42},
         "chat_template_kwargs":{"enable_thinking":false},"seed":7,
         "job_id":"j-1","reply_to":"llm.replies.me"}""".formatted(TOOLS))));
    assertThat(r.priority()).isEqualTo(Priority.HIGH);
  }

  @Test
  void shouldWriteStructuredOutputAndAForcedFunction() {
    JsonNode schema = json("{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}},\"required\":[\"n\"]}");
    JsonNode o = JobRequest.prompt("count").jobId("j-2").responseFormatJsonSchema("count", schema, true)
        .toolChoiceFunction("get_weather").build().toJson("llm.replies", "sim");
    assertThat(o.get("response_format")).isEqualTo(json(
        "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"count\",\"schema\":" + schema + ",\"strict\":true}}"));
    assertThat(o.get("tool_choice")).isEqualTo(json("{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}"));
    assertThat(o.get("model").asText()).as("the client's default model").isEqualTo("sim");

    JsonNode plain = JobRequest.prompt("x").jobId("j-3").responseFormat(json("{\"type\":\"json_object\"}"))
        .toolChoice(json("\"none\"")).build().toJson("r", "m");
    assertThat(plain.get("response_format")).isEqualTo(json("{\"type\":\"json_object\"}"));
    assertThat(plain.get("tool_choice").asText()).isEqualTo("none");
  }

  @Test
  void shouldBeParsedByTheFleetWithEveryProviderFieldPassedThrough() {
    JobRequest r = JobRequest.prompt("hi").jobId("j-4").maxCompletionTokens(300).maxTokens(100)
        .reasoningEffort("high").tools(TOOLS).toolChoice("auto").ttl(Duration.ofSeconds(30))
        .param("store", true).metadata(json("{\"k\":\"v\"}")).param("verbosity", "low").build();
    JobParser.Parsed parsed = new JobParser(1 << 20).parse(r.toBytes("llm.replies", "sim"));

    assertThat(parsed).isInstanceOf(JobParser.Accepted.class);
    Job job = ((JobParser.Accepted) parsed).job();
    assertThat(job.jobId()).isEqualTo("j-4");
    assertThat(job.ttlMs()).isEqualTo(30_000L);
    assertThat(job.maxTokens()).as("the larger limit is reserved").isEqualTo(300);
    assertThat(job.params()).containsKeys("max_completion_tokens", "max_tokens", "reasoning_effort", "tools",
        "tool_choice", "store", "verbosity", "metadata");
    assertThat(job.params().get("tools")).isEqualTo(TOOLS);
  }

  @Test
  void shouldRefuseForbiddenFieldsNamingThem() {
    for (String field : List.of("api_key", "base_url", "headers", "extra_body")) {
      assertThatThrownBy(() -> JobRequest.prompt("x").param(field, "v"))
          .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith(field + " is not allowed");
    }
  }

  @Test
  void shouldRefuseNonsenseLimitsAndTtl() {
    assertThatThrownBy(() -> JobRequest.prompt("x").maxCompletionTokens(0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> JobRequest.prompt("x").maxTokens(-1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> JobRequest.prompt("x").ttl(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> JobRequest.prompt("x").tools(json("{}"))).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void shouldNeedAModelFromTheJobOrTheClient() {
    assertThatThrownBy(() -> JobRequest.prompt("x").build().toJson("r", null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no model");
  }

  @Test
  void shouldKeyTheCancelRecordByTheJobIdWithTheJobIdInItsValue() {
    ProducerRecord<String, byte[]> rec = PromptFleetClient.cancelRecord("llm.cancels", "j-9");
    assertThat(rec.topic()).isEqualTo("llm.cancels");
    assertThat(rec.key()).isEqualTo("j-9");
    assertThat(new String(rec.value(), StandardCharsets.UTF_8)).isEqualTo("{\"job_id\":\"j-9\"}");
  }

  @Test
  void shouldDeriveTheCancelsTopicFromTheJobTopicPrefixAsTheFleetNamesIt() {
    assertThat(PromptFleetClient.defaultCancelsTopic("llm.jobs.")).isEqualTo("llm.cancels");
    assertThat(PromptFleetClient.defaultCancelsTopic("staging.jobs.")).isEqualTo("staging.cancels");
    assertThat(PromptFleetClient.defaultCancelsTopic("my-jobs-")).isEqualTo("llm.cancels");
  }

  @Test
  void shouldKnowTheErrorCodeTheFleetUsesForForbiddenFields() {
    JobParser.Parsed parsed = new JobParser(1 << 20).parse(
        "{\"job_id\":\"j\",\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"api_key\":\"sk\"}"
            .getBytes(StandardCharsets.UTF_8));
    assertThat(parsed).isInstanceOfSatisfying(JobParser.Rejection.class, rej -> {
      assertThat(rej.code()).isEqualTo(ErrorCodes.FIELD_NOT_ALLOWED);
      assertThat(rej.reason()).contains("api_key");
    });
  }
}
