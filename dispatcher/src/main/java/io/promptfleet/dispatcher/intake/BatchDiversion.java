package io.promptfleet.dispatcher.intake;

/**
 * Where {@link Admission} offers each fresh job before queueing it: the batcher ({@code batch.Batcher}) takes the
 * jobs that may wait for a provider batch, and the rest are queued as always. Called on the dispatcher thread.
 */
@FunctionalInterface
public interface BatchDiversion {

  /** True when {@code job} was taken into a batch (its record's offset is then the batcher's to commit). */
  boolean divert(Pending job, long nowMs);
}
