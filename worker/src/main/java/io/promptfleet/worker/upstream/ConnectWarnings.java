package io.promptfleet.worker.upstream;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * WARNs about one provider's failed connects, at most one every {@code everyMs}: the first failure at once, then a
 * summary of the failures since the last WARN by cause. A storm of thousands of failed connects makes a few lines,
 * not thousands; silence makes none. Thread-safe.
 */
final class ConnectWarnings {
  private static final Logger LOG = LoggerFactory.getLogger(ConnectWarnings.class);

  private final String provider;
  private final long everyMs;
  private final LongSupplier clockMs;
  private final Consumer<String> warn;
  private final Map<String, Integer> since = new TreeMap<>();
  private long lastWarnMs = Long.MIN_VALUE;
  private int suppressed;

  ConnectWarnings(String provider, long everyMs, LongSupplier clockMs) {
    this(provider, everyMs, clockMs, LOG::warn);
  }

  /** With {@code warn} taking each WARN line (tests). */
  ConnectWarnings(String provider, long everyMs, LongSupplier clockMs, Consumer<String> warn) {
    this.warn = warn;
    this.provider = provider;
    this.everyMs = everyMs;
    this.clockMs = clockMs;
  }

  /** A failed connect; {@code waiting}: requests of this provider waiting for a connection at that moment. */
  void failed(ConnectFailure f, int waiting) {
    String line;
    synchronized (this) {
      String key = f.cause() + (f.local() ? " (worker overloaded)" : "");
      since.merge(key, 1, Integer::sum);
      long now = clockMs.getAsLong();
      if (lastWarnMs != Long.MIN_VALUE && now - lastWarnMs < everyMs) {
        suppressed++;
        return;
      }
      line = "connects to provider " + provider + " failed: " + since + " since "
          + (lastWarnMs == Long.MIN_VALUE ? "start" : "the last warning " + (now - lastWarnMs) / 1000 + " s ago")
          + "; " + waiting + " requests waiting for a connection; latest: " + ConnectFailures.describe(f.error())
          + (f.local() ? ". The provider answered other connects meanwhile (or this host ran out of ports or file"
              + " descriptors): this worker opens connections faster than it can complete them; the jobs are "
              + "retried and the provider is not blamed. Lower providers." + provider
              + ".connections.max_pending_connects or the worker's slots, or use HTTP/2" : "");
      since.clear();
      suppressed = 0;
      lastWarnMs = now;
    }
    warn.accept(line);
  }

  /** Failures not yet reported in a WARN (for tests). */
  synchronized int suppressed() {
    return suppressed;
  }
}
