package io.promptfleet.simulator.internal;

import java.math.BigDecimal;

/**
 * The request rules OpenAI enforces for its reasoning models (o-series, gpt-5): {@code max_tokens} is not
 * supported (use {@code max_completion_tokens}), and {@code temperature} may only be the default, 1. Which
 * models count as reasoning models is a setting
 * ({@link io.promptfleet.simulator.SimulatorOptions#reasoningModelPrefixes()}).
 *
 * <p>Stateless and thread-safe.
 */
final class ReasoningModelRules {

  private ReasoningModelRules() {}

  /**
   * Rejects what a reasoning model rejects, with OpenAI's error message, param and code.
   *
   * @throws InvalidRequestException for {@code max_tokens} ({@code unsupported_parameter}) or a
   *                                 {@code temperature} other than 1 ({@code unsupported_value})
   */
  static void check(ChatRequest request) throws InvalidRequestException {
    if (request.legacyMaxTokens()) {
      throw new InvalidRequestException("Unsupported parameter: 'max_tokens' is not supported with this model."
          + " Use 'max_completion_tokens' instead.", "max_tokens", "unsupported_parameter");
    }
    Number temperature = request.temperature();
    if (temperature != null && temperature.doubleValue() != 1.0) {
      throw new InvalidRequestException("Unsupported value: 'temperature' does not support " + format(temperature)
          + " with this model. Only the default (1) value is supported.", "temperature", "unsupported_value");
    }
  }

  /** The number as the client wrote it, as far as the JSON parser kept it: 0.2, 0, 2.0, 0.0001. */
  static String format(Number number) {
    if (number instanceof Double || number instanceof Float) {
      String text = Double.toString(number.doubleValue());
      return text.indexOf('E') < 0 ? text : BigDecimal.valueOf(number.doubleValue()).stripTrailingZeros().toPlainString();
    }
    if (number instanceof BigDecimal decimal) {
      return decimal.toPlainString();
    }
    return number.toString();
  }
}
