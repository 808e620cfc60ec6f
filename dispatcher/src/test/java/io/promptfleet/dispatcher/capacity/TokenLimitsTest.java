package io.promptfleet.dispatcher.capacity;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.JobParser;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.Job;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class TokenLimitsTest {
  private static final JobParser PARSER = new JobParser(1 << 20);
  /** max_tokens field (the default), default 1,024, cap 32,768. */
  private static final RouteSettings CLASSIC = route(null, null, null);
  /** A reasoning model's route: max_completion_tokens, default 4,000, cap 100,000. */
  private static final RouteSettings REASONING = route(Job.MAX_COMPLETION_TOKENS, 4_000, 100_000);

  private static RouteSettings route(String field, Integer defaultMaxTokens, Integer cap) {
    return new RouteSettings("p", "m", null, cap, defaultMaxTokens, null, null, null, field, null, null, null, null,
        null);
  }

  private static Job job(Consumer<ObjectNode> shape) {
    ObjectNode o = Json.mapper().createObjectNode();
    o.put("job_id", "j").put("model", "m");
    o.putArray("messages").addObject().put("role", "user").put("content", "hi");
    shape.accept(o);
    return ((JobParser.Accepted) PARSER.parse(Json.bytes(o))).job();
  }

  @Test
  void shouldReserveTheRoutesDefaultAndCarryItOnTheRouteWhenTheJobSetsNoLimit() {
    Job none = job(o -> { });
    assertThat(none.setsTokenLimit()).isFalse();
    assertThat(TokenLimits.reserved(none, CLASSIC)).isEqualTo(1_024);
    assertThat(TokenLimits.reserved(none, REASONING)).isEqualTo(4_000);
    assertThat(TokenLimits.field(none)).isNull();
    assertThat(CLASSIC.toRoute("m").limitField()).isEqualTo(Job.MAX_TOKENS);
    assertThat(CLASSIC.toRoute("m").defaultMaxTokens()).isEqualTo(1_024);
    assertThat(REASONING.toRoute("m").limitField()).isEqualTo(Job.MAX_COMPLETION_TOKENS);
    assertThat(REASONING.toRoute("m").defaultMaxTokens()).isEqualTo(4_000);
  }

  @Test
  void shouldSendALimitTheJobSetInItsOwnField() {
    Job mct = job(o -> o.put(Job.MAX_COMPLETION_TOKENS, 500));
    assertThat(mct.params()).containsOnlyKeys(Job.MAX_COMPLETION_TOKENS);
    assertThat(TokenLimits.reserved(mct, CLASSIC)).isEqualTo(500);
    assertThat(TokenLimits.field(mct)).isEqualTo(Job.MAX_COMPLETION_TOKENS);

    Job mt = job(o -> o.put(Job.MAX_TOKENS, 300));
    assertThat(mt.params()).containsOnlyKeys(Job.MAX_TOKENS);
    assertThat(TokenLimits.reserved(mt, REASONING)).isEqualTo(300);
    assertThat(TokenLimits.field(mt)).isEqualTo(Job.MAX_TOKENS);

    Job both = job(o -> o.put(Job.MAX_TOKENS, 300).put(Job.MAX_COMPLETION_TOKENS, 900));
    assertThat(TokenLimits.reserved(both, CLASSIC)).as("the larger").isEqualTo(900);
    assertThat(TokenLimits.field(both)).isEqualTo(Job.MAX_COMPLETION_TOKENS);
  }

  @Test
  void shouldApplyTheCapToWhicheverLimitTheJobSet() {
    Job mct = job(o -> o.put(Job.MAX_COMPLETION_TOKENS, 50_000));
    assertThat(TokenLimits.exceedsCap(mct, CLASSIC)).isTrue();
    assertThat(TokenLimits.exceedsCap(mct, REASONING)).isFalse();
    Job mt = job(o -> o.put(Job.MAX_TOKENS, 50_000));
    assertThat(TokenLimits.exceedsCap(mt, CLASSIC)).isTrue();
    assertThat(TokenLimits.exceedsCap(job(o -> { }), route(null, 10, 10))).isFalse();
  }
}
