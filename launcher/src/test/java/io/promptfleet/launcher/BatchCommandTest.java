package io.promptfleet.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.JobParser;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.AssistantMessage;
import io.promptfleet.common.job.Embedding;
import io.promptfleet.common.job.Endpoint;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FunctionCall;
import io.promptfleet.common.job.JobError;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.Timings;
import io.promptfleet.common.job.ToolCall;
import io.promptfleet.common.job.Usage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The batch's input → job mapping, its result → OpenAI batch output line mapping, and its progress counts. */
class BatchCommandTest {
  private static final long CREATED = 1_767_225_600L;

  private static JsonNode json(String s) {
    try {
      return Json.mapper().readTree(s);
    } catch (IOException e) {
      throw new IllegalArgumentException(e);
    }
  }

  /** Whitespace-free JSON text, to compare lines exactly (field order included). */
  private static String compact(String s) {
    return Json.string(json(s));
  }

  private static Result result(AssistantMessage m, String content, String finish, Usage usage, JsonNode logprobs,
      String fingerprint, String tier, String completionId) {
    return new Result("batch-abc-req-1", 1, JobStatus.SUCCEEDED, content, finish, usage, "gpt-5-mini",
        "openai/gpt-5-mini", 1, new Timings(3, 200L, 900, 700L), 0.0021, null, null, m, logprobs, null, fingerprint,
        tier, completionId);
  }

  @Test
  void shouldWriteToolCallsReasoningAndUsageDetailsOfASucceededResult() {
    AssistantMessage m = new AssistantMessage("assistant", null, null, "The user wants the weather in Paris.",
        List.of(new ToolCall("call_abc", "function", new FunctionCall("get_weather", "{\"city\":\"Paris\"}")),
            new ToolCall("call_def", "function", new FunctionCall("get_time", "{\"tz\":\"CET\"}"))),
        null, null);
    Usage usage = new Usage(2006, 300, 2306, json("{\"cached_tokens\":1920,\"audio_tokens\":0}"),
        json("{\"reasoning_tokens\":256,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}"));
    String line = BatchCommand.resultLine("req-1", result(m, "", "tool_calls", usage, null, "fp_44709d6fcb",
        "default", "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"), CREATED);

    assertThat(line).isEqualTo(compact("""
        {"id":"batch_req_batch-abc-req-1","custom_id":"req-1",
         "response":{"status_code":200,"request_id":"batch-abc-req-1","body":{
           "id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion","created":1767225600,
           "model":"gpt-5-mini",
           "choices":[{"index":0,
             "message":{"role":"assistant","content":null,"refusal":null,
               "reasoning":"The user wants the weather in Paris.",
               "tool_calls":[
                 {"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}},
                 {"id":"call_def","type":"function","function":{"name":"get_time","arguments":"{\\"tz\\":\\"CET\\"}"}}]},
             "logprobs":null,"finish_reason":"tool_calls"}],
           "usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,
             "prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},
             "completion_tokens_details":{"reasoning_tokens":256,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},
           "service_tier":"default","system_fingerprint":"fp_44709d6fcb"}},
         "error":null}"""));
  }

  @Test
  void shouldWriteARefusalWithLogprobsAndExtraMessageFields() {
    AssistantMessage m = new AssistantMessage("assistant", null, "I can't help with that.", null, null, null,
        new java.util.LinkedHashMap<>(Map.of("annotations", json("[]"))));
    JsonNode logprobs = json("{\"content\":null,\"refusal\":[{\"token\":\"I\",\"logprob\":-0.02,\"bytes\":[73],"
        + "\"top_logprobs\":[]}]}");
    String line = BatchCommand.resultLine("req-2", result(m, "", "stop", Usage.of(12, 7), logprobs, null, null,
        null), CREATED);

    assertThat(line).isEqualTo(compact("""
        {"id":"batch_req_batch-abc-req-1","custom_id":"req-2",
         "response":{"status_code":200,"request_id":"batch-abc-req-1","body":{
           "id":"chatcmpl-batch-abc-req-1","object":"chat.completion","created":1767225600,"model":"gpt-5-mini",
           "choices":[{"index":0,
             "message":{"role":"assistant","content":null,"refusal":"I can't help with that.","annotations":[]},
             "logprobs":{"content":null,"refusal":[{"token":"I","logprob":-0.02,"bytes":[73],"top_logprobs":[]}]},
             "finish_reason":"stop"}],
           "usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}},
         "error":null}"""));
  }

