package io.promptfleet.worker.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.promptfleet.common.config.ConfigException;
import io.promptfleet.common.config.ConnectionSettings;
import io.promptfleet.common.config.HttpVersionChoice;
import io.promptfleet.common.config.ProviderSettings;
import io.promptfleet.common.config.ProxySettings;
import io.promptfleet.common.config.TlsSettings;
import io.promptfleet.simulator.internal.SelfSignedTls;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.net.ProxyType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProviderClientsTest {
  private static SelfSignedTls cert;

  @BeforeAll
  static void generate() throws Exception {
    cert = SelfSignedTls.generate("127.0.0.1");
  }

  @AfterAll
  static void delete() {
    cert.delete();
  }

  @Test
  void shouldUseTlsForAnHttpsProviderAndCheckItsCertificateAndHostByDefault() {
    HttpClientOptions https = ProviderClients.options("p", provider("https://api.example/v1", null, null), Map.of());
    HttpClientOptions http = ProviderClients.options("p", provider("http://127.0.0.1:1/v1", null, null), Map.of());

    assertThat(https.isSsl()).isTrue();
    assertThat(https.isTrustAll()).isFalse();
    assertThat(https.isVerifyHost()).isTrue();
    assertThat(https.getTrustOptions()).as("the JVM's trust, untouched").isNull();
    assertThat(http.isSsl()).isFalse();
  }

  @Test
  void shouldTrustAnyCertificateAndHostOnlyWhenVerifyIsFalse() {
    HttpClientOptions o = ProviderClients.options("p", provider("https://10.0.0.1/v1",
        new TlsSettings(null, null, null, false), null), Map.of());

    assertThat(o.isTrustAll()).isTrue();
    assertThat(o.isVerifyHost()).isFalse();
  }

  @Test
  void shouldTrustTheCaFileInAdditionToTheJvmsCas() throws Exception {
    X509Certificate simulator = ExtraTrust.readPem("f", cert.pemFile()).get(0);
    X509TrustManager jvmOnly = jvmTrust();
    ExtraTrust trust = ExtraTrust.of("providers.p.tls.ca_file", cert.pemFile());

    assertThatThrownBy(() -> jvmOnly.checkServerTrusted(new X509Certificate[] {simulator}, "ECDHE_ECDSA"))
        .as("the JVM alone does not trust the simulator").isInstanceOf(CertificateException.class);
    trust.checkServerTrusted(new X509Certificate[] {simulator}, "ECDHE_ECDSA");
    assertThat(List.of(trust.getAcceptedIssuers())).as("the JVM's CAs are kept").contains(simulator)
        .containsAll(List.of(jvmOnly.getAcceptedIssuers())).hasSizeGreaterThan(1);
    assertThat(ProviderClients.options("p", provider("https://127.0.0.1:1/v1",
        new TlsSettings(cert.pemFile().toString(), null, null, null), null), Map.of()).getTrustOptions()).isNotNull();
  }

  @Test
  void shouldNameTheFieldOfACaFileThatIsMissingOrHoldsNoCertificate(@TempDir Path dir) throws Exception {
    Path empty = Files.writeString(dir.resolve("empty.pem"), "# no certificates here\n");

    assertThatThrownBy(() -> ProviderClients.options("corp", provider("https://x/v1",
        new TlsSettings(dir.resolve("missing.pem").toString(), null, null, null), null), Map.of()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("providers.corp.tls.ca_file: cannot read");
    assertThatThrownBy(() -> ProviderClients.options("corp", provider("https://x/v1",
        new TlsSettings(empty.toString(), null, null, null), null), Map.of()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("providers.corp.tls.ca_file")
        .hasMessageContaining("holds no PEM certificate");
    assertThatThrownBy(() -> ProviderClients.options("corp", provider("https://x/v1",
        new TlsSettings(null, empty.toString(), dir.resolve("key.pem").toString(), null), null), Map.of()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("providers.corp.tls.key_file: cannot read");
  }

  @Test
  void shouldTunnelThroughTheProxyWithCredentialsFromTheEnvironment() {
    var proxy = new ProxySettings("http://proxy.internal:3128", "PROXY_USER", "PROXY_PASSWORD");
    HttpClientOptions o = ProviderClients.options("p", provider("https://api.example/v1", null, proxy),
        Map.of("PROXY_USER", "fleet", "PROXY_PASSWORD", "s3cret"));

    assertThat(o.getProxyOptions().getType()).isEqualTo(ProxyType.HTTP);
    assertThat(o.getProxyOptions().getHost()).isEqualTo("proxy.internal");
    assertThat(o.getProxyOptions().getPort()).isEqualTo(3128);
    assertThat(o.getProxyOptions().getUsername()).isEqualTo("fleet");
    assertThat(o.getProxyOptions().getPassword()).isEqualTo("s3cret");
  }

  @Test
  void shouldRefuseToStartWhenAProxyVariableIsUnsetNamingItButNoValue() {
    var proxy = new ProxySettings("http://proxy.internal:3128", "PF_TEST_UNSET_PROXY_USER", "PROXY_PASSWORD");

    assertThatThrownBy(() -> ProviderClients.options("corp", provider("https://api.example/v1", null, proxy),
        Map.of("PROXY_PASSWORD", "s3cret")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("providers.corp.proxy.username_env names environment variable"
            + " PF_TEST_UNSET_PROXY_USER, which is not set")
        .hasMessageNotContaining("s3cret");
  }

  @Test
  void shouldOfferHttp2ByAlpnOverTlsSpeakHttp1ToPlainHttpAndH2cOnlyWhenAsked() {
    HttpClientOptions tls = ProviderClients.options("p", provider("https://api.example/v1", null, null), Map.of());
    HttpClientOptions plain = ProviderClients.options("p", provider("http://127.0.0.1:1/v1", null, null), Map.of());
    HttpClientOptions h2c = ProviderClients.options("p", provider("http://127.0.0.1:1/v1", null, null)
        .withConnections(new ConnectionSettings(HttpVersionChoice.H2C, null, 50, null)), Map.of());
    HttpClientOptions http1 = ProviderClients.options("p", provider("https://api.example/v1", null, null)
        .withConnections(new ConnectionSettings(HttpVersionChoice.HTTP1, null, null, null)), Map.of());

    assertThat(tls.getProtocolVersion()).isEqualTo(HttpVersion.HTTP_2);
    assertThat(tls.isUseAlpn()).isTrue();
    assertThat(tls.getAlpnVersions()).containsExactly(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1);
    assertThat(plain.getProtocolVersion()).as("no upgrade dance with a plain server").isEqualTo(HttpVersion.HTTP_1_1);
    assertThat(h2c.getProtocolVersion()).isEqualTo(HttpVersion.HTTP_2);
    assertThat(h2c.isHttp2ClearTextUpgrade()).as("prior knowledge, no Upgrade round trip").isFalse();
    assertThat(h2c.getHttp2MultiplexingLimit()).isEqualTo(50);
    assertThat(http1.getProtocolVersion()).isEqualTo(HttpVersion.HTTP_1_1);
    assertThat(http1.isSsl()).isTrue();
  }

  @Test
  void shouldSizeThePoolForTheWorkersSlots() {
    PoolOptions defaults = ProviderClients.pool(ConnectionSettings.defaults(), 1_000);
    PoolOptions capped = ProviderClients.pool(new ConnectionSettings(null, 8, null, null), 1_000);

    assertThat(defaults.getHttp1MaxSize()).isEqualTo(1_000);
    assertThat(defaults.getHttp2MaxSize()).isEqualTo(10);
    assertThat(defaults.getMaxWaitQueueSize()).as("a request waits for a connection, never fails for want of one")
        .isEqualTo(-1);
    assertThat(capped.getHttp1MaxSize()).isEqualTo(8);
    assertThat(capped.getHttp2MaxSize()).isEqualTo(8);
  }

  private static ProviderSettings provider(String url, TlsSettings tls, ProxySettings proxy) {
    return new ProviderSettings(url, null, null, null, null, null, null, null, tls, proxy);
  }

  private static X509TrustManager jvmTrust() throws Exception {
    TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    f.init((java.security.KeyStore) null);
    return (X509TrustManager) f.getTrustManagers()[0];
  }
}
