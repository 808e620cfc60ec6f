package io.promptfleet.worker.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.ErrorCodes;
import java.io.IOException;

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

  /** An event whose data is not a JSON object: the stream is invalid (transient, another attempt may do better). */
  static Failure notAnObject(String data) {
    return Failure.transientFailure(ErrorCodes.STREAM_INVALID, "a stream event is not a JSON object: "
        + Failures.clip(data), 200);
  }
}
