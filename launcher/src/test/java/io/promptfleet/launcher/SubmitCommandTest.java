package io.promptfleet.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.client.ChunkListener;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.AssistantMessage;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.FunctionCall;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.ToolCall;
import io.promptfleet.common.job.ToolCallDelta;
import io.promptfleet.common.job.Usage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What {@code promptfleet submit} prints for each kind of chunk. */
class SubmitCommandTest {

  private static Chunk text(long seq, String delta) {
    return new Chunk("j", 1, seq, delta, null);
  }

  private static Chunk reasoning(long seq, String r) {
    return new Chunk("j", 1, seq, "", null, r, null, null, null, null, null);
  }

  private static Chunk refusal(long seq, String r) {
    return new Chunk("j", 1, seq, "", null, null, r, null, null, null, null);
  }

  private static Chunk tool(long seq, ToolCallDelta... d) {
    return new Chunk("j", 1, seq, "", null, null, null, List.of(d), null, null, null);
  }

  private static Chunk finish(long seq, String reason) {
    return new Chunk("j", 1, seq, "", reason);
  }

  private static Result result(AssistantMessage m) {
    return new Result("j", 1, JobStatus.SUCCEEDED, m.content(), "stop", Usage.of(1, 1), "sim", "sim/sim", 1, null,
        null, null, null, m, null, null, null, null, null);
  }

  private static String render(boolean ansi, boolean showReasoning, Result r, Chunk... chunks) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    SubmitCommand.Renderer renderer = new SubmitCommand.Renderer(new PrintStream(bytes, true, StandardCharsets.UTF_8),
        ansi, showReasoning);
    for (Chunk c : chunks) {
      ChunkListener.deliver(renderer, c);
    }
    renderer.finish(r);
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  void shouldPrintAPlainAnswerExactlyAsItsDeltasAndOneNewline() {
    String out = render(true, true, result(AssistantMessage.text("Hello world")), text(0, "Hello"),
        text(1, " world"), finish(2, "stop"));
    assertThat(out).isEqualTo("Hello world\n");
  }

  @Test
  void shouldPrefixReasoningOffATerminalAndPutTheAnswerOnItsOwnLine() {
    String out = render(false, true, result(AssistantMessage.text("Hi!")), reasoning(0, "The user "),
        reasoning(1, "greets me."), text(2, "Hi!"));
    assertThat(out).isEqualTo("[reasoning] The user greets me.\nHi!\n");
  }

  @Test
  void shouldDimReasoningOnATerminal() {
    String out = render(true, true, result(AssistantMessage.text("Hi!")), reasoning(0, "Thinking."), text(1, "Hi!"));
    assertThat(out).isEqualTo("\u001b[2mThinking.\u001b[0m\nHi!\n");
  }