  @Test
  void shouldWriteAPlainAnswerAsBeforeAndAResultWithoutAMessageFromItsContent() {
    String withMessage = BatchCommand.resultLine("req-3", result(AssistantMessage.text("Hello"), "Hello", "stop",
        Usage.of(3, 1), null, null, null, null), CREATED);
    String withoutMessage = BatchCommand.resultLine("req-3", result(null, "Hello", "stop", Usage.of(3, 1), null,
        null, null, null), CREATED);
    assertThat(withMessage).isEqualTo(withoutMessage).isEqualTo(compact("""
        {"id":"batch_req_batch-abc-req-1","custom_id":"req-3",
         "response":{"status_code":200,"request_id":"batch-abc-req-1","body":{
           "id":"chatcmpl-batch-abc-req-1","object":"chat.completion","created":1767225600,"model":"gpt-5-mini",
           "choices":[{"index":0,"message":{"role":"assistant","content":"Hello","refusal":null},
             "logprobs":null,"finish_reason":"stop"}],
           "usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}},
         "error":null}"""));
  }

  @Test
  void shouldWriteARejectedResultAsAnErrorNamingTheField() {
    Result rejected = Result.terminal("batch-abc-req-4", JobStatus.REJECTED, new JobError(
        ErrorCodes.FIELD_NOT_ALLOWED, "api_key is not allowed in a job: keys, endpoints and headers are configured"
        + " in the fleet", false), null, 0);
    assertThat(BatchCommand.resultLine("req-4", rejected, CREATED)).isEqualTo(compact("""
        {"id":"batch_req_batch-abc-req-4","custom_id":"req-4","response":null,
         "error":{"code":"field_not_allowed","message":"rejected: api_key is not allowed in a job: keys, endpoints\
         and headers are configured in the fleet"}}"""));
    Result invalid = Result.terminal("batch-abc-req-5", JobStatus.FAILED, new JobError(ErrorCodes.INVALID_OUTPUT,
        "the answer does not match the schema", false), null, 2);
    assertThat(json(BatchCommand.resultLine("req-5", invalid, CREATED)).path("error").path("code").asText())
        .isEqualTo("invalid_output");
  }

  @Test
  void shouldPassEveryBodyFieldToTheJobButStream() {
    ObjectNode body = (ObjectNode) json("""
        {"model":"gpt-5-mini","messages":[{"role":"user","content":"Weather in Paris?"}],
         "max_completion_tokens":1000,"reasoning_effort":"low","temperature":1,"top_p":0.9,"seed":7,
         "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],
         "tool_choice":"auto","parallel_tool_calls":false,"response_format":{"type":"json_object"},
         "logprobs":true,"top_logprobs":2,"stream":false,"stream_options":{"include_obfuscation":false},
         "modalities":["text"],"prediction":{"type":"content","content":"x"},"verbosity":"low","user":"u-1",
         "store":true,"metadata":{"batch":"b1"},"service_tier":"flex","chat_template_kwargs":{"enable_thinking":true},
         "logit_bias":{"50256":-100}}""");
    JsonNode job = BatchCommand.job("abc", "req-1", Endpoint.CHAT_COMPLETIONS, body, Priority.LOW)
        .toJson("llm.replies", null);

    List<String> missing = new ArrayList<>();
    body.fieldNames().forEachRemaining(f -> {
      if (!f.equals("stream") && !body.get(f).equals(job.get(f))) {
        missing.add(f);
      }
    });
    assertThat(missing).as("body fields not passed on as given").isEmpty();
    assertThat(job.has("stream")).isFalse();
    assertThat(job.get("job_id").asText()).isEqualTo("batch-abc-req-1");
    assertThat(new JobParser(1 << 20).parse(Json.bytes(job))).isInstanceOf(JobParser.Accepted.class);
  }

  @Test
  void shouldMarkEveryLineBatchAllowedWithItsDeadlineWhenAskedForProviderBatching() {
    ObjectNode body = (ObjectNode) json("""
        {"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":10}""");

    JsonNode job = BatchCommand.job("abc", "req-1", Endpoint.CHAT_COMPLETIONS, body, Priority.LOW, true,
        java.time.Duration.ofHours(26)).toJson("llm.replies", null);

    assertThat(job.get("batch").asText()).isEqualTo("allow");
    assertThat(job.get("ttl_ms").asLong()).isEqualTo(26 * 3_600_000L);
    assertThat(Durations.parse("26h")).as("--ttl 26h").isEqualTo(java.time.Duration.ofHours(26));
    assertThat(((JobParser.Accepted) new JobParser(1 << 20).parse(Json.bytes(job))).job().batchAllowed()).isTrue();
    assertThat(BatchCommand.job("abc", "req-1", Endpoint.CHAT_COMPLETIONS, body, Priority.LOW)
        .toJson("llm.replies", null).has("batch")).as("live unless asked").isFalse();
  }

