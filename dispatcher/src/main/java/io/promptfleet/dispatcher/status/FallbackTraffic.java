package io.promptfleet.dispatcher.status;

/**
 * How many jobs each route took as a fallback, as the status snapshot shows it. {@code route.Fallbacks} implements
 * it, so this package needs nothing of the routes. Called on the dispatcher thread.
 */
public interface FallbackTraffic {

  /** None counted (a status without routing). */
  FallbackTraffic NONE = new FallbackTraffic() {
    @Override
    public long fallbacksTo(String route) {
      return 0;
    }

    @Override
    public long fallbacksFrom(String route) {
      return 0;
    }
  };

  /** Jobs dispatched to {@code route} (configured name) although it was not first in their chain. */
  long fallbacksTo(String route);

  /** Jobs whose chain starts at {@code route} (configured name) that went to a later route. */
  long fallbacksFrom(String route);
}
