package io.promptfleet.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.AssistantMessage;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.FunctionCall;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.Timings;
import io.promptfleet.common.job.ToolCall;
import io.promptfleet.common.job.ToolCallDelta;
import io.promptfleet.common.job.Usage;
import java.io.IOException;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** {@code promptfleet tail}'s lines for each kind of chunk and for results with a message. */
class TailCommandTest {

  private static JsonNode json(String s) {
    try {
      return Json.mapper().readTree(s);
    } catch (IOException e) {
      throw new IllegalArgumentException(e);
    }
  }

  private static String line(Object reply) {
    return TailCommand.format(new ConsumerRecord<>("llm.replies", 0, 0L, "j-1", Json.bytes(reply)));
  }

  @Test
  void shouldPrintEachKindOfChunkReadably() {
    assertThat(line(new Chunk("j-1", 1, 0, "Hello", null))).isEqualTo("j-1  #1.0  \"Hello\"");
    assertThat(line(new Chunk("j-1", 1, 1, "", null, "Let me think", null, null, null, null, null)))
        .isEqualTo("j-1  #1.1  reasoning \"Let me think\"");
    assertThat(line(new Chunk("j-1", 1, 2, "", null, null, "I can't", null, null, null, null)))
        .isEqualTo("j-1  #1.2  refusal \"I can't\"");
    assertThat(line(new Chunk("j-1", 1, 3, "", null, null, null, List.of(
        new ToolCallDelta(0, "call_1", "function", new FunctionCall("get_weather", "")),
        new ToolCallDelta(0, null, null, new FunctionCall(null, "{\"ci"))), null, null, null)))
        .isEqualTo("j-1  #1.3  tool_calls [0] call_1 get_weather \"\"; [0] \"{\\\"ci\"");
    assertThat(line(new Chunk("j-1", 1, 4, "", null, null, null, null, new FunctionCall("lookup", "{}"), null,
        null))).isEqualTo("j-1  #1.4  function_call lookup \"{}\"");
    assertThat(line(new Chunk("j-1", 1, 5, "", null, null, null, null, null, json("{\"audio\":{\"id\":\"a1\"}}"),
        null))).isEqualTo("j-1  #1.5  extra {\"audio\":{\"id\":\"a1\"}}");
    assertThat(line(new Chunk("j-1", 1, 6, "!", "stop", null, null, null, null, null,
        json("{\"content\":[]}")))).isEqualTo("j-1  #1.6  \"!\"  (finish: stop)  +logprobs");
    assertThat(line(new Chunk("j-1", 1, 7, "", "tool_calls"))).isEqualTo("j-1  #1.7  \"\"  (finish: tool_calls)");
  }

  @Test
  void shouldPrintAResultWithUsageDetailsToolCallsAndRefusal() {
    AssistantMessage m = new AssistantMessage("assistant", null, null, "thinking...",
        List.of(new ToolCall("call_1", "function", new FunctionCall("get_weather", "{\"city\":\"Paris\"}"))), null,
        null);
    Result r = new Result("j-1", 1, JobStatus.SUCCEEDED, "", "tool_calls",
        new Usage(2006, 300, 2306, json("{\"cached_tokens\":1920}"), json("{\"reasoning_tokens\":256}")),
        "gpt-5-mini", "openai/gpt-5-mini", 1, new Timings(4, 310L, 2100, null), 0.0012, null, null, m, null, true,
        null, null, null);
    assertThat(line(r)).isEqualTo("""
        j-1  SUCCEEDED attempt 1, tool_calls, 2006+300 tokens (1920 cached, 256 reasoning), ttft 310 ms, \
        total 2100 ms, $0.001200
            reasoning: 11 characters
            tool_call call_1 get_weather {"city":"Paris"}
            logprobs truncated""");

    Result refused = new Result("j-2", 1, JobStatus.SUCCEEDED, "", "stop", Usage.of(5, 3), "m", "p/m", 1,
        new Timings(1, 50L, 90, 60L), null, null, null,
        new AssistantMessage("assistant", null, "I can't help with that.", null, null, null, null), null, null, null,
        null, null);
    assertThat(line(refused)).isEqualTo("""
        j-2  SUCCEEDED attempt 1, stop, 5+3 tokens, ttft 50 ms, first content 60 ms, total 90 ms
            refusal: "I can't help with that.\"""");
  }
}
