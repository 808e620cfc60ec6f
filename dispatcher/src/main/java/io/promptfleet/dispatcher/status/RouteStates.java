package io.promptfleet.dispatcher.status;

/**
 * Each route's breaker state as the status snapshot shows it. {@code route.RouteBreakers} implements it, so this
 * package needs nothing of the routes (the breakers register their meters through {@link DispatcherMetrics}).
 * Called on the dispatcher thread.
 */
public interface RouteStates {

  /** CLOSED, OPEN or HALF_OPEN. */
  String stateOf(String route);

  /** Whether the route's first tokens are slow (reported; it stops only jobs that have a fallback). */
  default boolean slow(String route) {
    return false;
  }
}
