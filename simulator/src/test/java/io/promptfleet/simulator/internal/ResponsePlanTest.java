package io.promptfleet.simulator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.simulator.Fault;
import io.promptfleet.simulator.SimulatorOptions;
import java.util.List;
import org.junit.jupiter.api.Test;

class ResponsePlanTest {

  private final SimulatorOptions options = SimulatorOptions.defaults();

  @Test
  void shouldFollowTheOptionsWithoutFaults() {
    ResponsePlan plan = ResponsePlan.of(List.of(), options);

    assertThat(plan.ending()).isEqualTo(ResponsePlan.Ending.NORMAL);
    assertThat(plan.ttftMs()).isEqualTo(50);
    assertThat(plan.tokensPerSecond()).isEqualTo(50.0);
    assertThat(plan.lineEnd()).isEqualTo("\n");
    assertThat(plan.keepaliveEvery()).isZero();
    assertThat(plan.badJsonAfter()).isEqualTo(-1);
    assertThat(plan.dueNanos(0)).isEqualTo(50_000_000L);
    assertThat(plan.dueNanos(2)).isEqualTo(90_000_000L);
  }

  @Test
  void shouldLetTheFirstEndingWinAndCombineModifiers() {
    ResponsePlan plan = ResponsePlan.of(List.of(Fault.crlf(), Fault.cut(2), Fault.status(500),
        Fault.keepalive(3), Fault.badJson(1), Fault.slow().ttftMs(0)), options);

    assertThat(plan.ending()).isEqualTo(ResponsePlan.Ending.CUT);
    assertThat(plan.endingFault()).isEqualTo(Fault.cut(2));
    assertThat(plan.lineEnd()).isEqualTo("\r\n");
    assertThat(plan.keepaliveEvery()).isEqualTo(3);
    assertThat(plan.badJsonAfter()).isEqualTo(1);
    assertThat(plan.ttftMs()).isZero();
    assertThat(plan.tokensPerSecond()).isEqualTo(50.0);
  }

  @Test
  void shouldLetTheFirstAnswerShapeWinAndCombineReasoningAndCachedWithIt() {
    ResponsePlan plan = ResponsePlan.of(List.of(Fault.cut(1), Fault.reasoning(3), Fault.toolCalls(2),
        Fault.refusal(), Fault.cached(5), Fault.reasoning(9), Fault.cached(1)), options);

    assertThat(plan.ending()).isEqualTo(ResponsePlan.Ending.CUT);
    assertThat(plan.shape()).isEqualTo(Fault.toolCalls(2));
    assertThat(plan.reasoning()).isEqualTo(Fault.reasoning(3));
    assertThat(plan.cached()).isEqualTo(Fault.cached(5));
    assertThat(ResponsePlan.of(List.of(), options).shape()).isNull();
  }

  @Test
  void shouldSpreadReasoningDeltasOverTheReasoningTimeThenPaceTheContent() {
    // TTFT 50 ms, 50 tokens/s; 4 reasoning deltas over 1000 ms
    ResponsePlan plan = ResponsePlan.of(List.of(Fault.reasoning(4).reasoningMs(1000)), options);

    assertThat(plan.dueNanos(0)).isEqualTo(50_000_000L);
    assertThat(plan.dueNanos(1)).isEqualTo(300_000_000L);
    assertThat(plan.dueNanos(3)).isEqualTo(800_000_000L);
    assertThat(plan.dueNanos(4)).as("first content token").isEqualTo(1_050_000_000L);
    assertThat(plan.dueNanos(6)).isEqualTo(1_090_000_000L);
  }

  @Test
  void shouldDelayTheContentByHiddenReasoningTimeAndPaceUntimedReasoningLikeTokens() {
    ResponsePlan hidden = ResponsePlan.of(List.of(Fault.reasoning(4).reasoningMs(1000).hidden()), options);
    ResponsePlan untimed = ResponsePlan.of(List.of(Fault.reasoning(4)), options);

    assertThat(hidden.dueNanos(0)).isEqualTo(1_050_000_000L);
    assertThat(hidden.dueNanos(1)).isEqualTo(1_070_000_000L);
    assertThat(untimed.dueNanos(5)).isEqualTo(ResponsePlan.of(List.of(), options).dueNanos(5));
  }

  @Test
  void shouldWriteAllTokensAtTheFirstTokenDelayWhenTpsIsZero() {
    ResponsePlan plan = ResponsePlan.of(List.of(Fault.slow(7, 0)), options);

    assertThat(plan.dueNanos(0)).isEqualTo(7_000_000L);
    assertThat(plan.dueNanos(100)).isEqualTo(7_000_000L);
  }
}
