package io.promptfleet.common.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.Job;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JobParserTest {
  private final JobParser parser = new JobParser(10_000);

  private JobParser.Parsed parse(String json) {
    return parser.parse(json.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void shouldAcceptAMinimalJobAndPassEveryOtherFieldThrough() {
    var p = parse("""
        {"job_id":"j-1","model":"sim","messages":[{"role":"user","content":"hello"}],
         "max_tokens":64,"reply_to":"llm.replies","temperature":0.2,"stop":["\\n"],"metadata":{"a":1},
         "some_future_field":true}""");
    assertThat(p).isInstanceOf(JobParser.Accepted.class);
    Job job = ((JobParser.Accepted) p).job();
    assertThat(job.jobId()).isEqualTo("j-1");
    assertThat(job.messages()).singleElement().satisfies(m -> assertThat(m.text()).isEqualTo("hello"));
    assertThat(job.maxTokens()).isEqualTo(64);
    assertThat(job.params()).as("every field but the fleet's own, as given; metadata without store stays home")
        .containsOnlyKeys("temperature", "stop", "max_tokens", "some_future_field");
    assertThat(job.metadata().get("a").asInt()).isEqualTo(1);
  }

  @Test
  void shouldPassWhatReasoningAndToolClientsSendUntouched() {
    Job job = ((JobParser.Accepted) parse("""
        {"job_id":"j","model":"o4","messages":[{"role":"user","content":[{"type":"text","text":"look"},
          {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}}]},
          {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
           "function":{"name":"f","arguments":"{}"}}],"reasoning_content":"hmm"},
          {"role":"tool","tool_call_id":"c1","content":"42"}],
         "max_completion_tokens":2000,"reasoning_effort":"high","tools":[{"type":"function","function":{"name":"f"}}],
         "tool_choice":"required","parallel_tool_calls":false,"response_format":{"type":"json_object"},
         "logprobs":true,"top_logprobs":3,"stream":true,"stream_options":{"include_obfuscation":false},
         "store":true,"metadata":{"team":"a"},"chat_template_kwargs":{"enable_thinking":true},"verbosity":"low"}""")).job();

    assertThat(job.maxTokens()).isEqualTo(2000);
    assertThat(job.params()).containsKeys("max_completion_tokens", "reasoning_effort", "tools", "tool_choice",
        "parallel_tool_calls", "response_format", "logprobs", "top_logprobs", "stream_options", "store",
        "chat_template_kwargs", "verbosity").doesNotContainKeys("max_tokens", "stream", "job_id", "messages");
    assertThat(job.params().get("metadata")).as("sent upstream with store: true").isEqualTo(job.metadata());
    assertThat(job.messages().get(0).content()).hasSize(2);
    assertThat(job.messages().get(1).extra()).containsOnlyKeys("reasoning_content");
    assertThat(Json.string(job.messages().get(1))).contains("\"reasoning_content\":\"hmm\"")
        .contains("\"tool_calls\":[");
    assertThat(job.setsTokenLimit()).isTrue();
  }

  @Test
  void shouldReserveTheLargerLimitWhenAJobSetsBoth() {
    Job job = ((JobParser.Accepted) parse("""
        {"job_id":"j","model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":50,
         "max_completion_tokens":400}""")).job();
    assertThat(job.maxTokens()).isEqualTo(400);
    assertThat(job.params().get("max_tokens").asInt()).isEqualTo(50);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"api_key", "base_url", "headers", "extra_headers", "extra_body", "organization", "authorization"})
  void shouldRejectAFieldThatWouldRedirectOrAuthenticateNamingIt(String field) {
    var p = parse("{\"job_id\":\"j\",\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\""
        + field + "\":{\"x\":\"y\"}}");
    assertThat(p).isInstanceOfSatisfying(JobParser.Rejection.class, r -> {
      assertThat(r.reason()).contains(field + " is not allowed");
      assertThat(r.code()).isEqualTo(io.promptfleet.common.job.ErrorCodes.FIELD_NOT_ALLOWED);
      assertThat(r.jobId()).isEqualTo("j");
    });
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "not json at all | not JSON",
      "[1,2] | a job must be a JSON object",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} | job_id is missing",
      "{\"job_id\":\"\",\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} | job_id must be a non-empty string",
      "{\"job_id\":7,\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} | job_id must be a non-empty string",
      "{\"job_id\":\"j\",\"model\":\"m\"} | messages is missing",
      "{\"job_id\":\"j\",\"model\":\"m\",\"messages\":[]} | messages must be a non-empty array",
      "{\"job_id\":\"j\",\"model\":\"m\",\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]} | messages[0].role must be one of",
      "{\"job_id\":\"j\",\"model\":\"m\",\"messages\":[{\"role\":\"user\"}]} | messages[0].content is missing",
      "{\"job_id\":\"j\",\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":5}]} | messages[0].content must be a string",
      "{\"job_id\":\"j\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} | model is missing",
      "{\"job_id\":\"j\",\"model\":\"m\",\"max_tokens\":0,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} | max_tokens must be a positive integer",
      "{\"job_id\":\"j\",\"model\":\"m\",\"max_tokens\":\"9\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} | max_tokens must be a positive integer",
      "{\"job_id\":\"j\",\"model\":\"m\",\"deadline\":\"tomorrow\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} | deadline must be an ISO-8601 instant",
      "{\"job_id\":\"j\",\"model\":\"m\",\"base_url\":\"http://evil\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} | base_url is not allowed",
      "{\"job_id\":\"j\",\"model\":\"m\",\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} | stream must be true or absent",
      "{\"job_id\":\"j\",\"model\":\"m\",\"max_completion_tokens\":-1,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} | max_completion_tokens must be a positive integer",
      "{\"job_id\":\"j\",\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[\"x\"]}]} | messages[0].content[0] must be a content part",
      "{\"job_id\":\"j\",\"model\":\"m\",\"n\":3,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} | n must be 1",
      "{\"job_id\":\"j\",\"model\":\"m\",\"reply_to\":\"\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} | reply_to must be a non-empty string",
  })
  void shouldRejectBadJobsNamingTheField(String json, String reason) {
    var p = parse(json);
    assertThat(p).isInstanceOf(JobParser.Rejection.class);
    assertThat(((JobParser.Rejection) p).reason()).contains(reason);
  }

  @Test
  void shouldKeepTheJobIdAndReplyToOfARejectedJobSoItCanBeAnswered() {
    var p = (JobParser.Rejection) parse("{\"job_id\":\"j-9\",\"reply_to\":\"llm.replies.x\",\"model\":\"m\"}");
    assertThat(p.jobId()).isEqualTo("j-9");
    assertThat(p.replyTo()).isEqualTo("llm.replies.x");
  }

  @Test
  void shouldRejectEmptyAndOversizedRecordsWithoutParsing() {
    assertThat(parser.parse(new byte[0])).isInstanceOf(JobParser.Rejection.class);
    assertThat(parser.parse(null)).isInstanceOf(JobParser.Rejection.class);
    var big = (JobParser.Rejection) parser.parse(new byte[10_001]);
    assertThat(big.reason()).contains("exceeds the limit of 10000 bytes");
  }
}
