package io.promptfleet.common.job;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * One streamed piece of an attempt's answer.
 *
 * <p>On a streaming route each chunk carries one kind of delta, in the order the provider streamed them: text
 * ({@code delta}), reasoning, refusal, tool-call fragments, a legacy function-call fragment, or other delta fields
 * ({@code extra}) — tool-call, function-call and other fields that arrived in one provider event share a chunk. A
 * non-streaming route's single chunk carries every kind of the whole answer at once.
 * {@code delta} is always present, the empty string on a chunk that carries another kind, so a reader that only
 * concatenates {@code delta} still gets exactly the text answer. A text piece (text, reasoning or refusal) is one
 * provider delta's or, when deltas came faster than Kafka acknowledged the previous chunk, several consecutive ones'
 * of that kind joined (the worker's adaptive coalescing, {@code worker.chunks_in_flight}): never count chunks as
 * tokens.
 *
 * @param jobId        the job
 * @param attempt      the attempt this chunk belongs to; a result for a later attempt supersedes it
 * @param seq          0, 1, 2, ... without gaps within one attempt
 * @param delta        the text delta ("" when this chunk carries another kind)
 * @param finishReason set on the last chunk when the provider gave one
 * @param reasoning    a reasoning-text delta ({@code reasoning_content} or {@code reasoning} upstream), or null
 * @param refusal      a refusal-text delta, or null
 * @param toolCalls    tool-call fragments in OpenAI's {@code delta.tool_calls} shape, or null
 * @param functionCall a legacy {@code function_call} fragment, or null
 * @param extra        other delta fields the provider sent (for example {@code audio}), as sent, or null
 * @param logprobs     the provider's {@code choices[0].logprobs} for this piece, when the job asked for logprobs
 */
public record Chunk(String jobId, int attempt, long seq, String delta, @Nullable String finishReason,
    @Nullable String reasoning, @Nullable String refusal, @Nullable List<ToolCallDelta> toolCalls,
    @Nullable FunctionCall functionCall, @Nullable JsonNode extra, @Nullable JsonNode logprobs)
    implements Reply {

  /** A text chunk. */
  public Chunk(String jobId, int attempt, long seq, String delta, @Nullable String finishReason) {
    this(jobId, attempt, seq, delta, finishReason, null, null, null, null, null, null);
  }

  public Chunk {
    toolCalls = toolCalls == null || toolCalls.isEmpty() ? null : List.copyOf(toolCalls);
  }
}
