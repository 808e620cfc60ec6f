package io.promptfleet.common.job;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * What every worker needs of every fleet event, carried beside its JSON in the record header {@value #HEADER}: its
 * type, time, worker, lease and outcome. Each worker reads every fleet event of the fleet (the other workers' lease
 * claims and releases, their heartbeats), so it reads this header instead of parsing the whole event: issue 13
 * measured the JSON (times as ISO text, usage, rate-limit headers, connections) at a third of the watcher's CPU, and
 * the watcher's share grows with the fleet. The dispatcher still reads the JSON (it needs all of it); a record
 * without the header (written before it existed) is read from its JSON ({@link #of}).
 *
 * <p>The header's value, version 1 (all integers big-endian): a version byte (1), the type (1 lease_started, 2
 * lease_released, 3 worker_heartbeat, 4 lease_granted, 0 another), the outcome (0 none, else 1 + the {@link LeaseOutcome}'s place:
 * succeeded, failed, retry, cancelled, handed_back), the time in epoch milliseconds (8 bytes), then the worker id
 * and the lease id, each as a 2-byte length (0xffff: none) and that many bytes of UTF-8. A later version may append
 * fields; readers take what they know. An unknown type reads as none (the event is not acted on), an unknown
 * outcome as unreadable. Immutable.
 *
 * @param type     null for a type this reader does not know
 * @param atMs     when, epoch milliseconds
 * @param workerId who says it
 * @param leaseId  lease_started, lease_released, lease_granted: the lease
 * @param outcome  lease_released: how the attempt ended
 */
public record FleetEventGist(FleetEvent.@Nullable Type type, long atMs, String workerId, @Nullable String leaseId,
    @Nullable LeaseOutcome outcome) {

  /** The record header that carries it. */
  public static final String HEADER = "pf.event";

  private static final byte VERSION = 1;
  private static final FleetEvent.Type[] TYPES = {null, FleetEvent.Type.LEASE_STARTED, FleetEvent.Type.LEASE_RELEASED,
      FleetEvent.Type.WORKER_HEARTBEAT, FleetEvent.Type.LEASE_GRANTED};
  private static final LeaseOutcome[] OUTCOMES = {null, LeaseOutcome.SUCCEEDED, LeaseOutcome.FAILED,
      LeaseOutcome.RETRY, LeaseOutcome.CANCELLED, LeaseOutcome.HANDED_BACK};
  private static final int NONE = 0xffff;
  private static final int FIXED = 3 + Long.BYTES;

  public FleetEventGist {
    if (workerId == null) {
      throw new IllegalArgumentException("a fleet event's gist needs its worker id");
    }
  }

  /**
   * The gist of a parsed event.
   *
   * @throws IllegalArgumentException when it has no worker id or time (not an event a worker can use)
   */
  public static FleetEventGist of(FleetEvent e) {
    if (e.at() == null) {
      throw new IllegalArgumentException("a fleet event without a time");
    }
    return new FleetEventGist(e.type(), e.at().toEpochMilli(), e.workerId(), e.leaseId(), e.outcome());
  }

  /** The header's value. */
  public byte[] bytes() {
    byte[] worker = workerId.getBytes(StandardCharsets.UTF_8);
    byte[] lease = leaseId == null ? null : leaseId.getBytes(StandardCharsets.UTF_8);
    if (worker.length >= NONE || lease != null && lease.length >= NONE) {
      throw new IllegalArgumentException("worker and lease ids must be shorter than 65,535 bytes");
    }
    ByteBuffer out = ByteBuffer.allocate(FIXED + 2 + worker.length + 2 + (lease == null ? 0 : lease.length))
        .put(VERSION)
        .put(code(TYPES, type))
        .put(code(OUTCOMES, outcome))
        .putLong(atMs)
        .putShort((short) worker.length).put(worker);
    if (lease == null) {
      out.putShort((short) NONE);
    } else {
      out.putShort((short) lease.length).put(lease);
    }
    return out.array();
  }

  /**
   * The code of {@code value} in {@code table} (its place; null is 0). A value the table lacks is a constant added to
   * its enum without a code here: refused, rather than written as a code readers would take for none or refuse.
   */
  private static byte code(Object[] table, @Nullable Object value) {
    int i = Arrays.asList(table).indexOf(value);
    if (i < 0) {
      throw new IllegalStateException("no fleet event gist code for " + value + ": add one to FleetEventGist");
    }
    return (byte) i;
  }

  /**
   * Reads a header's value.
   *
   * @throws IllegalArgumentException when it is not a gist of a version this reader knows, or is cut short
   */
  public static FleetEventGist parse(byte[] v) {
    if (v == null || v.length < FIXED + 4) {
      throw new IllegalArgumentException("a fleet event gist is at least " + (FIXED + 4) + " bytes");
    }
    ByteBuffer in = ByteBuffer.wrap(v);
    byte version = in.get();
    if (version != VERSION) {
      throw new IllegalArgumentException("fleet event gist version " + version + " is not known here");
    }
    byte type = in.get();
    byte outcome = in.get();
    if (outcome < 0 || outcome >= OUTCOMES.length) {
      // unlike an unknown type (read as none of them), an outcome read wrongly could count a lease as answered
      throw new IllegalArgumentException("fleet event gist outcome " + outcome + " is not known here");
    }
    long atMs = in.getLong();
    String worker = string(in);
    if (worker == null) {
      throw new IllegalArgumentException("a fleet event gist without a worker id");
    }
    return new FleetEventGist(type > 0 && type < TYPES.length ? TYPES[type] : null, atMs, worker, string(in),
        OUTCOMES[outcome]);
  }

  /** A 2-byte length (0xffff: none) and that many bytes of UTF-8. */
  private static @Nullable String string(ByteBuffer in) {
    if (in.remaining() < 2) {
      throw new IllegalArgumentException("a fleet event gist cut short at byte " + in.position());
    }
    int length = in.getShort() & 0xffff;
    if (length == NONE) {
      return null;
    }
    if (in.remaining() < length) {
      throw new IllegalArgumentException("a fleet event gist cut short at byte " + in.position());
    }
    String s = new String(in.array(), in.position(), length, StandardCharsets.UTF_8);
    in.position(in.position() + length);
    return s;
  }
}
