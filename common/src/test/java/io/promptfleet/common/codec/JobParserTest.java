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
  void shouldAcceptAMinimalJobAndPassSamplingFieldsThrough() {
    var p = parse("""
        {"job_id":"j-1","model":"sim","messages":[{"role":"user","content":"hello"}],
         "max_tokens":64,"reply_to":"llm.replies","temperature":0.2,"stop":["\\n"],"metadata":{"a":1},
         "some_future_field":true}""");
    assertThat(p).isInstanceOf(JobParser.Accepted.class);
    Job job = ((JobParser.Accepted) p).job();
    assertThat(job.jobId()).isEqualTo("j-1");
    assertThat(job.messages()).singleElement().satisfies(m -> assertThat(m.text()).isEqualTo("hello"));
    assertThat(job.maxTokens()).isEqualTo(64);
    assertThat(job.params()).containsOnlyKeys("temperature", "stop");
    assertThat(job.metadata().get("a").asInt()).isEqualTo(1);
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
