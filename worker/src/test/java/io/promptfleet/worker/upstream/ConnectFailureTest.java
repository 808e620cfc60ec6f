package io.promptfleet.worker.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import java.net.ConnectException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

/** What kind of connect failure an exception is, and whose: the exceptions as Vert.x 5 and Netty raise them. */
class ConnectFailureTest {

  @Test
  void shouldTellATimedOutConnectOrHandshakeFromARefusedOrUntrustedOne() {
    assertThat(ConnectFailure.causeOf(new ConnectTimeoutException("connection timed out after 2000 ms:"
        + " /127.0.0.1:443"))).isEqualTo(ConnectFailure.TIMEOUT);
    assertThat(ConnectFailure.causeOf(new SslHandshakeTimeoutException("handshake timed out after 2000ms")))
        .as("a handshake that ran out of time is slow, not a TLS problem").isEqualTo(ConnectFailure.TIMEOUT);
    assertThat(ConnectFailure.causeOf(new javax.net.ssl.SSLException("handshake failed",
        new SslHandshakeTimeoutException("handshake timed out after 2000ms")))).as("wrapped")
        .isEqualTo(ConnectFailure.TIMEOUT);
    assertThat(ConnectFailure.causeOf(new SSLHandshakeException("PKIX path building failed")))
        .isEqualTo(ConnectFailure.TLS);
    assertThat(ConnectFailure.causeOf(new ConnectException("Connection refused: /127.0.0.1:1")))
        .isEqualTo(ConnectFailure.REFUSED);
  }

  @Test
  void shouldBlameTheWorkersLoadForATimeoutOnlyWhenOtherConnectsCompletedMeanwhileOrThePoolWasFull() {
    ConnectTimeoutException timeout = new ConnectTimeoutException("connection timed out after 2000 ms");

    assertThat(ProviderConnections.classify(timeout, true, false).local()).isTrue();
    assertThat(ProviderConnections.classify(timeout, false, true).local()).isTrue();
    assertThat(ProviderConnections.classify(timeout, false, false).local()).isFalse();
    assertThat(ProviderConnections.classify(new ConnectException("Connection refused"), true, true).local())
        .as("refused is the provider's answer, whatever else happened").isFalse();
  }
}
