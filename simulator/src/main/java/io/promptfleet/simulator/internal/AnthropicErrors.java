package io.promptfleet.simulator.internal;

/**
 * Anthropic-style error bodies: {@code {"type":"error","error":{"type":...,"message":...}}}, with the error type
 * Anthropic documents for each HTTP status. Stateless and thread-safe.
 */
final class AnthropicErrors {
  private AnthropicErrors() {}

  static String body(String type, String message) {
    StringBuilder sb = new StringBuilder(96).append("{\"type\":\"error\",\"error\":{\"type\":");
    Json.appendString(sb, type).append(",\"message\":");
    return Json.appendString(sb, message).append("}}").toString();
  }

  /** The error type Anthropic sends with {@code status} ({@code billing_error} for a spent quota). */
  static String typeFor(int status, boolean quota) {
    if (quota) {
      return "billing_error";
    }
    return switch (status) {
      case 400, 409, 422 -> "invalid_request_error";
      case 401 -> "authentication_error";
      case 402 -> "billing_error";
      case 403 -> "permission_error";
      case 404 -> "not_found_error";
      case 413 -> "request_too_large";
      case 429 -> "rate_limit_error";
      case 504, 408 -> "timeout_error";
      case 529 -> "overloaded_error";
      default -> "api_error";
    };
  }
}
