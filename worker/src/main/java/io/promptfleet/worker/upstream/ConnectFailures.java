package io.promptfleet.worker.upstream;

import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.util.Locale;
import javax.net.ssl.SSLException;

/**
 * What a failed connection to a provider tells its operator: for a TLS failure, which certificate problem and the
 * setting that fixes it; otherwise the exception as given. Pure; thread-safe.
 */
public final class ConnectFailures {
  private ConnectFailures() {}

  /**
   * The message of a {@code connect_failed} attempt, e.g. {@code cannot reach provider azure: the provider's TLS
   * certificate is not trusted (PKIX path building failed: …): add the CA that issued it to
   * providers.azure.tls.ca_file}.
   */
  public static String message(String provider, Throwable cause) {
    return "cannot reach provider " + provider + ": " + explain(provider, cause);
  }

  private static String explain(String provider, Throwable cause) {
    String at = "providers." + provider;
    Throwable ssl = find(cause, SSLException.class);
    if (ssl == null) {
      return describe(cause);
    }
    Throwable root = root(cause);
    String reason = describe(root);
    String text = chainText(cause).toLowerCase(Locale.ROOT);
    if (find(cause, CertificateExpiredException.class) != null
        || find(cause, CertificateNotYetValidException.class) != null || text.contains("validity check failed")) {
      return "the provider's TLS certificate is outside its validity period (" + reason + "): the provider must renew"
          + " it (check this host's clock too)";
    }
    if (text.contains("subject alternative name") || text.contains("no name matching")
        || text.contains("hostname") && text.contains("match")) {
      return "the provider's TLS certificate does not name the host in " + at + ".base_url (" + reason + "): use a"
          + " host name the certificate names";
    }
    if (find(cause, CertPathBuilderException.class) != null || find(cause, CertPathValidatorException.class) != null
        || text.contains("pkix path") || text.contains("unable to find valid certification path")) {
      return "the provider's TLS certificate is not trusted (" + reason + "): add the CA that issued it to " + at
          + ".tls.ca_file (a PEM bundle, trusted in addition to the JVM's CAs)";
    }
    if (text.contains("not an ssl/tls record") || text.contains("unrecognized ssl message")) {
      return "the provider did not answer in TLS (" + reason + "): is " + at + ".base_url https:// for a plain"
          + " HTTP endpoint?";
    }
    return "the TLS handshake failed (" + reason + "): check " + at + ".tls (ca_file, cert_file and key_file)";
  }

  private static Throwable find(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (type.isInstance(c)) {
        return c;
      }
    }
    return null;
  }

  private static Throwable root(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    return c;
  }

  private static String chainText(Throwable t) {
    StringBuilder b = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      b.append(c.getClass().getName()).append(": ").append(c.getMessage()).append('\n');
    }
    return b.toString();
  }

  /** The exception's simple class name and message. */
  public static String describe(Throwable t) {
    String m = t.getMessage();
    return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }
}
