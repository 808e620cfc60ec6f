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
  void shouldWriteAllTokensAtTheFirstTokenDelayWhenTpsIsZero() {
    ResponsePlan plan = ResponsePlan.of(List.of(Fault.slow(7, 0)), options);

    assertThat(plan.dueNanos(0)).isEqualTo(7_000_000L);
    assertThat(plan.dueNanos(100)).isEqualTo(7_000_000L);
  }
}