  @Test
  void shouldTurnAnEmbeddingsLineIntoAnEmbeddingsJobWithEveryBodyField() {
    ObjectNode body = (ObjectNode) json("""
        {"model":"text-embedding-3-small","input":["a","b"],"dimensions":256,"encoding_format":"base64",
         "user":"u-1"}""");

    JsonNode job = BatchCommand.job("abc", "emb-1", Endpoint.EMBEDDINGS, body, Priority.LOW)
        .toJson("llm.replies", null);

    assertThat(job).isEqualTo(json("""
        {"endpoint":"/v1/embeddings","input":["a","b"],"model":"text-embedding-3-small","dimensions":256,
         "encoding_format":"base64","user":"u-1","job_id":"batch-abc-emb-1","reply_to":"llm.replies"}"""));
    assertThat(new JobParser(1 << 20).parse(Json.bytes(job))).isInstanceOf(JobParser.Accepted.class);
  }

  @Test
  void shouldWriteAnEmbeddingsResultAsOpenAisEmbeddingsListBody() {
    Result r = new Result("batch-abc-emb-1", 1, JobStatus.SUCCEEDED, null, null, new Usage(8, 0, 8), "emb-model",
        "sim/emb", 1, null, null, null, null, null, null, null, null, null, null,
        List.of(new Embedding(0, json("[0.0023064255,-0.009327292]")), new Embedding(1, json("\"AACAPw==\""))));

    assertThat(BatchCommand.resultLine("emb-1", r, CREATED)).isEqualTo(compact("""
        {"id":"batch_req_batch-abc-emb-1","custom_id":"emb-1","response":{"status_code":200,
          "request_id":"batch-abc-emb-1","body":{"object":"list","data":[
            {"object":"embedding","index":0,"embedding":[0.0023064255,-0.009327292]},
            {"object":"embedding","index":1,"embedding":"AACAPw=="}],
          "model":"emb-model","usage":{"prompt_tokens":8,"total_tokens":8}}},"error":null}"""));
  }

  @Test
  void shouldNameEveryForbiddenFieldOfABody() {
    ObjectNode body = (ObjectNode) json("""
        {"model":"m","messages":[{"role":"user","content":"x"}],"base_url":"http://evil","api_key":"sk-1",
         "temperature":0}""");
    List<String> forbidden = BatchCommand.forbiddenFields(body);
    assertThat(forbidden).containsExactly("api_key", "base_url");
    assertThat(BatchCommand.errorLine("batch-abc-req-6", "req-6", ErrorCodes.FIELD_NOT_ALLOWED,
        BatchCommand.forbiddenMessage(forbidden)))
        .isEqualTo(compact("""
            {"id":"batch_req_batch-abc-req-6","custom_id":"req-6","response":null,"error":{"code":"field_not_allowed",
             "message":"body.api_key, body.base_url are not allowed: keys, endpoints and headers are configured in\
             the fleet"}}"""));
  }

  @Test
  void shouldKeepJobIdsWithinTheFleetsLimitForLongCustomIds() {
    assertThat(BatchCommand.jobId("abc", "req-1")).isEqualTo("batch-abc-req-1");
    String longId = BatchCommand.jobId("abc", "x".repeat(300));
    assertThat(longId).hasSizeLessThanOrEqualTo(256).startsWith("batch-abc-h")
        .isEqualTo(BatchCommand.jobId("abc", "x".repeat(300)));
  }

  @Test
  void shouldCountASentLineInFlightUntilItsLineIsWritten() {
    BatchProgress p = new BatchProgress(4, 1, false, new PrintWriter(new StringWriter()));

    p.sent();
    p.sent();
    p.answered(true);
    p.done(false); // a line never sent

    assertThat(p.line()).startsWith("2/3 done, 1 failed, 1 in flight, ");
    assertThat(p.failed()).isEqualTo(1);
  }
}
