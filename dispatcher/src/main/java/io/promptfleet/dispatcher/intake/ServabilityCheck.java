package io.promptfleet.dispatcher.intake;

import io.promptfleet.dispatcher.capacity.TokenEstimator;

/**
 * Whether any route of a job's fallback chain could ever serve it: the port through which {@link Admission} asks
 * the route planner ({@code route.RoutePlanner} implements it), so intake does not depend on routing. Called on
 * the dispatcher thread.
 */
@FunctionalInterface
public interface ServabilityCheck {

  /**
   * Why no route of the chain could ever serve the job (the message starts with "no key" when no key serves the
   * model or tenant; otherwise the prompt is too large), or null when one could.
   */
  String whyUnservable(Decision.Dispatch dispatch, TokenEstimator.Estimate prompt);
}
