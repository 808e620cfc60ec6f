package io.promptfleet.common.job;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One vector of an embeddings result, as OpenAI's {@code data} list carries it.
 *
 * @param index     the position of its input in the job's {@code input}
 * @param embedding the vector as the provider sent it: an array of numbers, or (for {@code encoding_format: base64})
 *                  a base64 string of little-endian float32 values
 */
public record Embedding(int index, JsonNode embedding) {}
