package io.promptfleet.dispatcher.batch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.codec.JobParser;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Route;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Output and error lines as OpenAI writes them (the simulator's batch vectors: a line recorded from the API, the
 * Batch guide's example, the spec's error shape; sources in {@code simulator/src/test/resources/batch-vectors/README.md})
 * become the job's reply.
 */
class BatchAnswersTest {
  private static final Path VECTORS = Path.of("..", "simulator", "src", "test", "resources", "batch-vectors");
  private static final Route PRICED = new Route("openai/gpt-4o-mini", "openai", "gpt-4o-mini", 0.075, 0.30);
  private static final Instant ENQUEUED = Instant.parse("2026-01-01T00:00:00Z");

  @Test
  void shouldAnswerARecordedOutputLineWithOneChunkAndAResultAtTheBatchPrice() throws Exception {
    JsonNode line = lines("openai-batch-output.jsonl").get(0);

    BatchAnswers.Outcome o = BatchAnswers.openAi(line, member("request-1"), PRICED, ENQUEUED.plusSeconds(60));

    assertThat(o).isInstanceOfSatisfying(BatchAnswers.Answered.class, a -> {
      assertThat(a.chunk().delta()).isEqualTo("2 + 2 equals 4.");
      assertThat(a.chunk().seq()).isZero();
      assertThat(a.result().status()).isEqualTo(JobStatus.SUCCEEDED);
      assertThat(a.result().content()).isEqualTo("2 + 2 equals 4.");
      assertThat(a.result().finishReason()).isEqualTo("stop");
      assertThat(a.result().usage().promptTokens()).isEqualTo(24);
      assertThat(a.result().usage().completionTokens()).isEqualTo(8);
      assertThat(a.result().cost()).isEqualTo((24 * 0.075 + 8 * 0.30) / 1e6);
      assertThat(a.result().model()).isEqualTo("gpt-4o-mini-2024-07-18");
      assertThat(a.result().route()).isEqualTo("openai/gpt-4o-mini");
      assertThat(a.result().systemFingerprint()).isEqualTo("fp_f33667828e");
      assertThat(a.result().completionId()).isEqualTo("chatcmpl-A1Efhv97EZNQeHKSLPnTmZex20gf2");
      assertThat(a.result().timings().totalMs()).isEqualTo(60_000);
      assertThat(a.result().metadata().path("run").asText()).isEqualTo("nightly");
    });
  }

  @Test
  void shouldLeaveAJobItsBatchNeverRanToTheLivePath() throws Exception {
    JsonNode expired = lines("openai-batch-error.jsonl").get(0);

    assertThat(BatchAnswers.openAi(expired, member("request-3"), PRICED, ENQUEUED))
        .isInstanceOfSatisfying(BatchAnswers.NotRun.class, n -> assertThat(n.reason()).startsWith("batch_expired"));
  }

  @Test
  void shouldFailAJobWhoseRequestTheProviderRefusedWithItsError() throws Exception {
    JsonNode refused = Json.mapper().readTree("""
        {"id": "batch_req_9", "custom_id": "a", "response": {"status_code": 400, "request_id": "req_9", "body":
         {"error": {"message": "Invalid 'messages[0].role': 'robot'.", "type": "invalid_request_error",
          "param": "messages[0].role", "code": "invalid_value"}}}, "error": null}""");

    assertThat(BatchAnswers.openAi(refused, member("a"), PRICED, ENQUEUED))
        .isInstanceOfSatisfying(BatchAnswers.Failed.class, f -> {
          assertThat(f.result().status()).isEqualTo(JobStatus.FAILED);
          assertThat(f.result().error().code()).isEqualTo(ErrorCodes.UPSTREAM_REJECTED);
          assertThat(f.result().error().message()).contains("HTTP 400").contains("Invalid 'messages[0].role'");
        });
  }

  @Test
  void shouldCarryWholeToolCallsInTheChunkAndTheMessage() throws Exception {
    JsonNode line = Json.mapper().readTree("""
        {"custom_id": "a", "response": {"status_code": 200, "body": {"id": "c1", "model": "m", "choices": [{"index": 0,
         "message": {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\\"city\\":\\"Paris\\"}"}}]}, "finish_reason":
         "tool_calls"}], "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}}, "error": null}""");

    assertThat(BatchAnswers.openAi(line, member("a"), PRICED, ENQUEUED))
        .isInstanceOfSatisfying(BatchAnswers.Answered.class, a -> {
          assertThat(a.result().toolCalls()).singleElement().satisfies(c -> {
            assertThat(c.function().name()).isEqualTo("get_weather");
            assertThat(c.function().arguments()).isEqualTo("{\"city\":\"Paris\"}");
          });
          assertThat(a.chunk().toolCalls()).singleElement().satisfies(d -> {
            assertThat(d.index()).isZero();
            assertThat(d.id()).isEqualTo("call_1");
            assertThat(d.function().arguments()).isEqualTo("{\"city\":\"Paris\"}");
          });
          assertThat(a.result().finishReason()).isEqualTo("tool_calls");
        });
  }

  static BatchRecords.Member member(String jobId) {
    Job job = ((JobParser.Accepted) new JobParser(1 << 20).parse(("{\"job_id\": \"" + jobId + "\", \"model\": \"m\","
        + " \"batch\": \"allow\", \"metadata\": {\"run\": \"nightly\"}, \"messages\": [{\"role\": \"user\", "
        + "\"content\": \"What is 2 + 2?\"}]}").getBytes(StandardCharsets.UTF_8))).job();
    return new BatchRecords.Member("k", job.withReplyTo("llm.replies"), Priority.LOW, ENQUEUED,
        ENQUEUED.plusSeconds(86_400 * 2), 100);
  }

  private static List<JsonNode> lines(String file) throws Exception {
    return Files.readAllLines(VECTORS.resolve(file)).stream().filter(l -> !l.isBlank()).map(l -> {
      try {
        return Json.mapper().readTree(l);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }).toList();
  }
}
