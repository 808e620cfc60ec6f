package io.promptfleet.worker.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.ErrorCodes;
import java.io.IOException;
import java.util.Locale;

/**
 * The one place that classifies provider failures (HTTP status and OpenAI-style error bodies, whose {@code error}
 * object Anthropic's share: {@code {"type": "error", "error": {"type": "overloaded_error", "message": ...}}}) as
 * transient, key-fatal or permanent. Anthropic's 529 {@code overloaded_error} is a 5xx, so transient; its 402 {@code
 * billing_error} is key-fatal like a quota 429. Stateless and thread-safe.
 */
public final class Failures {
  private static final int MAX_DETAIL = 512;

  private Failures() {}

  /** A non-200 response: {@code body} is the (possibly truncated, possibly non-JSON) error body. */
  public static Failure ofHttp(int status, String body) {
    ErrorBody e = ErrorBody.parse(body);
    String message = "provider answered HTTP " + status + (e.message.isEmpty() ? "" : ": " + e.message);
    return switch (status) {
      case 401, 403 -> new Failure(FailureClass.KEY_FATAL, ErrorCodes.UPSTREAM_AUTH, message, status);
      case 402 -> e.isQuota()
          ? new Failure(FailureClass.KEY_FATAL, ErrorCodes.UPSTREAM_QUOTA, message, status)
          : new Failure(FailureClass.PERMANENT, ErrorCodes.UPSTREAM_REJECTED, message, status);
      case 429 -> e.isQuota()
          ? new Failure(FailureClass.KEY_FATAL, ErrorCodes.UPSTREAM_QUOTA, message, status)
          : new Failure(FailureClass.TRANSIENT, ErrorCodes.UPSTREAM_RATE_LIMITED, message, status);
      case 408 -> new Failure(FailureClass.TRANSIENT, ErrorCodes.TIMEOUT, message, status);
      case 409 -> new Failure(FailureClass.TRANSIENT, ErrorCodes.UPSTREAM_ERROR, message, status);
      default -> status >= 500
          ? new Failure(FailureClass.TRANSIENT, ErrorCodes.UPSTREAM_ERROR, message, status)
          : new Failure(FailureClass.PERMANENT, ErrorCodes.UPSTREAM_REJECTED, message, status);
    };
  }

  /**
   * An error reported inside a 200 stream ({@code data: {"error": ...}} or {@code event: error}). Classified by
   * its code/type: quota and key errors are key-fatal, rate limits transient, anything else transient (the
   * provider broke off a stream it had accepted).
   */
  public static Failure ofStreamError(String data) {
    return ofStreamError(ErrorBody.parse(data));
  }

  /**
   * An error inside a 200 Responses API stream: the {@code error} of a {@code response.failed} event's response
   * ({@code {"code", "message"}}) or of an {@code error} event ({@code {"type", "code", "message", "param"}}).
   * Classified as {@link #ofStreamError(String)} does, except that an invalid request is permanent (another attempt
   * would send the same): type {@code invalid_request_error}, a code {@code invalid_*} or {@code
   * context_length_exceeded}, and the image codes of the Responses API reference ({@code image_*}, {@code
   * empty_image_file}, {@code failed_to_download_image}, {@code unsupported_image_media_type}).
   */
  public static Failure ofResponseError(JsonNode error) {
    ErrorBody e = ErrorBody.of(error);
    String code = e.code.toLowerCase(Locale.ROOT);
    if (e.is("invalid_request_error") || code.startsWith("invalid_") || code.startsWith("image_")
        || e.is("context_length_exceeded") || e.is("empty_image_file") || e.is("failed_to_download_image")
        || e.is("unsupported_image_media_type")) {
      return new Failure(FailureClass.PERMANENT, ErrorCodes.UPSTREAM_REJECTED, "the provider rejected the request"
          + " in the stream: " + (e.code.isEmpty() ? "" : e.code + ": ") + e.message, 200);
    }
    return ofStreamError(e);
  }

  private static Failure ofStreamError(ErrorBody e) {
    String message = "the provider reported an error in the stream" + (e.message.isEmpty() ? "" : ": " + e.message);
    if (e.isQuota()) {
      return new Failure(FailureClass.KEY_FATAL, ErrorCodes.UPSTREAM_QUOTA, message, 200);
    }
    if (e.is("invalid_api_key") || e.is("authentication_error") || e.is("permission_error")) {
      return new Failure(FailureClass.KEY_FATAL, ErrorCodes.UPSTREAM_AUTH, message, 200);
    }
    if (e.is("rate_limit_exceeded") || e.is("rate_limit_error") || e.is("requests") || e.is("tokens")) {
      return new Failure(FailureClass.TRANSIENT, ErrorCodes.UPSTREAM_RATE_LIMITED, message, 200);
    }
    return new Failure(FailureClass.TRANSIENT, ErrorCodes.UPSTREAM_ERROR, message, 200);
  }

  /** The error part of an OpenAI-style body: {@code {"error": {"message", "type", "code"}}}. */
  private record ErrorBody(String message, String type, String code) {
    static ErrorBody parse(String body) {
      if (body == null || body.isBlank()) {
        return new ErrorBody("", "", "");
      }
      try {
        JsonNode n = Json.mapper().readTree(body);
        JsonNode err = n == null ? null : n.get("error");
        if (err != null && err.isObject()) {
          return of(err);
        }
        if (err != null && err.isTextual()) {
          return new ErrorBody(clip(err.textValue()), "", "");
        }
      } catch (IOException | RuntimeException e) {
        // not JSON: keep the raw text
      }
      return new ErrorBody(clip(body.strip()), "", "");
    }

    /** An error object, {@code {"message", "type", "code"}}; absent or null fields are "". */
    static ErrorBody of(JsonNode err) {
      if (err == null || !err.isObject()) {
        return new ErrorBody("", "", "");
      }
      return new ErrorBody(clip(err.path("message").asText("")), err.path("type").asText(""),
          err.path("code").asText(""));
    }

    boolean is(String what) {
      return what.equals(code.toLowerCase(Locale.ROOT)) || what.equals(type.toLowerCase(Locale.ROOT));
    }

    boolean isQuota() {
      return is("insufficient_quota") || is("billing_hard_limit_reached") || is("billing_not_active")
          || is("billing_error");
    }
  }

  public static String clip(String s) {
    return s.length() <= MAX_DETAIL ? s : s.substring(0, MAX_DETAIL) + "...";
  }
}
