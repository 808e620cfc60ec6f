package io.promptfleet.worker.upstream;

import io.promptfleet.common.config.ConfigException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A trust manager that accepts a server certificate when the JVM's default trust store does, or else when a CA of
 * the provider's {@code tls.ca_file} does: the file adds to the JVM's trust, it does not replace it (a private CA or
 * a TLS-inspecting proxy's CA alongside the public ones). Host names are checked by whichever delegate accepts the
 * chain (both are the JDK's PKIX trust managers, which verify the endpoint identity the engine asks for).
 * Thread-safe (immutable).
 */
final class ExtraTrust extends X509ExtendedTrustManager {
  private static final Pattern PEM_CERT = Pattern.compile(
      "-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\\s]+?)-----END CERTIFICATE-----");

  private final X509ExtendedTrustManager jvm;
  private final X509ExtendedTrustManager extra;

  private ExtraTrust(X509ExtendedTrustManager jvm, X509ExtendedTrustManager extra) {
    this.jvm = jvm;
    this.extra = extra;
  }

  /**
   * The JVM's trust plus every certificate of the PEM bundle {@code caFile}; blocking (reads the file).
   *
   * @param at the configuration field, e.g. {@code providers.azure.tls.ca_file}, for messages
   * @throws ConfigException naming {@code at} when the file cannot be read or holds no certificate
   */
  static ExtraTrust of(String at, Path caFile) {
    List<X509Certificate> certs = readPem(at, caFile);
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      for (int i = 0; i < certs.size(); i++) {
        store.setCertificateEntry("ca-" + i, certs.get(i));
      }
      return new ExtraTrust(trustManager(null), trustManager(store));
    } catch (GeneralSecurityException | IOException e) {
      throw new ConfigException(at + ": cannot build a trust store from " + caFile + ": " + e.getMessage(), e);
    }
  }

  /** The certificates of a PEM bundle (text between the blocks, such as comments, is ignored). */
  static List<X509Certificate> readPem(String at, Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new ConfigException(at + ": cannot read " + file + " (" + e + ")", e);
    }
    List<X509Certificate> out = new ArrayList<>();
    Matcher m = PEM_CERT.matcher(text);
    try {
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      while (m.find()) {
        byte[] der = Base64.getMimeDecoder().decode(m.group(1));
        out.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der)));
      }
    } catch (CertificateException | IllegalArgumentException e) {
      throw new ConfigException(at + ": " + file + " holds a certificate that cannot be read: " + e.getMessage(), e);
    }
    if (out.isEmpty()) {
      throw new ConfigException(at + ": " + file + " holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
    return out;
  }

  private static X509ExtendedTrustManager trustManager(KeyStore store) throws GeneralSecurityException {
    TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    f.init(store);
    for (TrustManager tm : f.getTrustManagers()) {
      if (tm instanceof X509ExtendedTrustManager x) {
        return x;
      }
    }
    throw new GeneralSecurityException("the JVM's TrustManagerFactory offers no X509 trust manager");
  }

  /** A server check: {@code jvm}, else {@code extra}; when both refuse, the JVM's reason with the other's kept. */
  private interface Check {
    void run(X509ExtendedTrustManager tm) throws CertificateException;
  }

  private void either(Check check) throws CertificateException {
    try {
      check.run(jvm);
    } catch (CertificateException first) {
      try {
        check.run(extra);
      } catch (CertificateException second) {
        first.addSuppressed(second);
        throw first;
      }
    }
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    either(tm -> tm.checkServerTrusted(chain, authType));
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    either(tm -> tm.checkServerTrusted(chain, authType, socket));
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    either(tm -> tm.checkServerTrusted(chain, authType, engine));
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    either(tm -> tm.checkClientTrusted(chain, authType));
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    either(tm -> tm.checkClientTrusted(chain, authType, socket));
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    either(tm -> tm.checkClientTrusted(chain, authType, engine));
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    X509Certificate[] a = jvm.getAcceptedIssuers();
    X509Certificate[] b = extra.getAcceptedIssuers();
    X509Certificate[] out = new X509Certificate[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
