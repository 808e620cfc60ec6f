package io.promptfleet.simulator.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.promptfleet.simulator.Fault;
import io.promptfleet.simulator.Fault.ErrorEventForm;
import org.junit.jupiter.api.Test;

class DirectivesTest {

  @Test
  void shouldFindNoDirectiveInPlainText() throws Exception {
    assertThat(Directives.parse("hello [sim:status code=500] [[ sim ]]")).isEmpty();
  }

  @Test
  void shouldParseEveryFaultKind() throws Exception {
    assertThat(Directives.parse("hello [[sim:status code=503 times=1]]"))
        .containsExactly(Fault.status(503).times(1));
    assertThat(Directives.parseOne("[[sim:status code=429 retry_after_ms=200 retry_after=3 retry_after_date=9 quota=true]]"))
        .isEqualTo(Fault.status(429).retryAfterMs(200).retryAfterSeconds(3).retryAfterDate(9).quota());
    assertThat(Directives.parseOne("[[sim:reset]]")).isEqualTo(Fault.reset());
    assertThat(Directives.parseOne("[[sim:cut after=3]]")).isEqualTo(Fault.cut(3));
    assertThat(Directives.parseOne("[[sim:stall after=0]]")).isEqualTo(Fault.stall(0));
    assertThat(Directives.parseOne("[[sim:error_event after=2 form=event]]"))
        .isEqualTo(Fault.errorEvent(2, ErrorEventForm.EVENT));
    assertThat(Directives.parseOne("[[sim:no_done]]")).isEqualTo(Fault.noDone());
    assertThat(Directives.parseOne("[[sim:bad_json after=4]]")).isEqualTo(Fault.badJson(4));
    assertThat(Directives.parseOne("[[sim:giant_line bytes=10]]")).isEqualTo(Fault.giantLine(10));
    assertThat(Directives.parseOne("[[sim:keepalive every=2]]")).isEqualTo(Fault.keepalive(2));
    assertThat(Directives.parseOne("[[sim:crlf]]")).isEqualTo(Fault.crlf());
    assertThat(Directives.parseOne("[[sim:slow ttft_ms=10 tps=2.5]]")).isEqualTo(Fault.slow(10, 2.5));
  }

  @Test
  void shouldParseEveryAnswerShape() throws Exception {
    assertThat(Directives.parseOne("[[sim:tool_calls n=2 split=7]]")).isEqualTo(Fault.toolCalls(2).split(7));
    assertThat(Directives.parseOne("[[sim:tool_calls n=1 text=true]]")).isEqualTo(Fault.toolCalls(1).withText());
    assertThat(Directives.parseOne("[[sim:tool_calls text=false]]")).isEqualTo(Fault.toolCalls(1));
    assertThat(Directives.parseOne("[[sim:function_call split=3]]")).isEqualTo(Fault.functionCall().split(3));
    assertThat(Directives.parseOne("[[sim:reasoning tokens=20 ms=3000 field=reasoning_content]]"))
        .isEqualTo(Fault.reasoning(20).reasoningMs(3000));
    assertThat(Directives.parseOne("[[sim:reasoning tokens=5 field=reasoning hidden=true]]"))
        .isEqualTo(Fault.reasoning(5).field(Fault.ReasoningField.REASONING).hidden());
    assertThat(Directives.parseOne("[[sim:refusal]]")).isEqualTo(Fault.refusal());
    assertThat(Directives.parseOne("[[sim:reply b64=eyJvayI6dHJ1ZX0= times=1]]"))
        .isEqualTo(Fault.reply("{\"ok\":true}").times(1));
    assertThat(Directives.parseOne("[[sim:reply b64=R3LDvMOfZSDwn5qA chunk=2]]"))
        .isEqualTo(Fault.reply("Grüße \uD83D\uDE80").chunk(2));
    assertThat(Directives.parseOne("[[sim:cached tokens=12]]")).isEqualTo(Fault.cached(12));
  }

  @Test
  void shouldApplyDefaultsForOmittedAnswerShapeParameters() throws Exception {
    assertThat(Directives.parseOne("[[sim:tool_calls]]")).isEqualTo(Fault.toolCalls(1).split(Fault.DEFAULT_SPLIT));
    assertThat(Directives.parseOne("[[sim:function_call]]")).isEqualTo(Fault.functionCall().split(8));
    assertThat(Directives.parseOne("[[sim:reasoning]]")).isEqualTo(Fault.reasoning(Fault.DEFAULT_REASONING_TOKENS));
    assertThat(Directives.parseOne("[[sim:reply b64=aGk]]").chunk()).isEqualTo(Fault.DEFAULT_REPLY_CHUNK);
  }

