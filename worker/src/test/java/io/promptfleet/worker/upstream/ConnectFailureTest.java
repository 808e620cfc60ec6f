package io.promptfleet.worker.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.vertx.core.VertxException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

class ConnectFailureTest {

  @Test
  void shouldNameTheCauseOfAFailedConnect() {
    assertThat(ConnectFailure.causeOf(new ConnectTimeoutException("connection timed out after 10000 ms: x/1.2.3.4")))
        .isEqualTo(ConnectFailure.TIMEOUT);
    assertThat(ConnectFailure.causeOf(new VertxException(new TimeoutException("The timeout period elapsed"))))
        .isEqualTo(ConnectFailure.TIMEOUT);
    assertThat(ConnectFailure.causeOf(new ConnectException("Connection refused: /127.0.0.1:1")))
        .isEqualTo(ConnectFailure.REFUSED);
    assertThat(ConnectFailure.causeOf(new SSLHandshakeException("PKIX path building failed")))
        .isEqualTo(ConnectFailure.TLS);
    assertThat(ConnectFailure.causeOf(new UnknownHostException("api.nowhere.example")))
        .isEqualTo(ConnectFailure.DNS);
    assertThat(ConnectFailure.causeOf(new NoRouteToHostException("No route to host")))
        .isEqualTo(ConnectFailure.UNREACHABLE);
    assertThat(ConnectFailure.causeOf(new SocketException("Too many open files")))
        .isEqualTo(ConnectFailure.LOCAL_RESOURCES);
    assertThat(ConnectFailure.causeOf(new ConnectException("Cannot assign requested address")))
        .as("out of ephemeral ports: this host's limit, even though it is a ConnectException")
        .isEqualTo(ConnectFailure.LOCAL_RESOURCES);
    assertThat(ConnectFailure.causeOf(new IllegalStateException("Client is closed"))).isEqualTo(ConnectFailure.OTHER);
  }

  @Test
  void shouldBlameTheWorkerOnlyWhenItsOwnLoadExplainsTheFailure() {
    ConnectTimeoutException timeout = new ConnectTimeoutException("connection timed out");

    assertThat(ProviderConnections.classify(timeout, false, false).local())
        .as("a timeout with no other connect succeeding: the provider is unreachable").isFalse();
    assertThat(ProviderConnections.classify(timeout, true, false).local())
        .as("other connects to the host completed meanwhile: the worker overloaded it").isTrue();
    assertThat(ProviderConnections.classify(timeout, false, true).local())
        .as("the worker was crowding the host (pool at its cap, or gate full): its own load").isTrue();
    assertThat(ProviderConnections.classify(new ConnectException("Connection refused"), true, true).local())
        .as("a refusal is the provider's answer, whatever else happened").isFalse();
    assertThat(ProviderConnections.classify(new SSLHandshakeException("certificate expired"), true, false).local())
        .isFalse();
    assertThat(ProviderConnections.classify(new SocketException("Too many open files"), false, false).local())
        .isTrue();
  }

  @Test
  void shouldCountAHandshakeThatRanOutOfTimeAsATimeoutNotATlsProblem() {
    assertThat(ConnectFailure.causeOf(new SslHandshakeTimeoutException("handshake timed out after 2000ms")))
        .isEqualTo(ConnectFailure.TIMEOUT);
    assertThat(ConnectFailure.causeOf(new javax.net.ssl.SSLException("handshake failed",
        new SslHandshakeTimeoutException("handshake timed out after 2000ms")))).as("wrapped")
        .isEqualTo(ConnectFailure.TIMEOUT);
  }
}
