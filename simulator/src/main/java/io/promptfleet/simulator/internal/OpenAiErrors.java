package io.promptfleet.simulator.internal;

/**
 * OpenAI-style error bodies: {@code {"error":{"message":...,"type":...,"param":...,"code":...}}}.
 * Stateless and thread-safe.
 */
public final class OpenAiErrors {

  /** The message OpenAI sends in a mid-stream error event. */
  public static final String SERVER_ERROR_MESSAGE = "The server had an error while processing your request.";

  private OpenAiErrors() {}

  /** The parts of an error body other than {@code param}. */
  public record Spec(String message, String type, String code) {}

  /** The JSON error body. {@code param} and {@code code} may be null. */
  public static String body(String message, String type, String param, String code) {
    StringBuilder sb = new StringBuilder(128).append("{\"error\":{\"message\":");
    Json.appendString(sb, message).append(",\"type\":");
    Json.appendString(sb, type).append(",\"param\":");
    appendNullable(sb, param).append(",\"code\":");
    return appendNullable(sb, code).append("}}").toString();
  }

  /** The body of an injected {@code status} fault. */
  public static String body(Spec spec) {
    return body(spec.message(), spec.type(), null, spec.code());
  }

  /** A realistic error for an HTTP status, as OpenAI (or, for 529, Anthropic) would send it. */
  public static Spec forStatus(int status, boolean quota, String model) {
    if (quota) {
      return new Spec("You exceeded your current quota, please check your plan and billing details.",
          "insufficient_quota", "insufficient_quota");
    }
    return switch (status) {
      case 400 -> new Spec("Invalid request (simulated).", "invalid_request_error", null);
      case 401 -> new Spec("Incorrect API key provided (simulated).", "invalid_request_error", "invalid_api_key");
      case 403 -> new Spec("You are not allowed to sample from this model (simulated).",
          "invalid_request_error", "unsupported_country_region_territory");
      case 404 -> new Spec("The model `" + model + "` does not exist or you do not have access to it.",
          "invalid_request_error", "model_not_found");
      case 408 -> new Spec("Request timed out (simulated).", "server_error", null);
      case 409 -> new Spec("Conflict: another request is using this resource (simulated).",
          "invalid_request_error", null);
      case 413 -> new Spec("Request too large (simulated).", "invalid_request_error", "request_too_large");
      case 422 -> new Spec("Unprocessable entity (simulated).", "invalid_request_error", null);
      case 429 -> new Spec("Rate limit reached for " + model + " on requests per min (RPM) (simulated)."
          + " Please try again later.", "requests", "rate_limit_exceeded");
      case 500 -> new Spec(SERVER_ERROR_MESSAGE + " Sorry about that!", "server_error", null);
      case 502 -> new Spec("Bad gateway (simulated).", "server_error", null);
      case 503 -> new Spec("The engine is currently overloaded, please try again later.", "server_error", null);
      case 529 -> new Spec("Overloaded (simulated).", "overloaded_error", null);
      default -> new Spec("Simulated error " + status + ".",
          status >= 500 ? "server_error" : "invalid_request_error", null);
    };
  }

  private static StringBuilder appendNullable(StringBuilder sb, String value) {
    return value == null ? sb.append("null") : Json.appendString(sb, value);
  }
}
