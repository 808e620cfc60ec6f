package io.promptfleet.common.job;

import org.jspecify.annotations.Nullable;

/**
 * A fragment of a tool call as it streams, in OpenAI's {@code delta.tool_calls[]} shape. The fragments of one call
 * share its {@code index}; the first usually carries {@code id}, {@code type} and the function's name, later ones
 * only pieces of {@code function.arguments}. A reader assembles a call by concatenating the argument pieces of one
 * index in order.
 *
 * @param index    which call of the message this fragment belongs to (0, 1, ... for parallel calls)
 * @param id       the call's id, when this fragment carries it
 * @param type     the call's type ({@code function}), when this fragment carries it
 * @param function the name and/or an arguments fragment, when this fragment carries one
 */
public record ToolCallDelta(int index, @Nullable String id, @Nullable String type, @Nullable FunctionCall function) {}
