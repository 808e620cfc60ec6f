package io.promptfleet.common.codec;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The one codec of the cancels topic ({@code llm.cancels}), used by every writer and reader (the dispatcher for
 * queued jobs, every worker for jobs in flight, the Java client and the command line).
 *
 * <p>Written as key = the job id, value = {@code {"job_id": "..."}}. Read leniently, the same way everywhere:
 * <ul>
 *   <li>an empty value: the record's key names the job;</li>
 *   <li>a JSON object: its {@code job_id} string names the job; an object without one is not a cancel;</li>
 *   <li>a JSON string: it names the job;</li>
 *   <li>any other text (not JSON, at most 256 characters, no braces): the text itself, trimmed.</li>
 * </ul>
 * A value larger than 4 KiB, a blank id, or any other JSON is not a cancel ({@link #jobId} is empty): the dispatcher
 * dead-letters it with {@link #UNREADABLE}, the workers ignore it. Stateless and thread-safe.
 */
public final class CancelRecords {
  /** Why a record on the cancels topic is not a cancel. */
  public static final String UNREADABLE =
      "unreadable cancel: expected a job id (record key with an empty value, a JSON string, or {\"job_id\":...})";
  private static final int MAX_VALUE_BYTES = 4_096;
  private static final int MAX_TEXT_ID = 256;

  private CancelRecords() {}

  /** The value of the cancel record of {@code jobId} (its key is the job id). */
  public static byte[] value(String jobId) {
    return Json.bytes(Json.mapper().createObjectNode().put("job_id", jobId));
  }

  /** The job a record of the cancels topic names, or empty when it names none. */
  public static Optional<String> jobId(@Nullable String key, byte @Nullable [] value) {
    if (value == null || value.length == 0) {
      return nonBlank(key);
    }
    if (value.length > MAX_VALUE_BYTES) {
      return Optional.empty();
    }
    String text = new String(value, StandardCharsets.UTF_8).strip();
    JsonNode node;
    try {
      node = Json.mapper().readTree(text);
    } catch (Exception e) {
      return text.length() > MAX_TEXT_ID || text.contains("{") || text.contains("}") ? Optional.empty()
          : nonBlank(text);
    }
    if (node != null && node.isTextual()) {
      return nonBlank(node.textValue());
    }
    if (node != null && node.isObject() && node.path("job_id").isTextual()) {
      return nonBlank(node.get("job_id").textValue());
    }
    return Optional.empty();
  }

  private static Optional<String> nonBlank(@Nullable String s) {
    return s == null || s.isBlank() ? Optional.empty() : Optional.of(s.strip());
  }
}
