package io.promptfleet.simulator;

import static io.promptfleet.simulator.SimulatorHarness.chat;
import static io.promptfleet.simulator.SimulatorHarness.contentChunks;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Starting, binding and closing a provider. */
class SimulatedProviderLifecycleTest {

  @Test
  void shouldCloseStalledConnectionsWhenTheProviderCloses() throws Exception {
    SimulatorHarness sim = SimulatorHarness.start(SimulatorHarness.fastOptions());
    try {
      // Given a stream that stalls forever
      StreamCapture stream = sim.openStream(chat("hang [[sim:stall after=1]]", true));
      stream.awaitText("one content chunk", text -> contentChunks(text) == 1);

      // When the provider closes
      sim.provider.close().await(10, TimeUnit.SECONDS);

      // Then the client sees its connection end, and the stream is no longer counted
      assertThat(stream.awaitEnd(Duration.ofSeconds(10))).isTrue();
      SimulatorHarness.awaitCondition("the stream is released", () -> sim.provider.stats().activeStreams() == 0);
    } finally {
      sim.vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void shouldFailToStartOnAPortInUse() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      SimulatedProvider first = SimulatedProvider.start(vertx, SimulatorHarness.fastOptions()).await(10, TimeUnit.SECONDS);

      var second = SimulatedProvider.start(vertx, SimulatorHarness.fastOptions().withPort(first.port()));

      assertThatThrownBy(() -> second.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class);
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
