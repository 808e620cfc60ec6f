package io.promptfleet.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.JobParser;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.AssistantMessage;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.Embedding;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FunctionCall;
import io.promptfleet.common.job.JobError;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.Timings;
import io.promptfleet.common.job.ToolCall;
import io.promptfleet.common.job.ToolCallDelta;
import io.promptfleet.common.job.Usage;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The JSON Schemas of the contract (common/src/main/resources/schema) against records as the fleet writes them and
 * jobs as the client writes them. Reads the schemas from the source tree when present (so an edit is checked
 * before common is rebuilt), else from the classpath.
 */
class SchemaConformanceTest {
  private static final ContractSchema REPLY = schema("reply.schema.json");
  private static final ContractSchema JOB = schema("job.schema.json");

  private static ContractSchema schema(String name) {
    try {
      Path src = Path.of("..", "common", "src", "main", "resources", "schema", name);
      if (Files.isReadable(src)) {
        return new ContractSchema(Json.mapper().readTree(src.toFile()));
      }
      try (InputStream in = SchemaConformanceTest.class.getResourceAsStream("/schema/" + name)) {
        return new ContractSchema(Json.mapper().readTree(in));
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode json(String s) {
    try {
      return Json.mapper().readTree(s);
    } catch (IOException e) {
      throw new IllegalArgumentException(e);
    }
  }

  /** A record as it goes on the wire: serialised as the worker does ({@code Json.bytes}). */
  private static JsonNode wire(Reply r) {
    return json(Json.string(r));
  }

  static final Chunk TEXT = new Chunk("j-1", 1, 0, "Hello", null);
  static final Chunk REASONING = new Chunk("j-1", 1, 1, "", null, "The user greets me.", null, null, null, null, null);
  static final Chunk REFUSAL = new Chunk("j-1", 1, 2, "", null, null, "I can't help with that.", null, null, null,
      null);
  static final Chunk TOOL_CALL = new Chunk("j-1", 1, 3, "", null, null, null,
      List.of(new ToolCallDelta(0, "call_abc", "function", new FunctionCall("get_weather", "")),
          new ToolCallDelta(0, null, null, new FunctionCall(null, "{\"city\":\"Paris\"}"))), null, null, null);
  static final Chunk FUNCTION_CALL = new Chunk("j-1", 1, 4, "", null, null, null, null,
      new FunctionCall("lookup", "{\"q\":"), null, null);
  static final Chunk EXTRA = new Chunk("j-1", 1, 5, "", null, null, null, null, null,
      json("{\"audio\":{\"id\":\"audio_1\",\"data\":\"UklGR\"}}"), null);
  static final Chunk LAST = new Chunk("j-1", 1, 6, "!", "tool_calls", null, null, null, null, null,
      json("{\"content\":[{\"token\":\"!\",\"logprob\":-0.01,\"bytes\":[33],\"top_logprobs\":[]}]}"));

  static Result toolCallResult() {
    AssistantMessage m = new AssistantMessage("assistant", null, null, "The user wants the weather.",
        List.of(new ToolCall("call_abc", "function", new FunctionCall("get_weather", "{\"city\":\"Paris\"}"))),
        null, Map.of("annotations", json("[]")));
    return new Result("j-1", 1, JobStatus.SUCCEEDED, "", "tool_calls",
        new Usage(2006, 300, 2306, json("{\"cached_tokens\":1920,\"audio_tokens\":0}"),
            json("{\"reasoning_tokens\":256,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}")),
        "gpt-5-mini", "openai/gpt-5-mini", 1, new Timings(4, 310L, 2100, null), 0.0012, null,
        json("{\"ticket\":42}"), m, json("{\"content\":[{\"token\":\"x\",\"logprob\":-0.5}],\"refusal\":null}"), false,
        "fp_44709d6fcb", "default", "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG");
  }

  @Test
  void shouldAcceptAChunkOfEveryKind() {
    for (Chunk c : List.of(TEXT, REASONING, REFUSAL, TOOL_CALL, FUNCTION_CALL, EXTRA, LAST)) {
      assertThat(REPLY.problems(wire(c))).as("chunk %d: %s", c.seq(), wire(c)).isEmpty();
    }
    assertThat(wire(TOOL_CALL)).isEqualTo(json("""
        {"type":"chunk","job_id":"j-1","attempt":1,"seq":3,"delta":"",
         "tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":""}},
                       {"index":0,"function":{"arguments":"{\\"city\\":\\"Paris\\"}"}}]}"""));
  }

  @Test
  void shouldAcceptResultsWithAMessageAndWithoutOne() {
    JsonNode r = wire(toolCallResult());
    assertThat(REPLY.problems(r)).as(r.toString()).isEmpty();
    assertThat(r.path("message").path("tool_calls").get(0).path("function").path("arguments").asText())
        .isEqualTo("{\"city\":\"Paris\"}");
    assertThat(r.path("message").has("annotations")).as("extra fields at the message's top level").isTrue();
    assertThat(r.path("usage").path("prompt_tokens_details").path("cached_tokens").asInt()).isEqualTo(1920);

    Result text = new Result("j-2", 1, JobStatus.SUCCEEDED, "Hello world", "stop", Usage.of(3, 2), "sim", "sim/sim",
        1, new Timings(4, 51L, 98), 0.0000021, null, null, AssistantMessage.text("Hello world"), null, null, null,
        null, null);
    assertThat(REPLY.problems(wire(text))).isEmpty();

    Result rejected = Result.terminal("j-3", JobStatus.REJECTED, new JobError(ErrorCodes.FIELD_NOT_ALLOWED,
        "api_key is not allowed in a job: keys, endpoints and headers are configured in the fleet", false), null, 0);
    assertThat(REPLY.problems(wire(rejected))).isEmpty();
    Result invalid = Result.terminal("j-4", JobStatus.FAILED, new JobError(ErrorCodes.INVALID_OUTPUT,
        "the answer does not match the schema", false), null, 2);
    assertThat(REPLY.problems(wire(invalid))).isEmpty();
  }

  @Test
  void shouldAcceptTheOneChunkOfANonStreamingRouteWithEveryKind() {
    Chunk whole = new Chunk("j-1", 1, 0, "It is sunny.", null, "Check the tool.", null,
        List.of(new ToolCallDelta(0, "call_abc", "function", new FunctionCall("get_weather", "{}"))), null,
        json("{\"annotations\":[]}"), null);
    assertThat(REPLY.problems(wire(whole))).isEmpty();
  }

  @Test
  void shouldRejectWhatTheContractExcludes() {
    ObjectNode badKind = (ObjectNode) wire(REASONING);
    badKind.put("reasoning", 42);
    assertThat(REPLY.problems(badKind)).isNotEmpty();
    ObjectNode noIndex = (ObjectNode) wire(TOOL_CALL);
    ((ObjectNode) noIndex.path("tool_calls").get(0)).remove("index");
    assertThat(REPLY.problems(noIndex)).isNotEmpty();
    ObjectNode noDelta = (ObjectNode) wire(TEXT);
    noDelta.remove("delta");
    assertThat(REPLY.problems(noDelta)).isNotEmpty();
    ObjectNode failedWithoutError = (ObjectNode) wire(toolCallResult());
    failedWithoutError.put("status", "failed");
    assertThat(REPLY.problems(failedWithoutError)).isNotEmpty();
    ObjectNode badToolCall = (ObjectNode) wire(toolCallResult());
    ((ObjectNode) badToolCall.path("message").path("tool_calls").get(0)).remove("function");
    assertThat(REPLY.problems(badToolCall)).isNotEmpty();
  }

  @Test
  void shouldDocumentEveryErrorCode() throws Exception {
    JsonNode root = json(Files.exists(Path.of("../common/src/main/resources/schema/reply.schema.json"))
        ? Files.readString(Path.of("../common/src/main/resources/schema/reply.schema.json")) : "{}");
    List<String> documented = new ArrayList<>();
    root.path("$defs").path("error").path("properties").path("code").path("examples")
        .forEach(c -> documented.add(c.asText()));
    List<String> codes = new ArrayList<>();
    for (Field f : ErrorCodes.class.getFields()) {
      if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class) {
        codes.add((String) f.get(null));
      }
    }
    assertThat(documented).containsExactlyInAnyOrderElementsOf(codes);
  }

  @Test
  void shouldAcceptJobsTheClientWritesWithPassThroughFields() {
    JsonNode tools = json("[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{}}}]");
    JsonNode job = JobRequest.prompt("hi").jobId("j-1").maxCompletionTokens(500).reasoningEffort("low")
        .tools(tools).toolChoice("auto").param("chat_template_kwargs", Map.of("enable_thinking", true))
        .param("stream", true).build().toJson("llm.replies", "sim");
    assertThat(JOB.problems(job)).isEmpty();

    JsonNode toolTurn = json("""
        {"job_id":"j-2","model":"sim","messages":[
          {"role":"user","content":"Weather in Paris?"},
          {"role":"assistant","content":null,"tool_calls":[{"id":"call_abc","type":"function",
            "function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}}]},
          {"role":"tool","tool_call_id":"call_abc","content":"18 C, sunny"}]}""");
    assertThat(JOB.problems(toolTurn)).isEmpty();
    assertThat(new JobParser(1 << 20).parse(Json.bytes(toolTurn))).isInstanceOf(JobParser.Accepted.class);
  }

  @Test
  void shouldAcceptEmbeddingsJobsAndResultsAndRejectMixedJobs() {
    JsonNode job = JobRequest.embeddings(json("[\"a\",\"b\"]")).jobId("e-1").param("dimensions", 256)
        .param("encoding_format", "base64").build().toJson("llm.replies", "emb");
    assertThat(JOB.problems(job)).isEmpty();
    assertThat(new JobParser(1 << 20).parse(Json.bytes(job))).isInstanceOf(JobParser.Accepted.class);
    for (String input : List.of("\"x\"", "[1,2,3]", "[[1,2],[3]]")) {
      assertThat(JOB.problems(json("{\"job_id\":\"e\",\"model\":\"m\",\"endpoint\":\"/v1/embeddings\",\"input\":"
          + input + "}"))).as(input).isEmpty();
    }

    String head = "{\"job_id\":\"e\",\"model\":\"m\",";
    String messages = "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]";
    List<String> rejectedByBoth = List.of(
        head + "\"endpoint\":\"/v1/embeddings\"}",
        head + "\"endpoint\":\"/v1/embeddings\",\"input\":\"x\"," + messages + "}",
        head + "\"endpoint\":\"/v1/embeddings\",\"input\":\"x\",\"stream\":true}",
        head + "\"endpoint\":\"/v1/embeddings\",\"input\":\"x\",\"encoding_format\":\"int8\"}",
        head + "\"endpoint\":\"/v1/embeddings\",\"input\":[]}",
        head + "\"endpoint\":\"/v1/completions\"," + messages + "}",
        head + messages + ",\"input\":\"x\"}",
        head + "\"input\":\"x\"}");
    for (String bad : rejectedByBoth) {
      assertThat(JOB.problems(json(bad))).as(bad).isNotEmpty();
      assertThat(new JobParser(1 << 20).parse(bad.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
          .as(bad).isInstanceOf(JobParser.Rejection.class);
    }

    Result vectors = new Result("e-1", 1, JobStatus.SUCCEEDED, null, null, new Usage(8, 0, 8),
        "text-embedding-3-small", "openai/text-embedding-3-small", 1, new Timings(4, null, 98), 0.0000002, null,
        null, null, null, null, null, null, null,
        List.of(new Embedding(0, json("[0.0023064255,-0.009327292]")), new Embedding(1, json("\"AACAPw==\""))));
    JsonNode wire = wire(vectors);
    assertThat(REPLY.problems(wire)).as(wire.toString()).isEmpty();
    assertThat(wire.path("data").get(1)).isEqualTo(json("{\"index\":1,\"embedding\":\"AACAPw==\"}"));
    ObjectNode noIndex = (ObjectNode) wire.deepCopy();
    ((ObjectNode) noIndex.path("data").get(0)).remove("index");
    assertThat(REPLY.problems(noIndex)).isNotEmpty();
  }

  @Test
  void shouldRejectForbiddenFieldsStreamFalseAndMessagesWithoutContent() {
    String ok = "\"job_id\":\"j\",\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]";
    for (String field : JobParser.FORBIDDEN) {
      assertThat(JOB.problems(json("{" + ok + ",\"" + field + "\":\"v\"}"))).as(field).isNotEmpty();
    }
    assertThat(JOB.problems(json("{" + ok + ",\"stream\":false}"))).isNotEmpty();
    assertThat(JOB.problems(json("{" + ok + ",\"max_completion_tokens\":0}"))).isNotEmpty();
    assertThat(JOB.problems(json("{\"job_id\":\"j\",\"model\":\"m\",\"messages\":[{\"role\":\"user\"}]}")))
        .isNotEmpty();
  }
}
