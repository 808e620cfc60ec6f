package io.promptfleet.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.FunctionCall;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.ToolCallDelta;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link ChunkListener#deliver}: a chunk of each kind reaches onChunk, then exactly the callback of its kind. */
class ChunkListenerTest {

  /** Records every callback as "name:argument". */
  static final class Recorder implements ChunkListener {
    final List<String> calls = new ArrayList<>();

    @Override
    public void onChunk(Chunk chunk) {
      calls.add("chunk:" + chunk.seq());
    }

    @Override
    public void onContent(String text) {
      calls.add("content:" + text);
    }

    @Override
    public void onReasoning(String text) {
      calls.add("reasoning:" + text);
    }

    @Override
    public void onRefusal(String text) {
      calls.add("refusal:" + text);
    }

    @Override
    public void onToolCallDelta(ToolCallDelta d) {
      calls.add("tool:" + d.index() + "," + d.id() + "," + d.type() + ","
          + (d.function() == null ? null : d.function().name() + "," + d.function().arguments()));
    }

    @Override
    public void onFunctionCallDelta(FunctionCall f) {
      calls.add("function:" + f.name() + "," + f.arguments());
    }

    @Override
    public void onExtra(JsonNode extra) {
      calls.add("extra:" + extra);
    }

    @Override
    public void onLogprobs(JsonNode logprobs) {
      calls.add("logprobs:" + logprobs);
    }

    @Override
    public void onFinish(String finishReason) {
      calls.add("finish:" + finishReason);
    }
  }

  /** A chunk as the worker writes it on the reply topic, read the way the client reads it. */
  private static Chunk wire(String json) {
    return (Chunk) Json.read(json.getBytes(StandardCharsets.UTF_8), Reply.class);
  }

  private static List<String> deliver(String json) {
    Recorder r = new Recorder();
    ChunkListener.deliver(r, wire(json));
    return r.calls;
  }

  @Test
  void shouldCallOnContentForATextChunk() {
    assertThat(deliver("{\"type\":\"chunk\",\"job_id\":\"j\",\"attempt\":1,\"seq\":0,\"delta\":\"Hello\"}"))
        .containsExactly("chunk:0", "content:Hello");
  }

  @Test
  void shouldCallOnReasoningAndNotOnContentForAReasoningChunk() {
    assertThat(deliver("{\"type\":\"chunk\",\"job_id\":\"j\",\"attempt\":1,\"seq\":1,\"delta\":\"\","
        + "\"reasoning\":\"Let me think\"}"))
        .containsExactly("chunk:1", "reasoning:Let me think");
  }

  @Test
  void shouldCallOnRefusalForARefusalChunk() {
    assertThat(deliver("{\"type\":\"chunk\",\"job_id\":\"j\",\"attempt\":1,\"seq\":2,\"delta\":\"\","
        + "\"refusal\":\"I can't help with that.\"}"))
        .containsExactly("chunk:2", "refusal:I can't help with that.");
  }

  @Test
  void shouldCallOnToolCallDeltaOncePerFragmentInOrder() {
    assertThat(deliver("{\"type\":\"chunk\",\"job_id\":\"j\",\"attempt\":1,\"seq\":3,\"delta\":\"\","
        + "\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\","
        + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}},"
        + "{\"index\":1,\"function\":{\"arguments\":\"{\\\"ci\"}}]}"))
        .containsExactly("chunk:3", "tool:0,call_1,function,get_weather,", "tool:1,null,null,null,{\"ci");
  }

  @Test
  void shouldCallOnFunctionCallDeltaForALegacyFunctionCallChunk() {
    assertThat(deliver("{\"type\":\"chunk\",\"job_id\":\"j\",\"attempt\":1,\"seq\":4,\"delta\":\"\","
        + "\"function_call\":{\"arguments\":\"{\\\"x\\\":1}\"}}"))
        .containsExactly("chunk:4", "function:null,{\"x\":1}");
  }

  @Test
  void shouldCallOnExtraForOtherDeltaFields() {
    assertThat(deliver("{\"type\":\"chunk\",\"job_id\":\"j\",\"attempt\":1,\"seq\":5,\"delta\":\"\","
        + "\"extra\":{\"audio\":{\"id\":\"a1\",\"data\":\"UklG\"}}}"))
        .containsExactly("chunk:5", "extra:{\"audio\":{\"id\":\"a1\",\"data\":\"UklG\"}}");
  }

  @Test
  void shouldCallOnLogprobsAndOnFinishAfterTheKind() {
    assertThat(deliver("{\"type\":\"chunk\",\"job_id\":\"j\",\"attempt\":1,\"seq\":6,\"delta\":\"!\","
        + "\"logprobs\":{\"content\":[{\"token\":\"!\",\"logprob\":-0.1}]},\"finish_reason\":\"stop\"}"))
        .containsExactly("chunk:6", "content:!", "logprobs:{\"content\":[{\"token\":\"!\",\"logprob\":-0.1}]}",
            "finish:stop");
  }

  @Test
  void shouldCallOnlyOnChunkAndOnFinishForAnEmptyFinalChunk() {
    assertThat(deliver("{\"type\":\"chunk\",\"job_id\":\"j\",\"attempt\":1,\"seq\":7,\"delta\":\"\","
        + "\"finish_reason\":\"tool_calls\"}"))
        .containsExactly("chunk:7", "finish:tool_calls");
  }

  @Test
  void shouldLetALambdaListenerSeeEveryChunkWithoutKindCallbacks() {
    List<Chunk> seen = new ArrayList<>();
    ChunkListener lambda = seen::add;
    Chunk c = new Chunk("j", 1, 0, "", null, "thinking", null, null, null, null, null);
    ChunkListener.deliver(lambda, c);
    assertThat(seen).containsExactly(c);
  }
}
