package io.promptfleet.common.config;

/**
 * How the dispatcher's batcher drives the provider batch APIs of routes with a {@code batch} block: how often it
 * polls a submitted batch, and how long before its jobs' deadlines it gives up on a batch and runs them live.
 *
 * @param pollInitialMs    the first poll of a submitted batch comes this long after its create (default 30 s); the
 *                         interval doubles after each poll that finds the batch unfinished, jittered by ±20 %
 * @param pollMaxMs        the poll interval grows to this at most (default 5 min)
 * @param deadlineMarginMs a batch not ended this long before the earliest deadline of its unanswered jobs is
 *                         cancelled at the provider and those jobs run live (default 10 min: a live call, its retries
 *                         and the wait for a key must fit in it)
 */
public record BatcherSettings(Long pollInitialMs, Long pollMaxMs, Long deadlineMarginMs) {
  public BatcherSettings {
    pollInitialMs = pollInitialMs == null ? 30_000L : pollInitialMs;
    pollMaxMs = pollMaxMs == null ? 300_000L : pollMaxMs;
    deadlineMarginMs = deadlineMarginMs == null ? 600_000L : deadlineMarginMs;
    ConfigException.require(pollInitialMs >= 10, "dispatcher.batch.poll_initial_ms must be >= 10");
    ConfigException.require(pollMaxMs >= pollInitialMs,
        "dispatcher.batch.poll_max_ms must be >= dispatcher.batch.poll_initial_ms");
    ConfigException.require(deadlineMarginMs >= 0, "dispatcher.batch.deadline_margin_ms must be >= 0");
  }

  public static BatcherSettings defaults() {
    return new BatcherSettings(null, null, null);
  }
}
