package io.promptfleet.simulator;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The simulator over HTTPS (its generated certificate trusted from {@link SimulatedProvider#caFile()}) serving Azure
 * OpenAI's paths: deployment URLs that need {@code api-version} (Azure answers 404 "Resource not found" without it,
 * MicrosoftDocs/azure-docs#114602) and the v1 API, the key in {@code api-key}.
 */
class AzureAndTlsTest {
  private static final String BODY = SimulatorHarness.chat("hello", false).encode();
  private static Vertx vertx;
  private static SimulatedProvider sim;
  private static HttpClient https;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    sim = SimulatedProvider.start(vertx, SimulatorHarness.fastOptions().withTls()).await(30, TimeUnit.SECONDS);
    https = HttpClient.newBuilder().sslContext(trusting(sim.caFile())).connectTimeout(Duration.ofSeconds(10))
        .version(HttpClient.Version.HTTP_1_1).build();
  }

  @AfterAll
  static void stop() throws Exception {
    Path ca = sim.caFile();
    sim.close().await(10, TimeUnit.SECONDS);
    assertThat(ca).as("the certificate's files are removed at close").doesNotExist();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @BeforeEach
  void reset() {
    sim.stats().reset();
    sim.faults().clearAll();
  }

  @Test
  void shouldServeHttpsWithACertificateForLocalhostAnd127001() throws Exception {
    assertThat(sim.origin()).startsWith("https://127.0.0.1:");
    assertThat(sim.baseUrl()).isEqualTo(sim.origin() + "/v1");
    assertThat(Files.readString(sim.caFile())).startsWith("-----BEGIN CERTIFICATE-----");
    assertThat(send("https://localhost:" + sim.port() + "/health", null, null).statusCode()).isEqualTo(200);
    assertThat(send(sim.origin() + "/health", null, null).statusCode()).isEqualTo(200);
  }

  @Test
  void shouldRefuseAClientThatDoesNotTrustTheCertificate() {
    HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    HttpRequest health = HttpRequest.newBuilder(URI.create(sim.origin() + "/health")).build();

    org.assertj.core.api.Assertions.assertThatThrownBy(() -> plain.send(health, HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(SSLHandshakeException.class);
  }

  @Test
  void shouldAnswerADeploymentUrlWithApiVersionAndCountTheApiKeyAsTheKey() throws Exception {
    HttpResponse<String> r = send(sim.origin() + "/openai/deployments/gpt-4o-prod/chat/completions"
        + "?api-version=2024-10-21", "api-key", "azure-key-1");

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).contains("chat.completion");
    assertThat(r.headers().firstValue("x-ratelimit-remaining-requests")).isPresent();
    assertThat(r.headers().firstValue("x-ratelimit-remaining-tokens")).isPresent();
    assertThat(sim.stats().requestStarts("Bearer azure-key-1")).hasSize(1);
    RecordedRequest recorded = last();
    assertThat(recorded.path()).isEqualTo("/openai/deployments/gpt-4o-prod/chat/completions");
    assertThat(recorded.query()).isEqualTo("api-version=2024-10-21");
    assertThat(recorded.header("api-key")).contains("azure-key-1");
  }

  @Test
  void shouldAnswerADeploymentUrlWithoutApiVersionAsAzureDoes() throws Exception {
    HttpResponse<String> r = send(sim.origin() + "/openai/deployments/gpt-4o-prod/chat/completions", "api-key",
        "azure-key-1");

    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(r.body()).isEqualTo("{\"error\":{\"code\":\"404\",\"message\":\"Resource not found\"}}");
    assertThat(sim.stats().totalRequests()).isZero();
  }

  @Test
  void shouldServeTheV1ApiWithTheKeyInApiKeyAndRefuseARequestWithoutKey() throws Exception {
    assertThat(send(sim.origin() + "/openai/v1/chat/completions", "api-key", "azure-key-2").statusCode())
        .isEqualTo(200);
    assertThat(last().query()).isEmpty();
    HttpResponse<String> anonymous = send(sim.origin() + "/openai/v1/chat/completions?api-version=preview",
        "x-other", "1");
    assertThat(anonymous.statusCode()).isEqualTo(401);
    assertThat(anonymous.body()).contains("\"code\":\"401\"").contains("Access denied");
  }

  private static RecordedRequest last() {
    List<RecordedRequest> all = sim.recentRequests();
    return all.get(all.size() - 1);
  }

  private static HttpResponse<String> send(String url, String header, String value) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
    if (header == null) {
      b.GET();
    } else {
      b.header(header, value).header("content-type", "application/json").POST(HttpRequest.BodyPublishers
          .ofString(BODY));
    }
    return https.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static SSLContext trusting(Path pem) throws Exception {
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    try (InputStream in = Files.newInputStream(pem)) {
      store.setCertificateEntry("simulator", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    f.init(store);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, f.getTrustManagers(), null);
    return ctx;
  }
}