  @Test
  void shouldRejectMalformedAnswerShapesWithAReason() {
    assertThatThrownBy(() -> Directives.parse("[[sim:tool_calls n=0]]")).hasMessageContaining("n must be between 1 and 128");
    assertThatThrownBy(() -> Directives.parse("[[sim:tool_calls split=0]]")).hasMessageContaining("split must be >= 1");
    assertThatThrownBy(() -> Directives.parse("[[sim:tool_calls text=yes]]")).hasMessageContaining("text must be true or false");
    assertThatThrownBy(() -> Directives.parse("[[sim:function_call n=2]]")).hasMessageContaining("unknown parameter 'n' for function_call");
    assertThatThrownBy(() -> Directives.parse("[[sim:reasoning tokens=0]]")).hasMessageContaining("tokens must be between 1 and 100000");
    assertThatThrownBy(() -> Directives.parse("[[sim:reasoning ms=-1]]")).hasMessageContaining("ms must be >= 0");
    assertThatThrownBy(() -> Directives.parse("[[sim:reasoning field=thinking]]"))
        .hasMessageContaining("field must be reasoning_content or reasoning, was 'thinking'");
    assertThatThrownBy(() -> Directives.parse("[[sim:refusal text=no]]")).hasMessageContaining("unknown parameter 'text' for refusal");
    assertThatThrownBy(() -> Directives.parse("[[sim:reply]]")).hasMessageContaining("reply needs b64=");
    assertThatThrownBy(() -> Directives.parse("[[sim:reply b64=%%%]]")).hasMessageContaining("b64 is not valid base64");
    assertThatThrownBy(() -> Directives.parse("[[sim:reply b64=/w==]]")).hasMessageContaining("b64 does not encode UTF-8 text");
    assertThatThrownBy(() -> Directives.parse("[[sim:reply b64=aGk chunk=0]]")).hasMessageContaining("chunk must be >= 1");
    assertThatThrownBy(() -> Directives.parse("[[sim:cached]]")).hasMessageContaining("cached needs tokens=N");
    assertThatThrownBy(() -> Directives.parse("[[sim:cached tokens=-1]]")).hasMessageContaining("tokens must be >= 0");
  }

  @Test
  void shouldRejectAnswerShapeParametersOfAnotherKindProgrammatically() {
    assertThatThrownBy(() -> Fault.refusal().split(3)).isInstanceOf(IllegalStateException.class)
        .hasMessage("split applies to tool_calls and function_call faults only, not refusal");
    assertThatThrownBy(() -> Fault.toolCalls(1).hidden()).hasMessage("hidden applies to reasoning faults only, not tool_calls");
    assertThatThrownBy(() -> Fault.reply("\uD800x")).hasMessageContaining("unpaired surrogate at index 0");
    assertThatThrownBy(() -> Fault.reply("")).hasMessageContaining("non-empty");
  }

  @Test
  void shouldTellAnswerShapesFromFaults() {
    assertThat(java.util.Arrays.stream(io.promptfleet.simulator.FaultKind.values())
            .filter(io.promptfleet.simulator.FaultKind::shapesAnswer).map(Enum::name))
        .containsExactly("TOOL_CALLS", "FUNCTION_CALL", "REASONING", "REFUSAL", "REPLY", "CACHED");
  }

  @Test
  void shouldApplyDefaultsForOmittedParameters() throws Exception {
    assertThat(Directives.parseOne("[[sim:cut]]")).isEqualTo(Fault.cut(Fault.DEFAULT_AFTER));
    assertThat(Directives.parseOne("[[sim:error_event]]")).isEqualTo(Fault.errorEvent(1, ErrorEventForm.DATA));
    assertThat(Directives.parseOne("[[sim:giant_line]]")).isEqualTo(Fault.giantLine());
    assertThat(Directives.parseOne("[[sim:keepalive]]")).isEqualTo(Fault.keepalive(1));
    assertThat(Directives.parseOne("[[sim:slow]]")).isEqualTo(Fault.slow());
  }

