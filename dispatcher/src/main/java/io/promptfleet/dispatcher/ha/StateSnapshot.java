package io.promptfleet.dispatcher.ha;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Route;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.capacity.Lease;
import io.promptfleet.dispatcher.intake.Inbound;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the active dispatcher writes to partition {@value #PARTITION} of the dispatcher state topic, in one of its
 * dispatch transactions, so that a successor starts from it and reads only what came after ({@link Takeover}): the
 * term's lease-id prefix and next sequence number (its leases below it are in here; those above come from
 * {@code llm.assignments}), the feedback consumer's positions (every fleet event and archived assignment below them
 * is applied in here), every key's rate windows, cooldown and remote budgets, the leases held with their
 * reservations (and the tenant charge each holds), and the leases that expired without a release.
 *
 * <p>Written as {@link Part}s of at most {@value #LEASES_PER_PART} leases each (a record stays well below a broker's
 * {@code max.message.bytes}); the first carries the {@link Head}. A snapshot is complete when all its parts are read.
 * Immutable.
 *
 * @param term  the lease-id prefix of the term that wrote it
 * @param atMs  the dispatcher's clock when it was taken
 * @param head  everything but the leases
 * @param leases the leases held
 */
public record StateSnapshot(String term, long atMs, Head head, List<LeaseState> leases) {

  /** The state topic's partition of snapshots; the job ids' journal goes to {@link #IDS_PARTITION}. */
  public static final int PARTITION = 0;
  /** The state topic's partition of the job-id journal ({@code intake.JobIdWindow#journal}). */
  public static final int IDS_PARTITION = 1;
  /** Leases per part record (~150 bytes each as JSON). */
  public static final int LEASES_PER_PART = 2_000;
  /** Ids per journal record (24 bytes each). */
  public static final int IDS_PER_RECORD = 20_000;
  /** The header naming what a state-topic record is. */
  public static final String HEADER = "pf.record";
  /** Its value on a snapshot part. */
  public static final String KIND = "dispatcher_state";
  /** Its value on a job-id journal record. */
  public static final String IDS_KIND = "job_ids";

  /**
   * Everything but the leases.
   *
   * @param nextSeq      the term's next lease sequence number
   * @param knownSinceMs the start of what the term knows ({@code LeaseLedger#knownSince})
   * @param feedback     the feedback consumer's position per {@code topic:partition} of the fleet events and the
   *                     assignments' dead-letter queue
   * @param keys         every key's windows, cooldown and remote budgets
   * @param expired      leases that expired without a release (an archived assignment of one is still answered)
   * @param routes       the routes the leases' tenant charges name, by name
   */
  public record Head(long nextSeq, long knownSinceMs, Map<String, Long> feedback, List<KeyPool.KeySnapshot> keys,
      List<String> expired, Map<String, Route> routes) {}

  /**
   * A lease held, and the tenant charge it holds (null fields: none).
   *
   * @param id       lease id
   * @param key      key id
   * @param job      job id
   * @param route    route name
   * @param expires  when it expires (epoch ms)
   * @param reserved its token reservation
   * @param at       when it was counted (epoch ms)
   * @param tenant   the charge's tenant tag
   * @param model    the charge's model tag
   * @param day      the charge's UTC day (epoch day)
   * @param cost     the charge's worst-case cost
   * @param after    a waiting successor's predecessor (null: an ordinary lease; absent from older snapshots)
   */
  public record LeaseState(String id, String key, String job, String route, long expires, long reserved, long at,
      String tenant, String model, Long day, Double cost, String after) {

    public LeaseState(String id, String key, String job, String route, long expires, long reserved, long at,
        String tenant, String model, Long day, Double cost) {
      this(id, key, job, route, expires, reserved, at, tenant, model, day, cost, null);
    }

    Lease lease() {
      return new Lease(id, key, job, route, Instant.ofEpochMilli(expires), reserved, at, after);
    }
  }

  /** One record of a snapshot: part {@code part} of {@code parts}; part 0 carries the head. */
  public record Part(String term, long atMs, int part, int parts, Head head, List<LeaseState> leases) {}

  /**
   * The header naming a part record's snapshot and place, {@code term/atMs/part/parts}: a reader skips the parts of
   * snapshots that a newer one supersedes without parsing them.
   */
  public static final String PART_HEADER = "pf.state.part";

