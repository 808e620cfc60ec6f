package io.promptfleet.worker.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.ErrorCodes;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class FailuresTest {

  @ParameterizedTest(name = "HTTP {0} is {1} with code {2}")
  @CsvSource({
      "408, TRANSIENT, timeout",
      "409, TRANSIENT, upstream_error",
      "429, TRANSIENT, upstream_rate_limited",
      "500, TRANSIENT, upstream_error",
      "502, TRANSIENT, upstream_error",
      "503, TRANSIENT, upstream_error",
      "504, TRANSIENT, upstream_error",
      "529, TRANSIENT, upstream_error",
      "400, PERMANENT, upstream_rejected",
      "404, PERMANENT, upstream_rejected",
      "413, PERMANENT, upstream_rejected",
      "422, PERMANENT, upstream_rejected",
      "401, KEY_FATAL, upstream_auth",
      "403, KEY_FATAL, upstream_auth"})
  void shouldClassifyEveryStatusOfTheIssue(int status, FailureClass kind, String code) {
    Failure f = Failures.ofHttp(status, "{\"error\":{\"message\":\"nope\",\"type\":\"x\",\"code\":null}}");

    assertThat(f.kind()).isEqualTo(kind);
    assertThat(f.code()).isEqualTo(code);
    assertThat(f.statusCode()).isEqualTo(status);
    assertThat(f.message()).isEqualTo("provider answered HTTP " + status + ": nope");
  }

  @Test
  void shouldTreatAQuota429AsKeyFatalNotAsARateLimit() {
    Failure f = Failures.ofHttp(429, "{\"error\":{\"message\":\"You exceeded your current quota\","
        + "\"type\":\"insufficient_quota\",\"code\":\"insufficient_quota\"}}");

    assertThat(f.kind()).isEqualTo(FailureClass.KEY_FATAL);
    assertThat(f.code()).isEqualTo(ErrorCodes.UPSTREAM_QUOTA);
    assertThat(f.goesToRetryTopic()).isTrue();
  }

  @Test
  void shouldKeepANonJsonBodyAsTheDetailClipped() {
    Failure f = Failures.ofHttp(502, "<html>" + "x".repeat(5000));

    assertThat(f.message()).startsWith("provider answered HTTP 502: <html>xxx").endsWith("...");
    assertThat(f.message().length()).isLessThan(600);
  }

  @Test
  void shouldClassifyStreamErrorsByTheirCode() {
    assertThat(Failures.ofStreamError("{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}"))
        .isEqualTo(new Failure(FailureClass.TRANSIENT, ErrorCodes.UPSTREAM_ERROR,
            "the provider reported an error in the stream: boom", 200));
    assertThat(Failures.ofStreamError("{\"error\":{\"message\":\"q\",\"code\":\"insufficient_quota\"}}").code())
        .isEqualTo(ErrorCodes.UPSTREAM_QUOTA);
    assertThat(Failures.ofStreamError("{\"error\":{\"message\":\"slow down\",\"code\":\"rate_limit_exceeded\"}}")
        .code()).isEqualTo(ErrorCodes.UPSTREAM_RATE_LIMITED);
  }

  @Test
  void shouldSendEverythingButPermanentFailuresToTheRetryTopic() {
    assertThat(Failures.ofHttp(400, "").goesToRetryTopic()).isFalse();
    assertThat(Failures.ofHttp(401, "").goesToRetryTopic()).isTrue();
    assertThat(Failures.ofHttp(503, "").goesToRetryTopic()).isTrue();
  }
}
