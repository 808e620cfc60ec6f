package io.promptfleet.common.job;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

/**
 * A record on a reply topic, keyed by job_id: zero or more {@link Chunk}s of an attempt, then exactly one
 * {@link Result} for the job. The JSON property {@code type} says which.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, include = JsonTypeInfo.As.PROPERTY, property = "type")
@JsonSubTypes({
  @JsonSubTypes.Type(value = Chunk.class, name = "chunk"),
  @JsonSubTypes.Type(value = Result.class, name = "result")
})
public sealed interface Reply permits Chunk, Result {
  String jobId();

  int attempt();
}
