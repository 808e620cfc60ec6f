package io.promptfleet.dispatcher.feedback;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.kafka.TopicAdmin;
import io.promptfleet.dispatcher.intake.Inbound;
import io.promptfleet.dispatcher.lease.ArchivedAssignment;
import java.nio.charset.StandardCharsets;

/**
 * Reads the three kinds of feedback record: a cancel ({@code llm.cancels}), a fleet event ({@code llm.fleet.events})
 * and an archived assignment (the workers' share-group dead-letter queue). Shared by the live path
 * ({@link FeedbackRouter}) and the takeover ({@code ha.Takeover}), so both read a record the same way. Stateless and
 * thread-safe.
 */
public final class FeedbackRecords {
  private FeedbackRecords() {}

  /**
   * The job a cancel names: the value as a JSON string, or its {@code job_id}, or plain text (up to 256
   * characters, no braces); the key when the value is empty. Null when it names none.
   */
  public static String cancelledJobId(Inbound r) {
    if (r.value() != null && r.value().length > 0 && r.value().length < 4_096) {
      try {
        var node = Json.mapper().readTree(r.value());
        if (node != null && node.isTextual() && !node.textValue().isBlank()) {
          return node.textValue();
        }
        if (node != null && node.path("job_id").isTextual() && !node.path("job_id").textValue().isBlank()) {
          return node.path("job_id").textValue();
        }
        return null;
      } catch (Exception e) {
        String s = new String(r.value(), StandardCharsets.UTF_8).trim();
        return s.isEmpty() || s.length() > 256 || s.contains("{") ? null : s;
      }
    }
    return r.key() != null && !r.key().isBlank() && (r.value() == null || r.value().length == 0) ? r.key() : null;
  }

  /**
   * The fleet event in the record.
   *
   * @throws RuntimeException when it cannot be read or has no type (the message says why)
   */
  public static FleetEvent fleetEvent(Inbound r) {
    FleetEvent e = Json.read(r.value(), FleetEvent.class);
    if (e.type() == null) {
      throw new IllegalArgumentException("no type");
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
