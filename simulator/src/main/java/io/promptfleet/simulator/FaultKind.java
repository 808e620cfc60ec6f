package io.promptfleet.simulator;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * Every fault the simulator can inject, with the name used in prompt directives
 * ({@code [[sim:NAME key=value ...]]}).
 *
 * <p>To add a fault: add a constant here, a factory (and withers for its parameters) on {@link Fault},
 * a case in the directive parser ({@code internal.Directives}) and its behaviour in
 * {@code internal.ResponsePlan}.
 *
 * <p>Immutable and thread-safe.
 */
public enum FaultKind {
  /** Answer with an HTTP error status and an OpenAI-style error body. Parameters: {@code code}. */
  STATUS("status"),
  /** Close the connection before any response header is sent. */
  RESET("reset"),
  /** Stream {@code after} content chunks, then close the connection (no finish, usage or [DONE]). */
  CUT("cut"),
  /** Stream {@code after} content chunks, then send nothing more and keep the connection open. */
  STALL("stall"),
  /**
   * Stream {@code after} content chunks, then an SSE error event; then the response ends properly (so only
   * the event itself tells the client) and the connection is closed.
   */
  ERROR_EVENT("error_event"),
  /** A complete stream (finish and usage chunks) without the final {@code data: [DONE]}. */
  NO_DONE("no_done"),
  /** After {@code after} content chunks insert one {@code data: {not json} event, then go on normally. */
  BAD_JSON("bad_json"),
  /** After the role chunk write {@code bytes} bytes of {@code 'x'} without a newline, then close. */
  GIANT_LINE("giant_line"),
  /** A normal stream with an SSE comment {@code : keep-alive} after every {@code every} content chunks. */
  KEEPALIVE("keepalive"),
  /** A normal stream whose lines end in CRLF instead of LF. */
  CRLF("crlf"),
  /** Override the pacing (time to first token, tokens per second) of this request. */
  SLOW("slow");

  private final String directiveName;

  FaultKind(String directiveName) {
    this.directiveName = directiveName;
  }

  /** The name used in {@code [[sim:NAME ...]]} directives, e.g. {@code error_event}. */
  public String directiveName() {
    return directiveName;
  }

  /** Looks up a kind by its directive name (case-insensitive). */
  public static Optional<FaultKind> fromDirectiveName(String name) {
    String wanted = name.toLowerCase(Locale.ROOT);
    return Arrays.stream(values()).filter(k -> k.directiveName.equals(wanted)).findFirst();
  }
}
