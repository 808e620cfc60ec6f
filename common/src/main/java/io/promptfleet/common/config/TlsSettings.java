package io.promptfleet.common.config;

/**
 * How a worker trusts a provider's HTTPS endpoint, and which certificate it shows.
 *
 * @param caFile   a PEM bundle of certificates to trust in addition to the JVM's (a private CA, a proxy's CA)
 * @param certFile a PEM client certificate (chain) for mutual TLS; needs {@code key_file}
 * @param keyFile  the PEM (PKCS#8) private key of {@code cert_file}
 * @param verify   check the server's certificate and host name (default true); false trusts any certificate and
 *                 is logged as a warning at start
 */
public record TlsSettings(String caFile, String certFile, String keyFile, Boolean verify) {
  public TlsSettings {
    verify = verify == null ? Boolean.TRUE : verify;
  }

  void validate(String at) {
    ConfigException.require((certFile == null) == (keyFile == null),
        at + ".cert_file and " + at + ".key_file go together");
  }
}
