package io.promptfleet.dispatcher.intake;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.JobError;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.RetryRequest;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class JobIntakeTest {
  private static final FleetConfig CONFIG = ConfigLoader.parse("""
      providers:
        p: {base_url: "http://127.0.0.1:1/v1"}
      keys:
        k: {provider: p, secret_env: SOME_VAR}
      models:
        m:
          routes:
            - {provider: p, model: classic, max_tokens_cap: 32768}
            - {provider: p, model: reasoning, max_tokens_field: max_completion_tokens, default_max_tokens: 4000,
               max_tokens_cap: 100000}
      """, Map.of(), new Properties());
  private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
  private final JobIntake intake = new JobIntake(CONFIG);

  private Decision of(String json) {
    return intake.ofJob(json.getBytes(StandardCharsets.UTF_8), NOW, NOW);
  }

  private static String job(String extra) {
    return "{\"job_id\":\"j\",\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]" + extra + "}";
  }

  @Test
  void shouldNameTheLimitFieldTheJobUsedWhenOverTheCap() {
    Decision d = of(job(",\"max_completion_tokens\":50000"));
    assertThat(d).isInstanceOfSatisfying(Decision.Answer.class, a -> {
      assertThat(a.result().error().code()).isEqualTo(ErrorCodes.MAX_TOKENS_TOO_LARGE);
      assertThat(a.result().error().message())
          .isEqualTo("max_completion_tokens 50000 exceeds the cap of 32768 for model m");
    });
    assertThat(of(job(",\"max_tokens\":40000"))).isInstanceOfSatisfying(Decision.Answer.class,
        a -> assertThat(a.result().error().message()).startsWith("max_tokens 40000 exceeds the cap of 32768"));
    assertThat(of(job(",\"max_completion_tokens\":32768"))).isInstanceOf(Decision.Dispatch.class);
  }

  @Test
  void shouldAnswerAParserRejectionWithItsOwnCode() {
    assertThat(of(job(",\"extra_headers\":{\"X-A\":\"b\"}"))).isInstanceOfSatisfying(Decision.DeadLetter.class,
        dl -> {
          assertThat(dl.answer()).isNotNull();
          assertThat(dl.answer().result().status()).isEqualTo(JobStatus.REJECTED);
          assertThat(dl.answer().result().error().code()).isEqualTo(ErrorCodes.FIELD_NOT_ALLOWED);
          assertThat(dl.answer().result().error().message()).contains("extra_headers");
        });
    assertThat(of("{\"job_id\":\"j\",\"model\":\"m\",\"messages\":\"nope\"}"))
        .isInstanceOfSatisfying(Decision.DeadLetter.class,
            dl -> assertThat(dl.answer().result().error().code()).isEqualTo(ErrorCodes.INVALID_JOB));
  }

  @Test
  void shouldPassProviderExtensionsThrough() {
    assertThat(of(job(",\"chat_template_kwargs\":{\"enable_thinking\":false}")))
        .isInstanceOfSatisfying(Decision.Dispatch.class,
            d -> assertThat(d.job().params()).containsKey("chat_template_kwargs"));
  }

  @Test
  void shouldGiveARetryTheJobAsItsProducerWroteIt() {
    var first = (Decision.Dispatch) of(job(""));
    var classic = first.routes().get(0);
    JobError why = new JobError(ErrorCodes.UPSTREAM_ERROR, "503", true);
    Assignment a = new Assignment("l1", first.job(), 1, Priority.NORMAL, classic.toRoute("m"), "k", NOW, NOW,
        NOW.plusSeconds(600), first.job().replyTo());
    assertThat(a.route().defaultMaxTokens()).as("the default travels on the route").isEqualTo(1_024);
    assertThat(a.route().limitField()).isEqualTo(Job.MAX_TOKENS);
    assertThat(first.routes().get(1).toRoute("m").limitField()).isEqualTo(Job.MAX_COMPLETION_TOKENS);
    Decision retry = intake.ofRetry(Json.bytes(new RetryRequest(a, 2, NOW, why)), NOW);
    assertThat(retry).isInstanceOfSatisfying(Decision.Dispatch.class, d -> {
      assertThat(d.attempt()).isEqualTo(2);
      assertThat(d.job().setsTokenLimit()).as("no limit added on the way").isFalse();
    });

    var own = (Decision.Dispatch) of(job(",\"max_completion_tokens\":1024"));
    Assignment b = new Assignment("l2", own.job(), 1, Priority.NORMAL, classic.toRoute("m"), "k", NOW, NOW,
        NOW.plusSeconds(600), own.job().replyTo());
    assertThat(intake.ofRetry(Json.bytes(new RetryRequest(b, 2, NOW, why)), NOW))
        .isInstanceOfSatisfying(Decision.Dispatch.class,
            d -> assertThat(d.job().params()).containsOnlyKeys(Job.MAX_COMPLETION_TOKENS));
  }
}
