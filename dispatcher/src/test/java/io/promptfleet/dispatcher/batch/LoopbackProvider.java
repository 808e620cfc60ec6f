package io.promptfleet.dispatcher.batch;

import io.promptfleet.simulator.BatchBehaviour;
import io.promptfleet.simulator.SimulatedProvider;
import io.promptfleet.simulator.SimulatorOptions;
import io.vertx.core.Vertx;
import java.util.concurrent.TimeUnit;

/**
 * The simulated provider on a free loopback port for the batcher's tests: three completion tokens per answer,
 * batches whose every phase lasts 50 ms. Close it after the tests.
 */
record LoopbackProvider(Vertx vertx, SimulatedProvider sim) implements AutoCloseable {

  static LoopbackProvider start() throws Exception {
    Vertx vertx = Vertx.vertx();
    SimulatedProvider sim = SimulatedProvider.start(vertx, SimulatorOptions.defaults().withPort(0)
        .withDefaultCompletionTokens(3)).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    sim.batches().forAll(BatchBehaviour.phasesOf(50));
    return new LoopbackProvider(vertx, sim);
  }

  @Override
  public void close() throws Exception {
    sim.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
