package io.promptfleet.simulator.internal;

import io.promptfleet.simulator.Fault;
import io.promptfleet.simulator.SimulatorOptions;
import java.util.List;

/**
 * How one response is shaped, derived from the options and the faults that apply to the request.
 * Immutable and thread-safe.
 *
 * <p>Faults that decide how a response ends ({@code status}, {@code reset}, {@code cut}, {@code stall},
 * {@code error_event}, {@code no_done}, {@code giant_line}): the first in the list wins. Modifiers
 * ({@code bad_json}, {@code keepalive}, {@code crlf}, {@code slow}) combine with it; of two of the same
 * kind the first wins.
 *
 * @param ending         how the response ends
 * @param endingFault    the fault that chose the ending, null for {@link Ending#NORMAL}
 * @param ttftMs         delay before the first content token
 * @param tokensPerSecond pace of later tokens; 0 = all at once
 * @param lineEnd        {@code "\n"} or {@code "\r\n"}
 * @param keepaliveEvery content chunks between keep-alive comments; 0 = none
 * @param badJsonAfter   content chunks before a malformed event; -1 = none
 */
public record ResponsePlan(
    Ending ending,
    Fault endingFault,
    long ttftMs,
    double tokensPerSecond,
    String lineEnd,
    int keepaliveEvery,
    int badJsonAfter) {

  /** How the response ends. */
  public enum Ending {
    /** Finish chunk, usage chunk if asked, {@code [DONE]}. */
    NORMAL,
    /** An HTTP error status with an OpenAI-style body. */
    STATUS,
    /** Connection closed before any header. */
    RESET,
    /** Like NORMAL without {@code [DONE]}. */
    NO_DONE,
    /** Connection closed after {@code after} content chunks. */
    CUT,
    /** Silence after {@code after} content chunks, connection left open. */
    STALL,
    /** An SSE error event after {@code after} content chunks, then the response ends. */
    ERROR_EVENT,
    /** A huge line without newline after the role chunk, then the connection is closed. */
    GIANT_LINE
  }

  /** The plan for a request to which {@code faults} apply. */
  public static ResponsePlan of(List<Fault> faults, SimulatorOptions options) {
    Ending ending = Ending.NORMAL;
    Fault endingFault = null;
    Fault slow = null;
    boolean crlf = false;
    int keepaliveEvery = 0;
    int badJsonAfter = -1;
    for (Fault f : faults) {
      switch (f.kind()) {
        case STATUS, RESET, NO_DONE, CUT, STALL, ERROR_EVENT, GIANT_LINE -> {
          if (endingFault == null) {
            endingFault = f;
            ending = Ending.valueOf(f.kind().name());
          }
        }
        case BAD_JSON -> badJsonAfter = badJsonAfter < 0 ? f.after() : badJsonAfter;
        case KEEPALIVE -> keepaliveEvery = keepaliveEvery == 0 ? f.every() : keepaliveEvery;
        case CRLF -> crlf = true;
        case SLOW -> slow = slow == null ? f : slow;
      }
    }
    long ttft = slow == null ? options.firstTokenDelayMs() : slow.ttftMs().orElse(options.firstTokenDelayMs());
    double tps = slow == null
        ? options.tokensPerSecond()
        : slow.tokensPerSecond().orElse(options.tokensPerSecond());
    return new ResponsePlan(ending, endingFault, ttft, tps, crlf ? "\r\n" : "\n", keepaliveEvery, badJsonAfter);
  }

  /** Nanoseconds from the start of the response until content token {@code index} is due. */
  public long dueNanos(int index) {
    long ttft = ttftMs * 1_000_000L;
    return tokensPerSecond > 0 ? ttft + Math.round(index * 1_000_000_000.0 / tokensPerSecond) : ttft;
  }
}
