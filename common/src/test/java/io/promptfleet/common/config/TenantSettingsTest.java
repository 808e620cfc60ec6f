package io.promptfleet.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.promptfleet.common.job.Priority;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** The {@code tenants:} section: defaults, names filled in, and every invalid setting named by its path. */
class TenantSettingsTest {
  private static final String BASE = """
      providers:
        p: {base_url: "http://127.0.0.1:1/v1"}
      keys:
        shared: {provider: p, secret_env: SOME_VAR}
        acme-key: {provider: p, secret_env: SOME_VAR, tenant: acme}
      models:
        m:
          routes: [{provider: p, model: up}]
      """;

  private static FleetConfig parse(String yaml) {
    return ConfigLoader.parse(yaml, Map.of(), new Properties());
  }

  @Test
  void shouldFillInATenantsTopicsRepliesAndDefaultsFromOneLine() {
    FleetConfig c = parse(BASE + "tenants:\n  acme: {}\n");
    TenantSettings t = c.tenants().get("acme");
    assertThat(t.weight()).isEqualTo(1);
    assertThat(t.sharedKeys()).isTrue();
    assertThat(t.budget()).isNull();
    assertThat(t.topics().all()).containsExactly("llm.acme.jobs.high", "llm.acme.jobs.normal", "llm.acme.jobs.low");
    assertThat(t.replyTopics()).containsExactly("llm.acme.replies*");
    assertThat(t.defaultReplyTo()).isEqualTo("llm.acme.replies");
    assertThat(c.tenantOfTopic("llm.acme.jobs.low")).isEqualTo("acme");
    assertThat(c.tenantOfTopic("llm.jobs.low")).isNull();
    assertThat(c.weightOf("acme")).isEqualTo(1);
    assertThat(c.weightOf(null)).isEqualTo(1);
  }

  @Test
  void shouldTakeExplicitTopicsRepliesWeightAndBudget() {
    FleetConfig c = parse(BASE + """
        tenants:
          acme:
            weight: 3
            topics: {prefix: acme, low: acme.batch}
            reply_topics: [acme.out, "acme.replies.*"]
            shared_keys: false
            budget: {tokens_per_day: 1000, cost_per_day_usd: 2.5, on_exceeded: QUEUE}
        """);
    TenantSettings t = c.tenants().get("acme");
    assertThat(t.topics().of(Priority.HIGH)).isEqualTo("acme.jobs.high");
    assertThat(t.topics().of(Priority.LOW)).isEqualTo("acme.batch");
    assertThat(t.defaultReplyTo()).isEqualTo("acme.out");
    assertThat(t.isReplyToAllowed("acme.replies.x")).isTrue();
    assertThat(t.isReplyToAllowed("acme.repliesx")).isFalse();
    assertThat(t.budget().queues()).isTrue();
    assertThat(c.weightOf("acme")).isEqualTo(3);
  }

  @Test
  void shouldBehaveAsBeforeWithoutTenants() {
    FleetConfig c = parse(BASE);
    assertThat(c.tenants()).isEmpty();
    assertThat(c.tenantOfTopic("llm.jobs.normal")).isNull();
    // Without tenants a key's tenant is free-form, as before.
    assertThat(parse(BASE.replace("tenant: acme", "tenant: anything")).keys().get("acme-key").tenant())
        .isEqualTo("anything");
  }

