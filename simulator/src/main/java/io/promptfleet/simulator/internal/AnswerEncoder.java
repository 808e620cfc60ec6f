package io.promptfleet.simulator.internal;

import io.promptfleet.simulator.Fault;

/**
 * How one response's {@link Answer} is written in a provider protocol: the opening event(s), one event per answer
 * step, the end of a complete stream, and a whole non-stream answer; plus the framing faults (keep-alive comment,
 * malformed event, mid-stream error). {@link CompletionExchange} paces and frames what an encoder writes. Not
 * thread-safe: one per response, on its event loop.
 */
interface AnswerEncoder {

  /** What a stream sends before the first answer step. */
  StringBuilder opening(StringBuilder out, Answer answer);

  /** Answer step {@code i}. */
  StringBuilder step(StringBuilder out, Answer answer, int i);

  /** The end of a complete stream: finish, usage and, when {@code terminated}, the protocol's end marker. */
  StringBuilder end(StringBuilder out, Answer answer, boolean terminated);

  /** A mid-stream error in the given form. */
  StringBuilder error(StringBuilder out, Fault.ErrorEventForm form);

  /** The whole answer of a request that does not stream. */
  String completion(Answer answer);

  /** A keep-alive comment in this encoder's line ends. */
  StringBuilder keepalive(StringBuilder out);

  /** A malformed event in this encoder's line ends. */
  StringBuilder badJson(StringBuilder out);
}
