package io.promptfleet.common.upstream;

import java.util.Collection;
import org.jspecify.annotations.Nullable;

/**
 * Removes a key's secret and a provider's header values from text that came back from a provider call (an error
 * body, an exception's message) before it goes into a result, an exception or a log: the one rule for the worker's
 * live calls and the dispatcher's batch calls. A secret shorter than 4 characters and header values shorter than 8
 * are left alone (they would blank out ordinary words). Stateless and thread-safe.
 */
public final class SecretRedaction {
  private SecretRedaction() {}

  /** {@code text} with every occurrence of {@code secret} and of each of {@code headerValues} replaced by ***. */
  public static @Nullable String redact(@Nullable String text, String secret, Collection<String> headerValues) {
    if (text == null) {
      return null;
    }
    String out = secret.length() < 4 ? text : text.replace(secret, "***");
    for (String v : headerValues) {
      if (v.length() >= 8) {
        out = out.replace(v, "***");
      }
    }
    return out;
  }
}
