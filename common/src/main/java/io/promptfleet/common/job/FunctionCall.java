package io.promptfleet.common.job;

import org.jspecify.annotations.Nullable;

/**
 * A function's name and its arguments, in OpenAI's shape. In a {@link ToolCall} or a result's legacy
 * {@code function_call} both are whole; in a {@link ToolCallDelta} or a chunk's {@code function_call} they are
 * fragments (either may be null), to be concatenated in order.
 *
 * @param name      the function's name, or null in a fragment that carries only arguments
 * @param arguments the arguments as the model wrote them (a JSON text, not parsed), or a fragment of it
 */
public record FunctionCall(@Nullable String name, @Nullable String arguments) {}
