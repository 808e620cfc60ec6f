package io.promptfleet.dispatcher.sim;

import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropagationMode;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.config.Configurator;

/**
 * Settings of the simulation properties from system properties, so a long run needs no code change:
 * {@code -Dsim.tries=N} (tries), {@code -Dsim.seed=S} (replay one seed; default {@value #DEFAULT_SEED}, {@code random}
 * for a fresh one). The dispatcher's own logging is turned
 * off while a property runs (a run logs every expired lease and disabled key; thousands of lines help
 * nobody), {@code -Dsim.log=INFO} (or WARN, ERROR) turns it back on.
 */
public final class SimulationSettings implements AroundPropertyHook {
  /**
   * The build's runs are the same every time (a red build must be the code's fault, and replayable): this seed
   * unless {@code -Dsim.seed} names another, or {@code -Dsim.seed=random} for a fresh one (long exploratory runs).
   */
  static final String DEFAULT_SEED = "20261130";
  private static final String LOGGER = "io.promptfleet.dispatcher";

  @Override
  public PropagationMode propagateTo() {
    return PropagationMode.ALL_DESCENDANTS;
  }

  @Override
  public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
    Integer tries = Integer.getInteger("sim.tries");
    if (tries != null) {
      context.attributes().setTries(tries);
    }
    String seed = System.getProperty("sim.seed", DEFAULT_SEED).trim();
    if (!seed.isEmpty() && !"random".equals(seed)) {
      context.attributes().setSeed(seed);
    }
    Level before = LogManager.getLogger(LOGGER).getLevel();
    Configurator.setLevel(LOGGER, Level.toLevel(System.getProperty("sim.log", "OFF"), Level.OFF));
    try {
      return property.execute();
    } finally {
      Configurator.setLevel(LOGGER, before);
    }
  }
}
