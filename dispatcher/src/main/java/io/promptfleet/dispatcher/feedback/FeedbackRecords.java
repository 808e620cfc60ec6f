package io.promptfleet.dispatcher.feedback;

import io.promptfleet.common.codec.CancelRecords;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.kafka.TopicAdmin;
import io.promptfleet.dispatcher.intake.Inbound;
import io.promptfleet.dispatcher.lease.ArchivedAssignment;

/**
 * Reads the three kinds of feedback record: a cancel ({@code llm.cancels}), a fleet event ({@code llm.fleet.events})
 * and an archived assignment (the workers' share-group dead-letter queue). Shared by the live path
 * ({@link FeedbackRouter}) and the takeover ({@code ha.Takeover}), so both read a record the same way. Stateless and
 * thread-safe.
 */
public final class FeedbackRecords {
  private FeedbackRecords() {}

  /** The job a cancel names, or null: read by {@link CancelRecords}, the codec every reader and writer uses. */
  public static String cancelledJobId(Inbound r) {
    return CancelRecords.jobId(r.key(), r.value()).orElse(null);
  }

  /**
   * The fleet event in the record.
   *
   * @throws RuntimeException when it cannot be read, has no type, or reports connections of no provider (the
   *                          message says why)
   */
  public static FleetEvent fleetEvent(Inbound r) {
    FleetEvent e = Json.read(r.value(), FleetEvent.class);
    if (e.type() == null) {
      throw new IllegalArgumentException("no type");
    }
    if (e.connections() != null) {
      for (int i = 0; i < e.connections().size(); i++) {
        if (e.connections().get(i) == null || e.connections().get(i).provider() == null) {
          throw new IllegalArgumentException("connections[" + i + "] names no provider");
        }
      }
    }
    return e;
  }

  /** The archived assignment in a dead-letter-queue record, with the broker's headers; never null. */
  public static ArchivedAssignment archived(Inbound r) {
    String why = r.header(TopicAdmin.DLQ_HEADER_MESSAGE);
    String where = r.header(TopicAdmin.DLQ_HEADER_TOPIC) + "-" + r.header(TopicAdmin.DLQ_HEADER_PARTITION) + "@"
        + r.header(TopicAdmin.DLQ_HEADER_OFFSET);
    Assignment a;
    try {
      a = r.value() == null ? null : Json.read(r.value(), Assignment.class);
    } catch (RuntimeException e) {
      a = null;
    }
    return new ArchivedAssignment(a, parseInt(r.header(TopicAdmin.DLQ_HEADER_DELIVERY_COUNT), 1), why, where);
  }

  private static int parseInt(String s, int fallback) {
    try {
      return s == null ? fallback : Integer.parseInt(s.trim());
    } catch (NumberFormatException e) {
      return fallback;
    }
  }
}
