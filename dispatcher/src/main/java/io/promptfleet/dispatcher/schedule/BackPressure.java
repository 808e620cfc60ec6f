package io.promptfleet.dispatcher.schedule;

import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import java.util.EnumSet;
import java.util.Set;
import java.util.function.ToIntFunction;

/**
 * Keeps the dispatcher's memory bounded by configuration, never by backlog: which job partitions to pause and
 * resume so that the backlog waits in Kafka.
 *
 * <ul>
 *   <li>A model's jobs beyond its share do not wait here: {@link Spill} sends them to its spill partition and
 *       pauses that partition while the model's queue is full, so no model's backlog pauses a topic that other
 *       models' jobs share. What is left here is the safety net: a lane whose buffer reaches the whole
 *       {@code dispatcher.max_buffered_jobs} (jobs held outside the ready queues, waiting for a tenant's budget,
 *       count too) pauses its topic's partitions, and resumes them when it is down to half.</li>
 *   <li>Job records waiting for a topic listing (parked by {@code intake.Admission}) count against the same cap:
 *       at the cap every job partition pauses; when none waits, every lane not paused for itself resumes.</li>
 * </ul>
 *
 * <p>It decides; the loop owner acts, through {@link Partitions}. Not thread-safe: owned by the dispatcher thread.
 */
public final class BackPressure {

  /** What the loop owner does to its job consumer (a test records the calls). */
  public interface Partitions {
    /** Pause the partitions of the lane's topic. */
    void pause(Lane lane);

    /** Pause every job partition. */
    void pauseAll();

    /** Resume the partitions of the lane's topic. */
    void resume(Lane lane);

    /** Resume every job partition (spill and tenant partitions too). */
    void resumeAll();
  }

  private final int cap;
  private final Set<Lane> pausedLanes = EnumSet.noneOf(Lane.class);
  private boolean parkedPause;

  public BackPressure(int maxBufferedJobs) {
    this.cap = Math.max(1, maxBufferedJobs);
  }

  /** How many jobs one lane (and the parked records) may buffer. */
  public int cap() {
    return cap;
  }

  /** A lane whose buffer is full pauses its topic; it resumes at half. */
  public void lanes(ToIntFunction<Lane> buffered, Partitions partitions) {
    for (Lane lane : Lane.values()) {
      int n = buffered.applyAsInt(lane);
      if (n >= cap && pausedLanes.add(lane)) {
        partitions.pause(lane);
      } else if (n <= cap / 2 && pausedLanes.remove(lane)) {
        partitions.resume(lane);
      }
    }
  }

  /**
   * While {@code parked} records are at the cap every job partition pauses; none left resumes every one of them and
   * forgets which lanes were paused: the caller makes every other pause again in the same settle (its lanes with
   * {@link #lanes}, its spill partitions, its tenants' partitions). Resuming only the lanes that were not full left a
   * model's spill partition paused by the pause of everything, so that model's spilled jobs, and every later job of
   * it behind them, waited for a rebalance. Returns true when the pause of everything ended.
   */
  public boolean parked(int parked, Partitions partitions) {
    if (!parkedPause && parked >= cap) {
      parkedPause = true;
      partitions.pauseAll();
    } else if (parkedPause && parked == 0) {
      parkedPause = false;
      pausedLanes.clear();
      partitions.resumeAll();
      return true;
    }
    return false;
  }

  /** True while the parked records hold every partition paused. */
  public boolean parkedPaused() {
    return parkedPause;
  }

  public boolean isPaused(Lane lane) {
    return pausedLanes.contains(lane);
  }

  /** Partitions were revoked: what is assigned again starts unpaused, so no lane counts as paused. */
  public void lanesForgotten() {
    pausedLanes.clear();
  }

  /** Standing by or rewound: nothing is paused. */
  public void clear() {
    pausedLanes.clear();
    parkedPause = false;
  }
}
