package io.promptfleet.common.job;

import org.jspecify.annotations.Nullable;

/**
 * One tool call of an assembled assistant message, in OpenAI's shape.
 *
 * @param id       the provider's call id, to be echoed in the {@code tool} message that answers it
 * @param type     {@code function} (OpenAI's only type for chat completions; others are passed as given)
 * @param function the function's name and its whole arguments string, byte for byte as the model wrote it
 */
public record ToolCall(@Nullable String id, String type, FunctionCall function) {}
