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
  }
}
