package io.promptfleet.client;

import io.promptfleet.common.job.Chunk;

/**
 * Receives a job's chunks as they arrive. Called on the client's reply thread ({@code pf-client-replies}); keep it
 * quick and never block in it.
 */
public interface ChunkListener {
  /** The next chunk of the current attempt, in order, without gaps. */
  void onChunk(Chunk chunk);

  /**
   * A later attempt started: everything received for the earlier attempt is void (that attempt was cut short
   * and the job is being run again). The default does nothing.
   */
  default void onRestart(int attempt) {}
}
