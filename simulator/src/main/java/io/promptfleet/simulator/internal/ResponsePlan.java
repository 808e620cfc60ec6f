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
 * kind the first wins. Answer shapes: of {@code tool_calls}, {@code function_call}, {@code refusal} and
 * {@code reply} the first wins; {@code reasoning} and {@code cached} combine with any of them (the first of
 * each kind wins). The answer itself is built by {@link AnswerBuilder}.
 *
 * @param ending          how the response ends
 * @param endingFault     the fault that chose the ending, null for {@link Ending#NORMAL}
 * @param ttftMs          delay before the first answer chunk
 * @param tokensPerSecond pace of later tokens; 0 = all at once
 * @param lineEnd         {@code "\n"} or {@code "\r\n"}
 * @param keepaliveEvery  answer chunks between keep-alive comments; 0 = none
 * @param badJsonAfter    answer chunks before a malformed event; -1 = none
 * @param shape           the {@code tool_calls}, {@code function_call}, {@code refusal} or {@code reply}
 *                        answer shape, null for the lorem-ipsum text answer
 * @param reasoning       the {@code reasoning} directive, null when there is none
 * @param cached          the {@code cached} directive, null when there is none
 */
public record ResponsePlan(
    Ending ending,
    Fault endingFault,
    long ttftMs,
    double tokensPerSecond,
    String lineEnd,
    int keepaliveEvery,
    int badJsonAfter,
    Fault shape,
    Fault reasoning,
    Fault cached) {

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
    /** Connection closed after {@code after} answer chunks. */
    CUT,
    /** Silence after {@code after} answer chunks, connection left open. */
    STALL,
    /** An SSE error event after {@code after} answer chunks, then the response ends. */
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
    Fault shape = null;
    Fault reasoning = null;
    Fault cached = null;
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
        case TOOL_CALLS, FUNCTION_CALL, REFUSAL, REPLY -> shape = shape == null ? f : shape;
        case REASONING -> reasoning = reasoning == null ? f : reasoning;
        case CACHED -> cached = cached == null ? f : cached;
      }
    }
    long ttft = slow == null ? options.firstTokenDelayMs() : slow.ttftMs().orElse(options.firstTokenDelayMs());
    double tps = slow == null
        ? options.tokensPerSecond()
        : slow.tokensPerSecond().orElse(options.tokensPerSecond());
    return new ResponsePlan(ending, endingFault, ttft, tps, crlf ? "\r\n" : "\n", keepaliveEvery, badJsonAfter,
        shape, reasoning, cached);
  }

  /**
   * Nanoseconds from the start of the response until answer chunk {@code index} (0-based, after the role
   * chunk) is due: the first after the time to first token, then one per {@code 1 / tokensPerSecond}.
   *
   * <p>A {@code reasoning} directive with {@code ms} changes this: its reasoning deltas (chunks
   * {@code 0 .. tokens-1}) are due at {@code ttft + i * ms / tokens}, and the answer after them starts at
   * {@code ttft + ms}, paced as usual; hidden reasoning streams nothing but still delays the answer by
   * {@code ms}. Without {@code ms}, reasoning deltas are paced like any other chunk.
   */
  public long dueNanos(int index) {
    long ttft = ttftMs * 1_000_000L;
    if (reasoning != null && reasoning.reasoningMs().isPresent()) {
      long phase = reasoning.reasoningMs().getAsLong() * 1_000_000L;
      int paced = reasoning.isHidden() ? 0 : reasoning.tokens();
      if (index < paced) {
        return ttft + Math.round((double) index * phase / paced);
      }
      ttft += phase;
      index -= paced;
    }
    return tokensPerSecond > 0 ? ttft + Math.round(index * 1_000_000_000.0 / tokensPerSecond) : ttft;
  }
}
