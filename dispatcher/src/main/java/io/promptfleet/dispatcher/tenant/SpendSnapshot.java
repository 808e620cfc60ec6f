package io.promptfleet.dispatcher.tenant;

import io.promptfleet.common.codec.Json;
import io.promptfleet.dispatcher.intake.Inbound;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * What a budgeted tenant has spent on one UTC day, as the active dispatcher writes it to the fleet events topic in
 * its dispatch transaction (header {@value #HEADER} = {@value #KIND}, key {@code tenant_spend:<tenant>}), so that a
 * dispatcher taking over starts from it ({@link SpendRebuild}). Readers of fleet events skip these records by the
 * header. Immutable.
 *
 * @param tenant   the tenant
 * @param day      the UTC day, ISO (2026-11-30)
 * @param atMs     when it was taken (the dispatcher's clock, as the assignments' dispatched_at)
 * @param tokens   tokens settled (reported by workers) for jobs dispatched that day
 * @param costUsd  their cost at the routes' prices
 * @param inFlight the leases of that day not settled yet, with their worst-case reservations
 */
public record SpendSnapshot(String tenant, String day, long atMs, long tokens, double costUsd,
    Map<String, Reserved> inFlight) {

  /** The header that marks a spend snapshot among the fleet events. */
  public static final String HEADER = "pf.record";
  /** Its value. */
  public static final String KIND = "tenant_spend";

  /**
   * A lease's worst-case reservation.
   *
   * @param tokens  prompt estimate plus completion limit
   * @param costUsd those tokens at the route's prices
   */
  public record Reserved(long tokens, double costUsd) {}

  public SpendSnapshot {
    inFlight = inFlight == null ? Map.of() : Map.copyOf(inFlight);
  }

  /** The record key: one per tenant, so a tenant's snapshots stay in order in one partition. */
  public String key() {
    return KIND + ":" + tenant;
  }

  public byte[] bytes() {
    return Json.bytes(this);
  }

  /** The header value, as bytes. */
  public static byte[] kindBytes() {
    return KIND.getBytes(StandardCharsets.UTF_8);
  }

  /** Whether a fleet-events record is a spend snapshot (not a fleet event). */
  public static boolean is(Inbound r) {
    return r.headers() != null && KIND.equals(r.header(HEADER));
  }

  /** The snapshot in a record, or null when it cannot be read. */
  public static SpendSnapshot read(Inbound r) {
    try {
      SpendSnapshot s = Json.read(r.value(), SpendSnapshot.class);
      return s == null || s.tenant() == null || s.day() == null ? null : s;
    } catch (RuntimeException e) {
      return null;
    }
  }
}
