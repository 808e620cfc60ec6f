package io.promptfleet.simulator;

import static io.promptfleet.simulator.SimulatorHarness.chat;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Faults registered programmatically through {@link SimulatedProvider#faults()}. */
class FaultPlanTest extends SimulatorTest {

  private static final String K1 = "Bearer k1";
  private static final String K2 = "Bearer k2";

  @Test
  void shouldRateLimitOnlyTheKeyWithA429Storm() {
    // Given a 429 storm on k1
    sim.provider.faults().forKey(K1, Fault.status(429).retryAfterMs(200));

    // When both keys send requests
    HttpResponse<String> limited = sim.post(chat("hi", true), "Authorization", K1);
    HttpResponse<String> limitedAgain = sim.post(chat("hi", true), "Authorization", K1);
    HttpResponse<String> other = sim.post(chat("hi", true), "Authorization", K2);

    // Then only k1 is limited, every time
    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.headers().firstValue("retry-after-ms")).hasValue("200");
    assertThat(limitedAgain.statusCode()).isEqualTo(429);
    assertThat(other.statusCode()).isEqualTo(200);
    assertThat(sim.provider.stats().faultedRequests()).isEqualTo(2);
  }

  @Test
  void shouldBehaveNormallyAfterClearAll() {
    sim.provider.faults().forKey(K1, Fault.status(500)).forAll(Fault.reset());

    sim.provider.faults().clearAll();

    assertThat(sim.post(chat("hi", true), "Authorization", K1).statusCode()).isEqualTo(200);
    assertThat(sim.post(chat("hi", true), "Authorization", K2).statusCode()).isEqualTo(200);
  }

  @Test
  void shouldStopApplyingADefaultFaultOnceItsTimesAreUsedUp() {
    sim.provider.faults().forAll(Fault.status(503).times(2));

    List<Integer> statuses = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      statuses.add(sim.post(chat("request " + i, false)).statusCode());
    }

    assertThat(statuses).containsExactly(503, 503, 200, 200);
  }

  @Test
  void shouldPreferAKeyEntryOverTheDefaultAndADirectiveOverBoth() {
    sim.provider.faults().forAll(Fault.status(500)).forKey(K1, Fault.status(429));

    assertThat(sim.post(chat("hi", false), "Authorization", K2).statusCode()).isEqualTo(500);
    assertThat(sim.post(chat("hi", false), "Authorization", K1).statusCode()).isEqualTo(429);
    assertThat(sim.post(chat("hi [[sim:status code=503]]", false), "Authorization", K1).statusCode())
        .isEqualTo(503);
  }

  @Test
  void shouldApplyAProbabilisticFaultAtRoughlyItsRateAndReproduciblyForASeed() {
    sim.provider.faults().forAll(Fault.status(500).probability(0.3));

    List<Integer> firstRun = statuses(200);
    sim.provider.faults().seed(0);
    List<Integer> secondRun = statuses(200);

    long failures = firstRun.stream().filter(s -> s == 500).count();
    assertThat(failures).isBetween(30L, 90L); // 60 expected; the seeded sequence makes this exact per JDK
    assertThat(firstRun).doesNotContainNull().containsOnly(200, 500);
    assertThat(secondRun).isEqualTo(firstRun);
  }

  @Test
  void shouldCombineRegisteredModifiers() {
    sim.provider.faults().forKey(K1, Fault.crlf(), Fault.noDone());

    String body = sim.post(chat("hi", true), "Authorization", K1).body();

    assertThat(body).contains("\r\n\r\n").doesNotContain("[DONE]");
  }

  private static List<Integer> statuses(int requests) {
    List<Integer> statuses = new ArrayList<>();
    for (int i = 0; i < requests; i++) {
      statuses.add(sim.post(chat("hi", false)).statusCode());
    }
    return statuses;
  }
}
