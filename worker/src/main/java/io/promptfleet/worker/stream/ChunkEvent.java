package io.promptfleet.worker.stream;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Usage;
import java.io.IOException;

/**
 * The fields the worker needs from one OpenAI {@code chat.completion.chunk} event, read with a streaming parser
 * (no tree: this runs once per token of every stream). Everything else is skipped. Not thread-safe; immutable once
 * parsed.
 */
final class ChunkEvent {
  private static final JsonFactory FACTORY = Json.mapper().getFactory();

  boolean hasError;
  String model;
  String content;
  String finishReason;
  Usage usage;

  private ChunkEvent() {}

  /** @throws IOException when {@code data} is not JSON, or not a JSON object */
  static ChunkEvent parse(String data) throws IOException {
    ChunkEvent e = new ChunkEvent();
    try (JsonParser p = FACTORY.createParser(data)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IOException("not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken t = p.nextToken();
        switch (field) {
          case "error" -> {
            e.hasError = t != JsonToken.VALUE_NULL;
            p.skipChildren();
          }
          case "model" -> e.model = t == JsonToken.VALUE_STRING ? p.getText() : e.model;
          case "usage" -> e.usage = t == JsonToken.START_OBJECT ? usage(p) : e.usage;
          case "choices" -> {
            if (t == JsonToken.START_ARRAY) {
              choices(p, e);
            } else {
              p.skipChildren();
            }
          }
          default -> p.skipChildren();
        }
      }
      if (p.currentToken() != JsonToken.END_OBJECT) {
        throw new IOException("truncated JSON object");
      }
    }
    return e;
  }

  private static Usage usage(JsonParser p) throws IOException {
    long prompt = 0;
    long completion = 0;
    Long total = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String f = p.currentName();
      JsonToken t = p.nextToken();
      if (t == JsonToken.VALUE_NUMBER_INT) {
        switch (f) {
          case "prompt_tokens" -> prompt = p.getLongValue();
          case "completion_tokens" -> completion = p.getLongValue();
          case "total_tokens" -> total = p.getLongValue();
          default -> { }
        }
      } else {
        p.skipChildren();
      }
    }
    return new Usage(prompt, completion, total == null ? prompt + completion : total);
  }

  /** The first choice's delta content and finish reason; other choices are skipped. */
  private static void choices(JsonParser p, ChunkEvent e) throws IOException {
    boolean first = true;
    for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
      if (first && t == JsonToken.START_OBJECT) {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String f = p.currentName();
          JsonToken v = p.nextToken();
          if ("finish_reason".equals(f) && v == JsonToken.VALUE_STRING) {
            e.finishReason = p.getText();
          } else if ("delta".equals(f) && v == JsonToken.START_OBJECT) {
            while (p.nextToken() == JsonToken.FIELD_NAME) {
              String df = p.currentName();
              JsonToken dv = p.nextToken();
              if ("content".equals(df) && dv == JsonToken.VALUE_STRING) {
                e.content = p.getText();
              } else {
                p.skipChildren();
              }
            }
          } else {
            p.skipChildren();
          }
        }
      } else {
        p.skipChildren();
      }
      first = false;
    }
  }
}
