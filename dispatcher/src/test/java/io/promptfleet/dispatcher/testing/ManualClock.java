package io.promptfleet.dispatcher.testing;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** A clock the test moves (for the breakers' open state); starts at {@link Fixtures#T0}. */
public final class ManualClock extends Clock {
  private long nowMs = Fixtures.T0;

  @Override
  public long millis() {
    return nowMs;
  }

  /** Moves the clock forward and returns the new time. */
  public long advance(long ms) {
    nowMs += ms;
    return nowMs;
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return this;
  }

  @Override
  public Instant instant() {
    return Instant.ofEpochMilli(nowMs);
  }
}