  /** The header value of part {@code part} of {@code parts} of this snapshot. */
  public String partHeader(int part, int parts) {
    return term + "/" + atMs + "/" + part + "/" + parts;
  }

  /** The snapshot's records, in order. */
  public List<byte[]> parts() {
    int parts = Math.max(1, (leases.size() + LEASES_PER_PART - 1) / LEASES_PER_PART);
    List<byte[]> out = new ArrayList<>(parts);
    for (int i = 0; i < parts; i++) {
      List<LeaseState> chunk = leases.subList(Math.min(leases.size(), i * LEASES_PER_PART),
          Math.min(leases.size(), (i + 1) * LEASES_PER_PART));
      out.add(Json.bytes(new Part(term, atMs, i, parts, i == 0 ? head : null, chunk)));
    }
    return out;
  }

  /** The header value of a snapshot part, as bytes. */
  public static byte[] kindBytes(String kind) {
    return kind.getBytes(StandardCharsets.UTF_8);
  }

  /** The feedback position key of a partition. */
  public static String position(String topic, int partition) {
    return topic + ":" + partition;
  }

  /**
   * Assembles the newest complete snapshot from the parts read in offset order: a snapshot's parts are contiguous
   * (one transaction, one writer), so an incomplete one (a part missing) is dropped when the next begins. Holds at
   * most the newest complete snapshot and the one being read. Not thread-safe.
   */
  public static final class Reader {
    private List<byte[]> newest;
    private List<byte[]> reading;
    private String id;
    private int next;
    private int parts;
    private int unreadable;
    private long completed;

    /**
     * One record of the snapshot partition, in offset order. Only its {@link #PART_HEADER} is read here (a record
     * without one, from a writer that set none, is parsed for it); the parts are kept as bytes, and only the newest
     * complete snapshot is ever parsed ({@link #newest()}).
     */
    public void accept(Inbound r) {
      String h = r.header(PART_HEADER);
      String[] f = h == null ? null : h.split("/");
      if (f == null || f.length != 4) {
        Part p = parse(r.value());
        if (p == null) {
          return;
        }
        f = new String[] {p.term(), Long.toString(p.atMs()), Integer.toString(p.part()), Integer.toString(p.parts())};
      }
      int part;
      int of;
      try {
        part = Integer.parseInt(f[2]);
        of = Integer.parseInt(f[3]);
      } catch (NumberFormatException e) {
        unreadable++;
        return;
      }
      String snapshot = f[0] + "/" + f[1];
      if (part == 0) {
        id = snapshot;
        parts = of;
        next = 0;
        reading = new ArrayList<>();
      }
      if (reading == null || !snapshot.equals(id) || part != next) {
        reading = null; // a part of no snapshot being read: drop it
        return;
      }
      reading.add(r.value());
      next++;
      if (next == parts) {
        newest = reading;
        reading = null;
        completed++;
      }
    }

    /** How many complete snapshots were read: it changes when {@link #newest()} does. */
    public long completed() {
      return completed;
    }

    /** Whether a complete snapshot was read. */
    public boolean found() {
      return newest != null;
    }

    /** The newest complete snapshot read (parsed now), or null: none, or it cannot be read. */
    public StateSnapshot newest() {
      if (newest == null) {
        return null;
      }
      Head head = null;
      String term = null;
      long atMs = 0;
      List<LeaseState> leases = new ArrayList<>();
      for (byte[] b : newest) {
        Part p = parse(b);
        if (p == null) {
          return null;
        }
        if (p.part() == 0) {
          head = p.head();
          term = p.term();
          atMs = p.atMs();
        }
        if (p.leases() != null) {
          leases.addAll(p.leases());
        }
      }
      return head == null ? null : new StateSnapshot(term, atMs, head, leases);
    }

    private Part parse(byte[] value) {
      try {
        Part p = Json.read(value, Part.class);
        if (p != null && p.term() != null && (p.part() != 0 || p.head() != null)) {
          return p;
        }
      } catch (RuntimeException e) {
        // counted below
      }
      unreadable++;
      return null;
    }

    /** Records that could not be read. */
    public int unreadable() {
      return unreadable;
    }
  }
}
