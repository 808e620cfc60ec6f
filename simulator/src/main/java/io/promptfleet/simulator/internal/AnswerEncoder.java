package io.promptfleet.simulator.internal;

import io.promptfleet.simulator.Fault;

/**
 * How one response's {@link Answer} is written in a provider protocol: the opening event(s), one event per answer
 * step, the end of a complete stream, a whole non-stream answer and a non-stream 500's body; plus the framing faults
 * (keep-alive, malformed event, mid-stream error). {@link ChunkEncoder} writes OpenAI's chat completions,
 * {@link MessagesEncoder} Anthropic's Messages, {@link ResponsesEncoder} OpenAI's Responses API; {@link
 * CompletionExchange} paces and frames what any of them writes. Not thread-safe: one per response, on its event loop.
 */
interface AnswerEncoder {

  /** What a stream sends before the first answer step. */
  StringBuilder opening(StringBuilder out, Answer answer);

  /** Answer step {@code i}. */
  StringBuilder step(StringBuilder out, Answer answer, int i);

  /**
   * The end of a complete stream: finish reason and usage where the protocol puts them, then, when {@code
   * terminated}, the protocol's end marker (a fault may leave it out).
   */
  StringBuilder end(StringBuilder out, Answer answer, boolean terminated);

  /** A mid-stream error in the given form (a protocol with one documented form may ignore it). */
  StringBuilder error(StringBuilder out, Fault.ErrorEventForm form);

  /** The whole answer of a request that does not stream. */
  String completion(Answer answer);

  /** A keep-alive in this encoder's line ends. */
  StringBuilder keepalive(StringBuilder out);

  /** An event whose data is not JSON, in this encoder's line ends. */
  StringBuilder badJson(StringBuilder out);

  /** The body of a non-streaming request's 500. */
  default String serverError() {
    return OpenAiErrors.body(OpenAiErrors.SERVER_ERROR_MESSAGE, "server_error", null, null);
  }
}