  @Test
  void shouldNameEveryInvalidSetting() {
    assertThatThrownBy(() -> parse(BASE + "tenants:\n  acme: {weight: 0}\n"))
        .hasMessageContaining("tenants.acme.weight must be > 0");
    assertThatThrownBy(() -> parse(BASE + "tenants:\n  'a b': {}\n"))
        .hasMessageContaining("tenants.a b: a tenant name may use");
    assertThatThrownBy(() -> parse(BASE + "tenants:\n  acme: {}\n  beta: {topics: {normal: llm.acme.jobs.normal}}\n"))
        .hasMessageContaining("tenants.beta.topics.normal (llm.acme.jobs.normal) is also tenants.acme.topics.normal");
    assertThatThrownBy(() -> parse(BASE + "tenants:\n  acme: {topics: {high: llm.jobs.high}}\n"))
        .hasMessageContaining("tenants.acme.topics.high (llm.jobs.high) is a topic of the fleet itself");
    assertThatThrownBy(() -> parse(BASE + "tenants:\n  acme: {topics: {high: x, normal: x}}\n"))
        .hasMessageContaining("tenants.acme.topics: high, normal and low must be three different topics");
    assertThatThrownBy(() -> parse(BASE + "tenants:\n  acme: {reply_topics: ['r.*']}\n  beta: {reply_topics: [r.b]}\n"))
        .hasMessageContaining("tenants.beta.reply_topics: 'r.b' overlaps 'r.*' of tenants.acme.reply_topics");
    assertThatThrownBy(() -> parse(BASE + "tenants:\n  acme: {reply_topics: ['llm.*']}\n"))
        .hasMessageContaining("tenants.acme.reply_topics: 'llm.*' admits llm.jobs.high, a job or fleet topic");
    assertThatThrownBy(() -> parse(BASE + "tenants:\n  acme: {reply_topics: [llm.replies]}\n"))
        .hasMessageContaining("tenants.acme.reply_topics: 'llm.replies' admits topics.default_reply_to (llm.replies)");
    assertThatThrownBy(() -> parse(BASE + "tenants:\n  acme: {reply_topics: ['a*b']}\n"))
        .hasMessageContaining("tenants.acme.reply_topics: 'a*b' must be a topic name or a prefix ending in *");
    assertThatThrownBy(() -> parse(BASE + "tenants:\n  acme: {default_reply_to: other}\n"))
        .hasMessageContaining("tenants.acme.default_reply_to (other) must match tenants.acme.reply_topics");
    assertThatThrownBy(() -> parse(BASE + "tenants:\n  beta: {}\n"))
        .hasMessageContaining("keys.acme-key.tenant names tenant acme, which tenants does not define");
    assertThatThrownBy(() -> parse(BASE.replace(", tenant: acme", "") + "tenants:\n  acme: {shared_keys: false}\n"))
        .hasMessageContaining("tenants.acme.shared_keys is false, but no key names tenant acme");
    assertThatThrownBy(() -> parse(BASE + "tenants:\n  acme: {budget: {}}\n"))
        .hasMessageContaining("tenants.acme.budget must set tokens_per_day or cost_per_day_usd");
    assertThatThrownBy(() -> parse(BASE + "tenants:\n  acme: {budget: {tokens_per_day: 0}}\n"))
        .hasMessageContaining("tenants.acme.budget.tokens_per_day must be > 0");
    assertThatThrownBy(() -> parse(BASE + "tenants:\n  acme: {budget: {cost_per_day_usd: -1}}\n"))
        .hasMessageContaining("tenants.acme.budget.cost_per_day_usd must be > 0");
    assertThatThrownBy(() -> parse(BASE + "tenants:\n  acme: {budget: {tokens_per_day: 5, on_exceeded: drop}}\n"))
        .hasMessageContaining("tenants.acme.budget.on_exceeded must be reject or queue (got drop)");
    assertThatThrownBy(() -> parse(BASE + "tenants:\n  acme: {wieght: 2}\n"))
        .hasMessageContaining("unknown key tenants.acme.wieght");
  }

  @Test
  void shouldTellWhetherTwoAllowListEntriesOverlap() {
    assertThat(TenantSettings.overlap("a.*", "a.b.*")).isTrue();
    assertThat(TenantSettings.overlap("a.*", "b.*")).isFalse();
    assertThat(TenantSettings.overlap("a.x", "a.*")).isTrue();
    assertThat(TenantSettings.overlap("a.x", "a.y")).isFalse();
    assertThat(TenantSettings.overlap("ab*", "a*")).isTrue();
  }
}
