package io.promptfleet.simulator.internal;

/**
 * A request the simulator rejects with HTTP 400 and an OpenAI-style {@code invalid_request_error}.
 * Immutable; thrown and caught on the event loop that parses the request.
 */
public final class InvalidRequestException extends Exception {

  private final String param;

  /**
   * @param message the {@code error.message} shown to the client
   * @param param   the offending request parameter for {@code error.param}, or null
   */
  public InvalidRequestException(String message, String param) {
    super(message, null, false, false);
    this.param = param;
  }

  /** The offending request parameter, or null. */
  public String param() {
    return param;
  }
}
