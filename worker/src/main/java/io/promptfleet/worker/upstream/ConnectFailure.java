package io.promptfleet.worker.upstream;

import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLException;

/**
 * A request that got no connection to its provider: why ({@link #cause()}, a metric tag) and whose failure it is
 * ({@link #local()}: the worker's own overload, see {@link ProviderConnections}). Immutable.
 */
public final class ConnectFailure extends Exception {
  public static final String TIMEOUT = "timeout";
  public static final String REFUSED = "refused";
  public static final String TLS = "tls";
  public static final String DNS = "dns";
  public static final String UNREACHABLE = "unreachable";
  public static final String LOCAL_RESOURCES = "local_resources";
  public static final String OTHER = "other";

  private final String cause;
  private final boolean local;

  ConnectFailure(String cause, boolean local, Throwable error) {
    super(error == null ? cause : error.getMessage(), error, false, false);
    this.cause = cause;
    this.local = local;
  }

  /** One of the constants of this class. */
  public String cause() {
    return cause;
  }

  /** True when the worker's own overload explains it: the provider is not to blame. */
  public boolean local() {
    return local;
  }

  /** The exception that ended the connect. */
  public Throwable error() {
    return getCause();
  }

  /** What kind of connect failure {@code t} is. */
  static String causeOf(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof SslHandshakeTimeoutException) {
        return TIMEOUT; // the handshake ran out of time (wrapped in an SSLException): slow, not refused
      }
    }
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      String m = c.getMessage() == null ? "" : c.getMessage().toLowerCase(Locale.ROOT);
      if (m.contains("too many open files") || m.contains("cannot assign requested address")
          || m.contains("no buffer space available")) {
        return LOCAL_RESOURCES;
      }
      if (c instanceof SSLException) {
        return TLS;
      }
      if (c instanceof UnknownHostException) {
        return DNS;
      }
      if (c instanceof ConnectTimeoutException || c instanceof TimeoutException || m.contains("timed out")
          || m.contains("timeout")) {
        return TIMEOUT;
      }
      if (c instanceof NoRouteToHostException || m.contains("no route to host")
          || m.contains("network is unreachable")) {
        return UNREACHABLE;
      }
      if (c instanceof ConnectException || m.contains("connection refused")) {
        return REFUSED;
      }
    }
    return OTHER;
  }
}
