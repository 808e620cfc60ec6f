package io.promptfleet.simulator.internal;

import io.promptfleet.simulator.Fault;

/**
 * How one response is written in a provider's wire format: the events of a stream and the whole answer of a
 * non-streaming request. {@link ChunkEncoder} writes OpenAI's chat completions, {@link MessagesEncoder} Anthropic's
 * Messages; {@link CompletionExchange} drives either. Not thread-safe: one per response, on its event loop.
 */
interface StreamEncoder {

  /** What the stream says before the first answer step. */
  StringBuilder opening(StringBuilder out, Answer answer);

  /** Answer step {@code i}. */
  StringBuilder step(StringBuilder out, Answer answer, int i);

  /** The end of the answer: its finish reason (and, where the format puts it there, its usage). */
  StringBuilder finish(StringBuilder out, String finishReason);

  /** A separate usage event, where the format has one. */
  StringBuilder usage(StringBuilder out, Usage usage);

  /** The event that says the stream is complete. */
  StringBuilder done(StringBuilder out);

  /** A keep-alive. */
  StringBuilder keepalive(StringBuilder out);

  /** An event whose data is not JSON. */
  StringBuilder badJson(StringBuilder out);

  /** A mid-stream error event. */
  StringBuilder error(StringBuilder out, Fault.ErrorEventForm form);

  /** The whole answer of a non-streaming request. */
  String completion(Answer answer);

  /** The body of a non-streaming request's 500. */
  default String serverError() {
    return OpenAiErrors.body(OpenAiErrors.SERVER_ERROR_MESSAGE, "server_error", null, null);
  }
}
