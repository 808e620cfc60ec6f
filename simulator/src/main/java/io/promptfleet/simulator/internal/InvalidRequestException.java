package io.promptfleet.simulator.internal;

/**
 * A request the simulator rejects with HTTP 400 and an OpenAI-style {@code invalid_request_error}.
 * Immutable; thrown and caught on the event loop that parses the request.
 */
public final class InvalidRequestException extends Exception {

  private final String param;
  private final String code;

  /**
   * @param message the {@code error.message} shown to the client
   * @param param   the offending request parameter for {@code error.param}, or null
   */
  public InvalidRequestException(String message, String param) {
    this(message, param, null);
  }

  /**
   * @param message the {@code error.message} shown to the client
   * @param param   the offending request parameter for {@code error.param}, or null
   * @param code    the {@code error.code}, e.g. {@code unsupported_parameter}, or null
   */
  public InvalidRequestException(String message, String param, String code) {
    super(message, null, false, false);
    this.param = param;
    this.code = code;
  }

  /** The offending request parameter, or null. */
  public String param() {
    return param;
  }

  /** The error code, or null. */
  public String code() {
    return code;
  }
}
