package io.promptfleet.simulator;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/** A clock that stands still until the test advances it, for the simulator's tests. Thread-safe. */
public final class ManualClock extends Clock {
  private final AtomicLong millis;

  /** A clock standing at the system's now. */
  public ManualClock() {
    this(Instant.now());
  }

  public ManualClock(Instant start) {
    millis = new AtomicLong(start.toEpochMilli());
  }

  public void advance(long ms) {
    millis.addAndGet(ms);
  }

  public void advance(Duration d) {
    advance(d.toMillis());
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
    return Instant.ofEpochMilli(millis.get());
  }

  @Override
  public long millis() {
    return millis.get();
  }
}