  @Test
  void shouldHideReasoningWhenNotAllowedAndSaySoInTheNotes() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    SubmitCommand.Renderer r = new SubmitCommand.Renderer(new PrintStream(bytes, true, StandardCharsets.UTF_8),
        false, false);
    ChunkListener.deliver(r, reasoning(0, "secret thoughts"));
    ChunkListener.deliver(r, text(1, "Answer"));
    r.finish(result(AssistantMessage.text("Answer")));
    assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualTo("Answer\n");
    assertThat(r.notes()).containsExactly(
        "(15 characters of reasoning not shown; --reasoning show prints them)");
  }

  @Test
  void shouldPrintEachToolCallOnceComplete() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    SubmitCommand.Renderer r = new SubmitCommand.Renderer(new PrintStream(bytes, true, StandardCharsets.UTF_8),
        false, true);
    ChunkListener.deliver(r, tool(0, new ToolCallDelta(0, "call_1", "function", new FunctionCall("get_weather", ""))));
    ChunkListener.deliver(r, tool(1, new ToolCallDelta(0, null, null, new FunctionCall(null, "{\"city\":\"Paris\"}"))));
    assertThat(bytes.toString(StandardCharsets.UTF_8)).as("not complete yet").isEmpty();
    ChunkListener.deliver(r, tool(2, new ToolCallDelta(1, "call_2", "function", new FunctionCall("get_time", "{}"))));
    assertThat(bytes.toString(StandardCharsets.UTF_8))
        .isEqualTo("[tool call] get_weather {\"city\":\"Paris\"} (call_1)\n");
    ChunkListener.deliver(r, finish(3, "tool_calls"));
    r.finish(result(new AssistantMessage("assistant", null, null, null, List.of(
        new ToolCall("call_1", "function", new FunctionCall("get_weather", "{\"city\":\"Paris\"}")),
        new ToolCall("call_2", "function", new FunctionCall("get_time", "{}"))), null, null)));
    assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualTo(
        "[tool call] get_weather {\"city\":\"Paris\"} (call_1)\n[tool call] get_time {} (call_2)\n");
  }

  @Test
  void shouldMarkARefusalClearly() {
    AssistantMessage m = new AssistantMessage("assistant", null, "I can't help with that.", null, null, null, null);
    assertThat(render(false, true, result(m), refusal(0, "I can't "), refusal(1, "help with that.")))
        .isEqualTo("[refusal] I can't help with that.\n");
    assertThat(render(true, true, result(m), refusal(0, "I can't help with that.")))
        .isEqualTo("\u001b[1;31m[refusal]\u001b[0m I can't help with that.\n");
  }

  @Test
  void shouldPrintALegacyFunctionCallAndTextBeforeIt() {
    Chunk f1 = new Chunk("j", 1, 1, "", null, null, null, null, new FunctionCall("lookup", "{\"q\":"), null, null);
    Chunk f2 = new Chunk("j", 1, 2, "", "function_call", null, null, null, new FunctionCall(null, "\"kafka\"}"), null,
        null);
    String out = render(false, true, result(AssistantMessage.text("Let me look.")), text(0, "Let me look."), f1, f2);
    assertThat(out).isEqualTo("Let me look.\n[function call] lookup {\"q\":\"kafka\"}\n");
  }

  @Test
  void shouldPrintTheOneChunkOfANonStreamingRouteKindByKind() {
    Chunk whole = new Chunk("j", 1, 0, "It is sunny.", "stop", "Check first.", null, List.of(
        new ToolCallDelta(0, "call_1", "function", new FunctionCall("get_weather", "{}"))), null, null, null);
    assertThat(render(false, true, result(AssistantMessage.text("It is sunny.")), whole))
        .isEqualTo("[reasoning] Check first.\nIt is sunny.\n[tool call] get_weather {} (call_1)\n");
  }

  @Test
  void shouldStartOverOnANewAttempt() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    SubmitCommand.Renderer r = new SubmitCommand.Renderer(new PrintStream(bytes, true, StandardCharsets.UTF_8),
        false, true);
    ChunkListener.deliver(r, text(0, "Hel"));
    r.onRestart(2);
    ChunkListener.deliver(r, new Chunk("j", 2, 0, "Hello", null));
    r.finish(result(AssistantMessage.text("Hello")));
    assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualTo("Hel\n[attempt 2]\nHello\n");
  }

  @Test
  void shouldReadParamValuesAsJsonElseAsText() throws Exception {
    assertThat(SubmitCommand.paramValue("0.2").doubleValue()).isEqualTo(0.2);
    assertThat(SubmitCommand.paramValue("required").asText()).isEqualTo("required");
    assertThat(SubmitCommand.paramValue("{\"type\":\"json_object\"}").path("type").asText()).isEqualTo("json_object");
    JsonNode summary = Json.mapper().readTree(SubmitCommand.summary(result(AssistantMessage.text("Hi"))));
    assertThat(summary.has("content")).isFalse();
    assertThat(summary.has("message")).isFalse();
    assertThat(summary.path("usage").path("total_tokens").asInt()).isEqualTo(2);
  }
}
