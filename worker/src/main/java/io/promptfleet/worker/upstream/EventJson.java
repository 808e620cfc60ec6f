package io.promptfleet.worker.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.ErrorCodes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** The JSON object of a stream event, and the failure of an event that has none; for the protocols' decoders. */
final class EventJson {
  private EventJson() {}

  /** The event's data as a JSON object, or null when it is not one (not JSON, or another JSON value). */
  static JsonNode object(String data) {
    try {
      JsonNode n = Json.mapper().readTree(data);
      return n != null && n.isObject() ? n : null;
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * The event's data, given as well-formed UTF-8, as a JSON object; null when it is not one, and also when it does
   * not start with {@code '{'}: Jackson's byte parser guesses the encoding of other starts (a byte order mark,
   * zero bytes) where the text parser would not, so such data goes by {@link #object(String)}, whose errors the
   * decoders report.
   */
  static JsonNode object(byte[] utf8, int offset, int length) {
    if (!startsAnObject(utf8, offset, length)) {
      return null;
    }
    try {
      JsonNode n = Json.mapper().readTree(utf8, offset, length);
      return n != null && n.isObject() ? n : null;
    } catch (IOException e) {
      return null;
    }
  }

  /** Whether the bytes start with {@code '{'}: the data a byte parser reads exactly as the text parser does. */
  static boolean startsAnObject(byte[] utf8, int offset, int length) {
    return length > 0 && utf8[offset] == '{';
  }

  /** Well-formed UTF-8 as text. */
  static String text(byte[] utf8, int offset, int length) {
    return new String(utf8, offset, length, StandardCharsets.UTF_8);
  }

  /** An event whose data is not a JSON object: the stream is invalid (transient, another attempt may do better). */
  static Failure notAnObject(String data) {
    return Failure.transientFailure(ErrorCodes.STREAM_INVALID, "a stream event is not a JSON object: "
        + Failures.clip(data), 200);
  }
}
