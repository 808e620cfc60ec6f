package io.promptfleet.simulator;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * Base of the simulator's HTTP tests: one simulated provider with {@link SimulatorHarness#fastOptions()} per test
 * class, its fault plan and statistics reset before each test.
 */
abstract class SimulatorTest {
  static SimulatorHarness sim;

  @BeforeAll
  static void startSimulator() throws Exception {
    sim = SimulatorHarness.start(SimulatorHarness.fastOptions());
  }

  @AfterAll
  static void stopSimulator() throws Exception {
    sim.close();
  }

  @BeforeEach
  void resetSimulator() {
    sim.resetState();
  }
}
