package io.promptfleet.common.job;

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
 * lease_released, 3 worker_heartbeat, 0 another), the outcome (0 none, else 1 + the {@link LeaseOutcome}'s place:
 * succeeded, failed, retry, cancelled, handed_back), the time in epoch milliseconds (8 bytes), then the worker id
 * and the lease id, each as a 2-byte length (0xffff: none) and that many bytes of UTF-8. A later version may append
 * fields; readers take what they know. An unknown type reads as none (the event is not acted on), an unknown
 * outcome as unreadable. Immutable.
 *
 * @param type     null for a type this reader does not know
 * @param atMs     when, epoch milliseconds
 * @param workerId who says it
 * @param leaseId  lease_started, lease_released: the lease
 * @param outcome  lease_released: how the attempt ended
 */
public record FleetEventGist(FleetEvent.@Nullable Type type, long atMs, String workerId, @Nullable String leaseId,
    @Nullable LeaseOutcome outcome) {

  /** The record header that carries it. */
  public static final String HEADER = "pf.event";

  private static final byte VERSION = 1;
  private static final FleetEvent.Type[] TYPES = {null, FleetEvent.Type.LEASE_STARTED, FleetEvent.Type.LEASE_RELEASED,
      FleetEvent.Type.WORKER_HEARTBEAT};
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
    byte[] out = new byte[FIXED + 2 + worker.length + 2 + (lease == null ? 0 : lease.length)];
    out[0] = VERSION;
    out[1] = (byte) Arrays.asList(TYPES).indexOf(type);
    out[2] = (byte) Arrays.asList(OUTCOMES).indexOf(outcome);
    for (int i = 0; i < Long.BYTES; i++) {
      out[3 + i] = (byte) (atMs >>> (56 - 8 * i));
    }
    int at = put(out, FIXED, worker);
    if (lease == null) {
      out[at] = (byte) 0xff;
      out[at + 1] = (byte) 0xff;
    } else {
      put(out, at, lease);
    }
    return out;
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
    if (v[0] != VERSION) {
      throw new IllegalArgumentException("fleet event gist version " + v[0] + " is not known here");
    }
    long atMs = 0;
    for (int i = 0; i < Long.BYTES; i++) {
      atMs = atMs << 8 | (v[3 + i] & 0xff);
    }
    int workerLength = length(v, FIXED);
    if (workerLength == NONE) {
      throw new IllegalArgumentException("a fleet event gist without a worker id");
    }
    int leaseAt = FIXED + 2 + workerLength;
    int leaseLength = length(v, leaseAt);
    String lease = leaseLength == NONE ? null : string(v, leaseAt + 2, leaseLength);
    if (v[2] < 0 || v[2] >= OUTCOMES.length) {
      // unlike an unknown type (read as none of them), an outcome read wrongly could count a lease as answered
      throw new IllegalArgumentException("fleet event gist outcome " + v[2] + " is not known here");
    }
    return new FleetEventGist(v[1] > 0 && v[1] < TYPES.length ? TYPES[v[1]] : null, atMs,
        string(v, FIXED + 2, workerLength), lease, OUTCOMES[v[2]]);
  }

  private static int put(byte[] out, int at, byte[] s) {
    out[at] = (byte) (s.length >>> 8);
    out[at + 1] = (byte) s.length;
    System.arraycopy(s, 0, out, at + 2, s.length);
    return at + 2 + s.length;
  }

  private static int length(byte[] v, int at) {
    if (at + 2 > v.length) {
      throw new IllegalArgumentException("a fleet event gist cut short at byte " + at);
    }
    return (v[at] & 0xff) << 8 | v[at + 1] & 0xff;
  }

  private static String string(byte[] v, int at, int length) {
    if (at + length > v.length) {
      throw new IllegalArgumentException("a fleet event gist cut short at byte " + at);
    }
    return new String(v, at, length, StandardCharsets.UTF_8);
  }
}
