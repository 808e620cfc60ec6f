package io.promptfleet.worker.arrival;

import io.promptfleet.common.job.Assignment;
import io.promptfleet.worker.cancel.LeaseClaims;
import java.time.Instant;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * Whether an assignment a lane delivered runs on this worker now, and if not, what becomes of it. Asked once per
 * delivery (after the worker bound a delivery of a lease it runs itself to that run), and again for a delivery held
 * or waiting that comes back to be looked at. In order:
 *
 * <ol>
 *   <li>{@link Verdict#HAND_BACK}: the worker drains (a delivery whose claim was written is withdrawn by the worker).
 *   <li>{@link Verdict#RELEASED}: the lease was released lately with an outcome; acknowledged without a run.
 *   <li>{@link Verdict#HELD}: another live worker's claim of the lease counts ({@link LeaseClaims}); looked at again
 *       until that run ends or that worker is gone. A first delivery may be a share partition's new leader's copy of
 *       one another worker still runs (the leader lost the acquisition state): every claim counts. A lease handed
 *       out again knowingly (a member left, a lock expired) counts a second delivery: a claim written before it is
 *       its previous holder's, which counts only while that worker is heard from (it may still run it after a stall
 *       past its lock; a dead one stops beating); claims written since count as usual.
 *   <li>{@link Verdict#WAIT_FOR_CLAIM}: a successor assignment, or a <em>late copy</em> (an ordinary first delivery
 *       more than {@link #LATE_COPY_AFTER_MS} after its dispatch, see below): claimed now, started only once its
 *       claim was read back and it is the first live claim (the successor waits; asked again with {@code waited}).
 *   <li>{@link Verdict#RUN}: runs now, as attempt {@code attempt + redeliveries}.
 * </ol>
 *
 * <p><b>Late copies.</b> A fresh assignment is acquired within milliseconds of its dispatch; one delivered first
 * seconds later waited for a free slot, or is a share partition's new leader's copy of one another worker ran or runs
 * while this worker's fleet-event watcher may be behind that run's events. Claiming it and reading the claim back
 * means every earlier event of the key's partition (that run's claim and release) was read before it runs. The
 * threshold is more than the margin for the dispatcher's and this worker's clocks.
 */
public final class ArrivalRule {
  /**
   * How far another worker's clock may be ahead of this one's when a redelivery's claims are told apart: a previous
   * holder's claim comes at least half a share lock (seconds) before the redelivery, a new claim after it.
   */
  public static final long CLAIM_CLOCK_MARGIN_MS = 1_000;
  /** How long after its dispatch an ordinary assignment's first delivery is a late copy. */
  public static final long LATE_COPY_AFTER_MS = 2_000;

  /**
   * Whether a first delivery of an assignment dispatched at {@code dispatchedAt} is late at {@code nowMs} (one that
   * was never dispatched by a known time is not).
   */
  public static boolean deliveredLate(Instant dispatchedAt, long nowMs) {
    return dispatchedAt != null && nowMs - dispatchedAt.toEpochMilli() > LATE_COPY_AFTER_MS;
  }

  /** What becomes of a delivery. */
  public enum Verdict {
    /** The worker drains: released to the share group. */
    HAND_BACK,
    /** Its lease was released lately with an outcome: acknowledged, not run again. */
    RELEASED,
    /** Another live worker runs it ({@link Arrival#owner()}): looked at again later. */
    HELD,
    /** A successor or a late copy: claimed, started once its claim is read back. */
    WAIT_FOR_CLAIM,
    /** Runs now. */
    RUN
  }

  /**
   * A verdict and what the worker needs to act on it.
   *
   * @param owner           the worker whose claim holds it ({@link Verdict#HELD}), else null
   * @param lateCopy        an ordinary assignment first delivered late ({@link Verdict#WAIT_FOR_CLAIM})
   * @param redeliveries    deliveries before this one (the attempt number grows by as many)
   * @param sinceDispatchMs from its {@code dispatched_at} to now (0 without one)
   * @param pickup          whether {@code sinceDispatchMs} is this assignment's pickup time, to record: a first
   *                        delivery with a {@code dispatched_at}, that runs or waits for its claim now (not a hold's
   *                        recheck, not a wake-up; a redelivery's time includes the earlier deliveries')
   */
  public record Arrival(Verdict verdict, String owner, boolean lateCopy, int redeliveries, long sinceDispatchMs,
      boolean pickup) {}

  private final String workerId;
  private final BooleanSupplier draining;
  private final Predicate<String> released;
  private final LeaseClaims claims;
  private final LongSupplier clock;

  /**
   * @param released leases released lately with an outcome (by any worker, this one's from when it wrote them)
   * @param claims   the fleet's claims of leases, as this worker read them
   */
  public ArrivalRule(String workerId, BooleanSupplier draining, Predicate<String> released, LeaseClaims claims,
      LongSupplier clock) {
    this.workerId = workerId;
    this.draining = draining;
    this.released = released;
    this.claims = claims;
    this.clock = clock;
  }

  /**
   * @param deliveryCount the share group's count for this delivery (1 for a first)
   * @param deliveredAtMs when the lane got this delivery (kept through holds and waits)
   * @param waited        a successor or late copy whose claim was read back and that may start now: not made to
   *                      wait for its claim again
   */
  public Arrival decide(Assignment a, int deliveryCount, long deliveredAtMs, boolean waited) {
    int redeliveries = Math.max(0, deliveryCount - 1);
    long now = clock.getAsLong();
    long sinceDispatchMs = a.dispatchedAt() == null ? 0 : now - a.dispatchedAt().toEpochMilli();
    if (draining.getAsBoolean()) {
      return new Arrival(Verdict.HAND_BACK, null, false, redeliveries, sinceDispatchMs, false);
    }
    if (released.test(a.leaseId())) {
      return new Arrival(Verdict.RELEASED, null, false, redeliveries, sinceDispatchMs, false);
    }
    long claimsSince = redeliveries > 0 ? deliveredAtMs - CLAIM_CLOCK_MARGIN_MS : Long.MIN_VALUE;
    String owner = claims.runningElsewhere(a.leaseId(), workerId, now, claimsSince);
    if (owner != null) {
      return new Arrival(Verdict.HELD, owner, false, redeliveries, sinceDispatchMs, false);
    }
    boolean pickup = redeliveries == 0 && a.dispatchedAt() != null && !waited;
    boolean lateCopy = redeliveries == 0 && !a.isSuccessor() && deliveredLate(a.dispatchedAt(), now);
    if (!waited && (a.isSuccessor() || lateCopy)) {
      return new Arrival(Verdict.WAIT_FOR_CLAIM, null, lateCopy, redeliveries, sinceDispatchMs, pickup);
    }
    return new Arrival(Verdict.RUN, null, false, redeliveries, sinceDispatchMs, pickup);
  }
}
