package io.promptfleet.worker.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ConnectException;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

/** The cause chains below are the JDK's (17) for each problem, as a Vert.x client reports them. */
class ConnectFailuresTest {

  @Test
  void shouldNameAnUntrustedCertificateAndTheCaFileThatFixesIt() {
    Throwable pkix = handshake("PKIX path building failed: unable to find valid certification path to requested"
        + " target", new CertificateException("PKIX path building failed",
        new CertPathBuilderException("unable to find valid certification path to requested target")));

    assertThat(ConnectFailures.message("azure", pkix))
        .startsWith("cannot reach provider azure: the provider's TLS certificate is not trusted (")
        .contains("unable to find valid certification path")
        .endsWith("add the CA that issued it to providers.azure.tls.ca_file (a PEM bundle, trusted in addition to"
            + " the JVM's CAs)");
  }

  @Test
  void shouldNameAHostTheCertificateDoesNotCover() {
    Throwable host = handshake("No subject alternative names matching IP address 10.0.0.7 found",
        new CertificateException("No subject alternative names matching IP address 10.0.0.7 found"));

    assertThat(ConnectFailures.message("gw", host)).contains("does not name the host in providers.gw.base_url");
  }

  @Test
  void shouldNameAnExpiredCertificate() {
    Throwable expired = handshake("PKIX path validation failed: validity check failed",
        new CertificateExpiredException("NotAfter: Mon Jan 01 00:00:00 UTC 2024"));

    assertThat(ConnectFailures.message("gw", expired)).contains("outside its validity period");
  }

  @Test
  void shouldSayWhenAnHttpsUrlPointsAtAPlainHttpServer() {
    assertThat(ConnectFailures.message("gw", new SSLException("Unrecognized SSL message, plaintext connection?")))
        .contains("did not answer in TLS").contains("providers.gw.base_url");
  }

  @Test
  void shouldKeepOtherFailuresAsTheyAre() {
    assertThat(ConnectFailures.message("gw", new ConnectException("Connection refused: /127.0.0.1:1")))
        .isEqualTo("cannot reach provider gw: ConnectException: Connection refused: /127.0.0.1:1");
  }

  private static Throwable handshake(String message, Throwable cause) {
    SSLHandshakeException e = new SSLHandshakeException(message);
    e.initCause(cause);
    return e;
  }
}
