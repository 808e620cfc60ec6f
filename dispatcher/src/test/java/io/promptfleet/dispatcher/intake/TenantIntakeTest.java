package io.promptfleet.dispatcher.intake;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.dispatcher.schedule.LaneTopics;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import io.promptfleet.dispatcher.testing.Fixtures;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Tenant establishment at intake: the tenant comes from the job topic, replies stay within the tenant's topics. */
class TenantIntakeTest {
  private static final String KEYS = """
      keys:
        shared: {provider: p, secret_env: PF_TEST_K1}
        acme-own: {provider: p, secret_env: PF_TEST_K2, tenant: acme}
      models:
        m:
          routes:
            - {provider: p, model: first, keys: [shared]}
            - {provider: p, model: second}
      """;
  private static final FleetConfig CONFIG = Fixtures.config(KEYS + """
      tenants:
        acme: {weight: 3, shared_keys: false}
        beta: {reply_topics: [beta.out, "beta.out.*"]}
      """);
  private static final Instant NOW = Instant.ofEpochMilli(Fixtures.T0);
  private final JobIntake intake = new JobIntake(CONFIG);

  private Decision of(String topic, String extra) {
    return intake.ofJob(topic, Fixtures.job("j", "m", extra), NOW, NOW);
  }

  @Test
  void shouldEstablishTheTenantFromTheTopicAndReplyToItsDefaultTopic() {
    assertThat(of("llm.beta.jobs.normal", "")).isInstanceOfSatisfying(Decision.Dispatch.class, d -> {
      assertThat(d.job().tenant()).isEqualTo("beta");
      assertThat(d.job().replyTo()).isEqualTo("beta.out");
    });
    assertThat(of("llm.beta.jobs.high", ",\"tenant\":\"beta\",\"reply_to\":\"beta.out.x\""))
        .isInstanceOfSatisfying(Decision.Dispatch.class, d -> assertThat(d.job().replyTo()).isEqualTo("beta.out.x"));
    assertThat(of("llm.jobs.normal", "")).isInstanceOfSatisfying(Decision.Dispatch.class, d -> {
      assertThat(d.job().tenant()).isNull();
      assertThat(d.job().replyTo()).isEqualTo("llm.replies");
    });
  }

  @Test
  void shouldRejectAJobNamingAnotherTenantThanItsTopics() {
    assertThat(of("llm.beta.jobs.normal", ",\"tenant\":\"acme\"")).isInstanceOfSatisfying(Decision.Answer.class,
        a -> {
          assertThat(a.replyTo()).isEqualTo("beta.out");
          assertThat(a.result().status()).isEqualTo(JobStatus.REJECTED);
          assertThat(a.result().error().code()).isEqualTo(ErrorCodes.TENANT_MISMATCH);
          assertThat(a.result().error().message()).contains("tenant acme").contains("tenant beta");
        });
  }

  @Test
  void shouldRejectATenantsJobOnTheSharedTopics() {
    assertThat(of("llm.jobs.normal", ",\"tenant\":\"acme\"")).isInstanceOfSatisfying(Decision.Answer.class, a -> {
      assertThat(a.replyTo()).isEqualTo("llm.replies");
      assertThat(a.result().error().code()).isEqualTo(ErrorCodes.TENANT_NOT_ALLOWED);
      assertThat(a.result().error().message()).contains("llm.acme.jobs.high");
    });
    assertThat(of("llm.jobs.normal", ",\"tenant\":\"nobody\"")).isInstanceOfSatisfying(Decision.Answer.class,
        a -> assertThat(a.result().error().message()).contains("tenant nobody, which is not configured"));
  }

  @Test
  void shouldNeverWriteIntoAnotherTenantsReplyTopic() {
    // beta's job asking for acme's topic: dead-lettered, nothing written to acme's topic
    assertThat(of("llm.beta.jobs.normal", ",\"reply_to\":\"llm.acme.replies\""))
        .isInstanceOfSatisfying(Decision.DeadLetter.class, dl -> {
          assertThat(dl.answer()).isNull();
          assertThat(dl.reason()).startsWith(ErrorCodes.REPLY_TO_NOT_ALLOWED + ": reply_to llm.acme.replies is not "
              + "allowed for tenant beta");
        });
    // a tenantless job asking for a tenant's topic (which the shared allow-list would admit by its pattern)
    FleetConfig wide = Fixtures.config(KEYS + "topics: {reply_to_allow: ['llm.replies*', 'beta.*']}\n"
        + "tenants:\n  acme: {}\n  beta: {reply_topics: [beta.out]}\n");
    assertThat(new JobIntake(wide).ofJob("llm.jobs.low", Fixtures.job("j", "m", ",\"reply_to\":\"beta.out\""), NOW,
        NOW)).isInstanceOfSatisfying(Decision.DeadLetter.class, dl -> {
          assertThat(dl.answer()).isNull();
          assertThat(dl.reason()).contains("belongs to tenant beta");
        });
    // an invalid job of beta naming acme's topic: the rejection is not written there either
    byte[] invalid = "{\"job_id\":\"j\",\"model\":\"m\",\"messages\":\"x\",\"reply_to\":\"llm.acme.replies\"}"
        .getBytes(StandardCharsets.UTF_8);
    assertThat(intake.ofJob("llm.beta.jobs.low", invalid, NOW, NOW)).isInstanceOfSatisfying(Decision.DeadLetter.class,
        dl -> assertThat(dl.answer()).isNull());
    // the shared topics' replies stay as they were
    assertThat(of("llm.jobs.normal", ",\"reply_to\":\"llm.replies.mine\"")).isInstanceOf(Decision.Dispatch.class);
  }

  @Test
  void shouldKeepOnlyTheRoutesWithItsOwnKeysForATenantWithoutSharedKeys() {
    assertThat(of("llm.acme.jobs.normal", "")).isInstanceOfSatisfying(Decision.Dispatch.class,
        d -> assertThat(d.routes()).extracting(r -> r.model()).containsExactly("second"));
    assertThat(of("llm.beta.jobs.normal", "")).isInstanceOfSatisfying(Decision.Dispatch.class,
        d -> assertThat(d.routes()).hasSize(2));
  }

  @Test
  void shouldReadEachTenantsTopicsInTheLaneOfTheirPriority() {
    LaneTopics lanes = new LaneTopics(CONFIG);
    assertThat(lanes.topics()).contains("llm.jobs.high", "llm.jobs.retry", "llm.acme.jobs.high", "llm.beta.jobs.low");
    assertThat(lanes.laneOf("llm.acme.jobs.low")).isEqualTo(Lane.LOW);
    assertThat(lanes.topicOf(Lane.HIGH)).isEqualTo("llm.jobs.high");
    assertThat(lanes.topicsOf(Lane.HIGH)).containsExactlyInAnyOrder("llm.jobs.high", "llm.acme.jobs.high",
        "llm.beta.jobs.high");
    assertThat(lanes.topicsOf(Lane.RETRY)).containsExactly("llm.jobs.retry");
    assertThat(new LaneTopics(CONFIG.topics()).topics()).hasSize(4);
  }

  @Test
  void shouldLeaveTheJobsOwnTenantFieldAloneWithoutTenants() {
    JobIntake plain = new JobIntake(Fixtures.config(KEYS));
    assertThat(plain.ofJob("llm.jobs.normal", Fixtures.job("j", "m", ",\"tenant\":\"acme\""), NOW, NOW))
        .isInstanceOfSatisfying(Decision.Dispatch.class, d -> {
          assertThat(d.job().tenant()).isEqualTo("acme");
          assertThat(d.routes()).hasSize(2);
        });
  }
}
