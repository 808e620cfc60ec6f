package io.promptfleet.common.upstream;

/** A job asks for something a provider's protocol cannot express; the message names the field and the protocol. */
public final class UnsupportedJobException extends RuntimeException {
  public UnsupportedJobException(String message) {
    super(message, null, false, false);
  }
}
