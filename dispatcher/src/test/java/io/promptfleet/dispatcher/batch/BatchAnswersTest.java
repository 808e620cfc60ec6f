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
 * and Message Batch results as Anthropic writes them (the same README, and {@code
 * src/test/resources/anthropic-batch/README.md}: recorded and documented messages) become the job's reply.
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

  @Test
  void shouldAnswerARecordedAnthropicToolUseResultWithItsToolCallAndStopReasonMappedAsLive() throws Exception {
    JsonNode line = anthropicLines().get(0);

    assertThat(BatchAnswers.anthropic(line, member("tool-request"), PRICED, ENQUEUED.plusSeconds(30)))
        .isInstanceOfSatisfying(BatchAnswers.Answered.class, a -> {
          assertThat(a.result().status()).isEqualTo(JobStatus.SUCCEEDED);
          assertThat(a.result().content()).startsWith("<thinking>\nThe user is asking").endsWith("</thinking>");
          assertThat(a.chunk().delta()).isEqualTo(a.result().content());
          assertThat(a.result().finishReason()).isEqualTo("tool_calls");
          assertThat(a.chunk().finishReason()).isEqualTo("tool_calls");
          assertThat(a.result().toolCalls()).singleElement().satisfies(c -> {
            assertThat(c.id()).isEqualTo("toolu_01Nu82nfXTcUufvPqZ4VHJmv");
            assertThat(c.type()).isEqualTo("function");
            assertThat(c.function().name()).isEqualTo("get_weather");
            assertThat(c.function().arguments()).isEqualTo("{\"location\":\"London, United Kingdom\"}");
          });
          assertThat(a.chunk().toolCalls()).singleElement().satisfies(d -> {
            assertThat(d.index()).isZero();
            assertThat(d.function().arguments()).isEqualTo("{\"location\":\"London, United Kingdom\"}");
          });
          assertThat(a.result().usage().promptTokens()).isEqualTo(487);
          assertThat(a.result().usage().completionTokens()).isEqualTo(135);
          assertThat(a.result().cost()).isEqualTo((487 * 0.075 + 135 * 0.30) / 1e6);
          assertThat(a.result().model()).isEqualTo("claude-3-opus-20240229");
          assertThat(a.result().completionId()).isEqualTo("msg_01DvvYuXbiFcdHauAHfS1jzo");
          assertThat(a.result().timings().totalMs()).isEqualTo(30_000);
          assertThat(a.result().metadata().path("run").asText()).isEqualTo("nightly");
        });
  }

  @Test
  void shouldReadTheCacheTokensAndServiceTierOfAnAnthropicResultAsTheLivePathDoes() throws Exception {
    JsonNode line = anthropicLines().get(1);

    assertThat(BatchAnswers.anthropic(line, member("cache-request"), PRICED, ENQUEUED))
        .isInstanceOfSatisfying(BatchAnswers.Answered.class, a -> {
          assertThat(a.result().usage().promptTokens()).isEqualTo(478);
          assertThat(a.result().usage().promptTokensDetails().path("cached_tokens").asLong()).isZero();
          assertThat(a.result().serviceTier()).isEqualTo("standard");
          assertThat(a.result().content()).isEqualTo("Let me help you check the weather in Beijing.");
          assertThat(a.result().toolCalls()).extracting(c -> c.function().arguments())
              .containsExactly("{\"location\":\"Beijing\"}");
        });
  }

  @Test
  void shouldCarryAnAnthropicResultsThinkingAndItsSignatureAsReasoning() throws Exception {
    JsonNode line = anthropicLines().get(2);

    assertThat(BatchAnswers.anthropic(line, member("thinking-request"), PRICED, ENQUEUED))
        .isInstanceOfSatisfying(BatchAnswers.Answered.class, a -> {
          assertThat(a.result().content()).isEqualTo("27 * 453 = 12,231");
          assertThat(a.result().reasoning()).startsWith("Let me solve this step by step:").endsWith("= 12,231");
          assertThat(a.chunk().reasoning()).isEqualTo(a.result().reasoning());
          assertThat(a.result().message().extra().get("reasoning_signature").asText())
              .isEqualTo("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds...");
          assertThat(a.result().finishReason()).isEqualTo("stop");
          assertThat(a.result().usage()).as("the documentation shows none").isNull();
          assertThat(a.result().cost()).isNull();
        });
  }

  @Test
  void shouldFailAnErroredAnthropicResultWithTheProvidersErrorAndSendCanceledOrExpiredOnesLive() throws Exception {
    List<JsonNode> lines = lines("anthropic-results.jsonl");

    assertThat(BatchAnswers.anthropic(lines.get(1), member("my-second-request"), PRICED, ENQUEUED))
        .isInstanceOfSatisfying(BatchAnswers.Failed.class, f -> {
          assertThat(f.result().status()).isEqualTo(JobStatus.FAILED);
          assertThat(f.result().error().code()).isEqualTo(ErrorCodes.UPSTREAM_REJECTED);
          assertThat(f.result().error().message()).isEqualTo(
              "the provider failed the batch request: invalid_request_error: max_tokens: Field required");
        });
    assertThat(BatchAnswers.anthropic(lines.get(2), member("my-third-request"), PRICED, ENQUEUED))
        .isInstanceOfSatisfying(BatchAnswers.NotRun.class, n -> assertThat(n.reason()).endsWith("canceled"));
    assertThat(BatchAnswers.anthropic(lines.get(3), member("my-fourth-request"), PRICED, ENQUEUED))
        .isInstanceOfSatisfying(BatchAnswers.NotRun.class, n -> assertThat(n.reason()).endsWith("expired"));
  }

  @Test
  void shouldAnswerTheGuidesAnthropicResultExample() throws Exception {
    assertThat(BatchAnswers.anthropic(lines("anthropic-results.jsonl").get(0), member("my-first-request"), PRICED,
        ENQUEUED)).isInstanceOfSatisfying(BatchAnswers.Answered.class, a -> {
          assertThat(a.result().content()).isEqualTo("Hello again! It's nice to see you. How can I assist you today?");
          assertThat(a.result().finishReason()).isEqualTo("stop");
          assertThat(a.result().usage().totalTokens()).isEqualTo(47);
        });
  }

  @Test
  void shouldAnswerAnEmbeddingsLineWithTheVectorsAndNoChunkAsLive() throws Exception {
    JsonNode line = Json.mapper().readTree("""
        {"id": "batch_req_1", "custom_id": "e", "response": {"status_code": 200, "request_id": "r1", "body":
         {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.0023064255, -0.009327292]},
         {"object": "embedding", "index": 1, "embedding": [0.1, 0.2]}], "model": "text-embedding-3-small",
         "usage": {"prompt_tokens": 8, "total_tokens": 8}}}, "error": null}""");

    assertThat(BatchAnswers.openAi(line, embeddingsMember("e", "[\"a\", \"b\"]"), PRICED, ENQUEUED))
        .isInstanceOfSatisfying(BatchAnswers.Answered.class, a -> {
          assertThat(a.chunk()).isNull();
          assertThat(a.result().status()).isEqualTo(JobStatus.SUCCEEDED);
          assertThat(a.result().data()).hasSize(2);
          assertThat(a.result().data().get(0).embedding().toString()).isEqualTo("[0.0023064255,-0.009327292]");
          assertThat(a.result().usage().promptTokens()).isEqualTo(8);
          assertThat(a.result().cost()).isEqualTo(8 * 0.075 / 1e6);
          assertThat(a.result().model()).isEqualTo("text-embedding-3-small");
        });
    assertThat(BatchAnswers.openAi(line, embeddingsMember("e", "[\"a\", \"b\", \"c\"]"), PRICED, ENQUEUED))
        .as("two vectors for three inputs").isInstanceOfSatisfying(BatchAnswers.Failed.class,
            f -> assertThat(f.result().error().message()).contains("2 vectors for 3 inputs"));
  }

  static BatchRecords.Member embeddingsMember(String jobId, String input) {
    Job job = ((JobParser.Accepted) new JobParser(1 << 20).parse(("{\"job_id\": \"" + jobId + "\", \"model\": \"m\","
        + " \"batch\": \"allow\", \"endpoint\": \"/v1/embeddings\", \"input\": " + input + "}")
        .getBytes(StandardCharsets.UTF_8))).job();
    return new BatchRecords.Member("k", job.withReplyTo("llm.replies"), Priority.LOW, ENQUEUED,
        ENQUEUED.plusSeconds(86_400 * 2), 100);
  }

  private static List<JsonNode> anthropicLines() throws Exception {
    return read(Path.of("src", "test", "resources", "anthropic-batch", "results.jsonl"));
  }

  static BatchRecords.Member member(String jobId) {
    Job job = ((JobParser.Accepted) new JobParser(1 << 20).parse(("{\"job_id\": \"" + jobId + "\", \"model\": \"m\","
        + " \"batch\": \"allow\", \"metadata\": {\"run\": \"nightly\"}, \"messages\": [{\"role\": \"user\", "
        + "\"content\": \"What is 2 + 2?\"}]}").getBytes(StandardCharsets.UTF_8))).job();
    return new BatchRecords.Member("k", job.withReplyTo("llm.replies"), Priority.LOW, ENQUEUED,
        ENQUEUED.plusSeconds(86_400 * 2), 100);
  }

  private static List<JsonNode> lines(String file) throws Exception {
    return read(VECTORS.resolve(file));
  }

  private static List<JsonNode> read(Path file) throws Exception {
    return Files.readAllLines(file).stream().filter(l -> !l.isBlank()).map(l -> {
      try {
        return Json.mapper().readTree(l);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }).toList();
  }
}
