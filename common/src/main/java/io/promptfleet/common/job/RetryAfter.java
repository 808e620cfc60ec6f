package io.promptfleet.common.job;

import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The one parser of how long a provider asks us to wait (the worker reads the response, the dispatcher a
 * released lease's headers): {@code retry-after-ms} (milliseconds, OpenAI), else
 * {@code retry-after} as delta-seconds or an HTTP date (RFC 9110). Stateless and thread-safe.
 */
public final class RetryAfter {
  /** Longer waits than this are capped: a typo'd header must not park a job for a year. */
  public static final long MAX_MS = 24L * 3600 * 1000;

  private RetryAfter() {}

  /**
   * @param headers response headers with lower-case names
   * @param now     the time the response arrived
   * @return the wait in ms (>= 0, capped at {@link #MAX_MS}), or null when no usable header was sent
   */
  public static @Nullable Long millis(Map<String, String> headers, Instant now) {
    Long ms = parseMillis(headers.get("retry-after-ms"));
    if (ms == null) {
      ms = parseRetryAfter(headers.get("retry-after"), now);
    }
    return ms == null ? null : Math.min(MAX_MS, Math.max(0, ms));
  }

  private static @Nullable Long parseMillis(@Nullable String v) {
    if (v == null || v.isBlank()) {
      return null;
    }
    try {
      double d = Double.parseDouble(v.trim());
      return Double.isFinite(d) && d >= 0 ? (long) Math.ceil(d) : null;
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static @Nullable Long parseRetryAfter(@Nullable String v, Instant now) {
    if (v == null || v.isBlank()) {
      return null;
    }
    String s = v.trim();
    if (Character.isDigit(s.charAt(0))) {
      try {
        double secs = Double.parseDouble(s);
        return Double.isFinite(secs) && secs >= 0 ? (long) Math.ceil(secs * 1000) : null;
      } catch (NumberFormatException e) {
        return null;
      }
    }
    try {
      Instant at = ZonedDateTime.parse(s, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
      return Math.max(0, at.toEpochMilli() - now.toEpochMilli());
    } catch (DateTimeParseException e) {
      return null;
    }
  }
}
