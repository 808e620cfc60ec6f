package io.promptfleet.simulator.internal;

import io.vertx.core.json.JsonObject;

/**
 * A file held by the simulated OpenAI Files API: an uploaded batch input, or a batch's output or error file.
 * Immutable and thread-safe.
 */
record SimFile(String id, String purpose, String filename, byte[] bytes, long createdMs) {

  /** Files of purpose batch and batch_output are kept 30 days on OpenAI; the simulator reports the same expiry. */
  static final long EXPIRES_AFTER_SECONDS = 30L * 24 * 60 * 60;

  /** The {@code file} object, in OpenAI's shape. */
  JsonObject toJson() {
    long created = createdMs / 1000;
    return new JsonObject().put("id", id).put("object", "file").put("bytes", bytes.length).put("created_at", created)
        .put("expires_at", created + EXPIRES_AFTER_SECONDS).put("filename", filename).put("purpose", purpose)
        .put("status", "processed").putNull("status_details");
  }
}
