package io.promptfleet.dispatcher.intake;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The job ids read from {@code llm.cancels}, the newest {@code dispatcher.max_cancelled_ids} of them: a job is
 * answered {@code cancelled} when it is admitted after its cancel, or swept from the ready queues when its cancel
 * comes while it waits. A new cancel asks for a sweep in the same round ({@link #sweepDue()}).
 *
 * <p>Not thread-safe: owned by the dispatcher thread.
 */
public final class CancelledJobs {
  private final LinkedHashMap<String, Boolean> ids;
  private boolean sweepDue;

  /** Remembers at most {@code max} job ids, forgetting the oldest first. */
  public CancelledJobs(int max) {
    this.ids = new LinkedHashMap<>(16, 0.75f, false) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
        return size() > max;
      }
    };
  }

  /** A cancel for {@code jobId} was read. */
  public void add(String jobId) {
    ids.put(jobId, Boolean.TRUE);
    sweepDue = true;
  }

  public boolean contains(String jobId) {
    return ids.containsKey(jobId);
  }

  /** True when a cancel came since the last {@link #swept()}: queued jobs may have to leave now. */
  public boolean sweepDue() {
    return sweepDue;
  }

  /** The ready queues were swept. */
  public void swept() {
    sweepDue = false;
  }
}