  @Test
  void shouldParseSeveralDirectivesInOrderWithLooseWhitespace() throws Exception {
    assertThat(Directives.parse("a [[sim:crlf]] b [[sim:  keepalive   every=3 ]] c [[sim:STATUS code=500 probability=0.5]]"))
        .containsExactly(Fault.crlf(), Fault.keepalive(3), Fault.status(500).probability(0.5));
  }

  @Test
  void shouldRejectMalformedDirectivesWithAReason() {
    assertThatThrownBy(() -> Directives.parse("[[sim:boom]]")).hasMessageContaining("unknown fault 'boom'");
    assertThatThrownBy(() -> Directives.parse("[[sim:]]")).hasMessageContaining("missing fault name");
    assertThatThrownBy(() -> Directives.parse("[[sim:cut after=3")).hasMessageContaining("missing closing ']]'");
    assertThatThrownBy(() -> Directives.parse("[[sim:cut after=x]]")).hasMessageContaining("after must be an integer");
    assertThatThrownBy(() -> Directives.parse("[[sim:cut after=-1]]")).hasMessageContaining("after must be >= 0");
    assertThatThrownBy(() -> Directives.parse("[[sim:cut bytes=3]]")).hasMessageContaining("unknown parameter 'bytes' for cut");
    assertThatThrownBy(() -> Directives.parse("[[sim:cut after=1 after=2]]")).hasMessageContaining("given twice");
    assertThatThrownBy(() -> Directives.parse("[[sim:cut after]]")).hasMessageContaining("expected key=value");
    assertThatThrownBy(() -> Directives.parse("[[sim:status]]")).hasMessageContaining("status needs code");
    assertThatThrownBy(() -> Directives.parse("[[sim:status code=200]]")).hasMessageContaining("code must be between 400 and 599");
    assertThatThrownBy(() -> Directives.parse("[[sim:status code=429 quota=maybe]]")).hasMessageContaining("quota must be true or false");
    assertThatThrownBy(() -> Directives.parse("[[sim:error_event form=json]]")).hasMessageContaining("form must be data or event");
    assertThatThrownBy(() -> Directives.parse("[[sim:reset times=0]]")).hasMessageContaining("times must be >= 1");
    assertThatThrownBy(() -> Directives.parse("[[sim:reset probability=2]]")).hasMessageContaining("probability must be between 0 and 1");
    assertThatThrownBy(() -> Directives.parse("[[sim:reset]] [[sim:slow tps=-1]]")).hasMessageContaining("tps must be");
  }

  @Test
  void shouldRejectParametersOfAnotherKindProgrammatically() {
    assertThatThrownBy(() -> Fault.cut(1).retryAfterMs(5))
        .isInstanceOf(IllegalStateException.class).hasMessage("retry_after_ms applies to status faults only, not cut");
  }

  @Test
  void shouldWriteACanonicalDirective() {
    assertThat(Fault.status(429).retryAfterMs(200).times(1).toDirective())
        .isEqualTo("[[sim:status code=429 retry_after_ms=200 times=1]]");
    assertThat(Fault.errorEvent(2, ErrorEventForm.EVENT).probability(0.25).toDirective())
        .isEqualTo("[[sim:error_event after=2 form=event probability=0.25]]");
    assertThat(Fault.slow(10, 0).toString()).isEqualTo("slow ttft_ms=10 tps=0.0");
    assertThat(Fault.toolCalls(2).split(7).toDirective()).isEqualTo("[[sim:tool_calls n=2 split=7]]");
    assertThat(Fault.toolCalls(1).withText().toDirective()).isEqualTo("[[sim:tool_calls n=1 split=8 text=true]]");
    assertThat(Fault.reasoning(20).reasoningMs(3000).toDirective()).isEqualTo("[[sim:reasoning tokens=20 ms=3000]]");
    assertThat(Fault.reasoning(4).field(Fault.ReasoningField.REASONING).hidden().toDirective())
        .isEqualTo("[[sim:reasoning tokens=4 field=reasoning hidden=true]]");
    assertThat(Fault.reply("{\"ok\":true}").times(1).toDirective())
        .isEqualTo("[[sim:reply b64=eyJvayI6dHJ1ZX0= chunk=4 times=1]]");
    assertThat(Fault.cached(7).toDirective()).isEqualTo("[[sim:cached tokens=7]]");
    assertThat(Fault.refusal().toDirective()).isEqualTo("[[sim:refusal]]");
    assertThat(Fault.functionCall().toDirective()).isEqualTo("[[sim:function_call split=8]]");
  }
}
