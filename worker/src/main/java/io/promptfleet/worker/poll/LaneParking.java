package io.promptfleet.worker.poll;

import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Parks the surplus lanes of an idle worker and reopens them when work comes (issue 13: an idle fleet under 5 % of
 * a core).
 *
 * <p>Every lane is a member of the workers' share group, and an open lane costs the broker a share fetch every
 * 500 ms (Kafka's {@code fetch.max.wait.ms}) and a heartbeat, and the worker a poll's wake-up, whether or not there
 * is work: measured on the dev fleet, 32 idle lanes were most of its idle CPU. So once a worker has held no
 * assignment for {@code parkAfter}, every lane but the first {@code keepOpen} leaves the group ({@link Lane#park}).
 * When a lane acquires assignments and no other open lane is free to take more (every open one holds a batch), all
 * parked lanes rejoin at once: the worker is back at full width once they joined the group (StreamLifecycleIT:
 * 1.4–2.1 s on a fresh broker, 73 ms on one that had served other tests; a new consumer each time, as reusing one
 * with unsubscribe/subscribe took 1.9 s), paid only by the part of the first burst after an idle spell that the kept
 * lanes' batches do not take. A worker under any load keeps every lane open (the lanes' batch discipline needs them:
 * see {@link Lane}), so parking changes nothing for a busy fleet.
 *
 * <p>Parked lanes still count as capacity ({@code promptfleet.worker.slots.free} is unchanged): they reopen on
 * demand. Thread-safe: {@link #acquired} runs on lane threads, {@link #tick} on a scheduler; both only read the
 * lanes' volatile state and set their flags, and a lane parks or rejoins on its own thread.
 */
public final class LaneParking {
  /** What parking needs of a lane; implemented by {@link Lane}. */
  public interface Parkable {
    /** Assignments held now. */
    int held();

    /** Out of the group, or asked to leave it. */
    boolean parked();

    void park();

    void unpark();
  }

  private final List<? extends Parkable> lanes;
  private final int keepOpen;
  private final long parkAfterMs;
  private final LongSupplier clock;
  /** When the worker last held an assignment, as far as {@link #tick} and {@link #acquired} saw. */
  private volatile long lastBusyMs;

  /**
   * @param keepOpen  lanes an idle worker keeps in the group (at least 1; all of them: parking off)
   * @param parkAfter how long a worker holds nothing before its other lanes park
   * @param clock     millis
   */
  public LaneParking(List<? extends Parkable> lanes, int keepOpen, Duration parkAfter, LongSupplier clock) {
    if (keepOpen < 1) {
      throw new IllegalArgumentException("keepOpen must be >= 1, was " + keepOpen);
    }
    this.lanes = List.copyOf(lanes);
    this.keepOpen = keepOpen;
    this.parkAfterMs = parkAfter.toMillis();
    this.clock = clock;
    this.lastBusyMs = clock.getAsLong();
  }

  /** A lane acquired assignments (on its thread, after it took them): reopens every parked lane if none is free. */
  public void acquired() {
    lastBusyMs = clock.getAsLong();
    boolean anyParked = false;
    for (Parkable l : lanes) {
      if (l.parked()) {
        anyParked = true;
      } else if (l.held() == 0) {
        return; // an open lane is free to take what comes next
      }
    }
    if (anyParked) {
      for (Parkable l : lanes) {
        if (l.parked()) {
          l.unpark();
        }
      }
    }
  }

  /** Called every second or so: parks the lanes beyond {@code keepOpen} once the worker held nothing long enough. */
  public void tick() {
    long now = clock.getAsLong();
    for (Parkable l : lanes) {
      if (l.held() > 0) {
        lastBusyMs = now;
        return;
      }
    }
    if (now - lastBusyMs < parkAfterMs) {
      return;
    }
    for (int i = keepOpen; i < lanes.size(); i++) {
      Parkable l = lanes.get(i);
      if (!l.parked()) {
        l.park();
      }
    }
  }

  /** Lanes in the share group now, or joining it (not parked, not asked to park). */
  public int open() {
    int n = 0;
    for (Parkable l : lanes) {
      if (!l.parked()) {
        n++;
      }
    }
    return n;
  }
}
