package io.promptfleet.client;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.FunctionCall;
import io.promptfleet.common.job.ToolCallDelta;

/**
 * Receives a job's chunks as they arrive. Called on the client's reply thread ({@code pf-client-replies}); keep it
 * quick and never block in it.
 *
 * <p>For every chunk of the current attempt the client calls {@link #onChunk} first, then the callback of each
 * kind the chunk carries, in this order: {@link #onReasoning}, {@link #onContent}, {@link #onRefusal},
 * {@link #onToolCallDelta} (once per fragment, in order), {@link #onFunctionCallDelta}, {@link #onExtra},
 * {@link #onLogprobs}; and {@link #onFinish} once with the result's finish reason. A chunk of a streaming route carries
 * one kind besides its logprobs; the one chunk of a non-streaming route carries every kind at once, and gets every callback in that
 * order. A UI overrides only the callbacks it renders and never looks at provider-specific fields. Every callback but
 * {@link #onChunk} does nothing by default; a lambda is an {@code onChunk}. To render by kind only, implement
 * {@code onChunk} with an empty body.
 *
 * <p>Tool-call and function-call fragments are pieces: concatenate the {@code arguments} of one index in order
 * ({@link io.promptfleet.common.job.ToolCallAssembler} does it), or take the whole calls from the result's {@code message}.
 */
public interface ChunkListener {
  /** The next chunk of the current attempt, in order, without gaps. */
  void onChunk(Chunk chunk);

  /**
   * A piece of the text answer ({@code delta}): one provider delta's text or, coalesced when they came faster than
   * Kafka acknowledged, several's; never called with the empty string. Append it; do not count it as a token.
   */
  default void onContent(String text) {}

  /** A piece of the model's reasoning ({@code reasoning_content} or {@code reasoning} upstream). */
  default void onReasoning(String text) {}

  /** A piece of the model's refusal text. */
  default void onRefusal(String text) {}

  /** A fragment of a tool call: the first of an index usually carries id, type and name; later ones arguments. */
  default void onToolCallDelta(ToolCallDelta fragment) {}

  /** A fragment of a legacy {@code function_call}: name and/or a piece of its arguments. */
  default void onFunctionCallDelta(FunctionCall fragment) {}

  /** Delta fields of no kind above, as the provider sent them (for example {@code audio}). */
  default void onExtra(JsonNode extra) {}

  /** The provider's logprobs for this chunk, when the job asked for them. */
  default void onLogprobs(JsonNode logprobs) {}

  /**
   * The answer's finish reason ({@code stop}, {@code length}, {@code tool_calls}, ...): the client calls it once, when
   * the result arrives and before the job's future completes (the fleet puts the finish reason on the result, not on
   * a chunk); {@link #deliver} calls it for a chunk that carries one.
   */
  default void onFinish(String finishReason) {}

  /**
   * A later attempt started: everything received for the earlier attempt is void (that attempt was cut short
   * and the job is being run again). The default does nothing.
   */
  default void onRestart(int attempt) {}

  /**
   * Hands one chunk to a listener as the client does: {@link #onChunk}, then the callback of each kind the chunk
   * carries, in the documented order. For code that reads a reply topic itself.
   */
  static void deliver(ChunkListener listener, Chunk chunk) {
    listener.onChunk(chunk);
    if (chunk.reasoning() != null && !chunk.reasoning().isEmpty()) {
      listener.onReasoning(chunk.reasoning());
    }
    if (chunk.delta() != null && !chunk.delta().isEmpty()) {
      listener.onContent(chunk.delta());
    }
    if (chunk.refusal() != null && !chunk.refusal().isEmpty()) {
      listener.onRefusal(chunk.refusal());
    }
    if (chunk.toolCalls() != null) {
      chunk.toolCalls().forEach(listener::onToolCallDelta);
    }
    if (chunk.functionCall() != null) {
      listener.onFunctionCallDelta(chunk.functionCall());
    }
    if (chunk.extra() != null && !chunk.extra().isNull()
        && !(chunk.extra().isContainerNode() && chunk.extra().isEmpty())) {
      listener.onExtra(chunk.extra());
    }
    if (chunk.logprobs() != null && !chunk.logprobs().isNull()) {
      listener.onLogprobs(chunk.logprobs());
    }
    if (chunk.finishReason() != null) {
      listener.onFinish(chunk.finishReason());
    }
  }
}
