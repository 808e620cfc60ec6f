package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.TenantSettings;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.Result;
import io.promptfleet.dispatcher.DispatcherService;
import io.promptfleet.simulator.SimulatorOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * Tenants on the real broker: the tenant comes from the topic a job was produced to, one tenant can never have a
 * reply written into another's topic, and a tenant over its daily budget gets the configured outcome while the
 * other tenants go on.
 */
class TenantIT {
  private static final String MODELS = """
      models:
        sim:
          routes:
            - {provider: sim, model: sim}
      """;

  /** A job without reply_to (its tenant's default reply topic applies) or with one. */
  private static byte[] job(String jobId, String extra) {
    return ("{\"job_id\":\"" + jobId + "\",\"model\":\"sim\",\"max_tokens\":8" + extra
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").getBytes(StandardCharsets.UTF_8);
  }

  private static Map<String, Result> results(Fleet fleet, String topic, int n, Duration timeout) {
    Map<String, Result> byJob = new LinkedHashMap<>();
    answered(fleet, topic, n, timeout).forEach((k, v) -> byJob.put(k, Json.read(v.value(), Result.class)));
    return byJob;
  }

  /** The result records on {@code topic} by job id, once there are {@code n} (or the timeout passed). */
  private static Map<String, ConsumerRecord<String, byte[]>> answered(Fleet fleet, String topic, int n,
      Duration timeout) {
    List<ConsumerRecord<String, byte[]>> records = fleet.readUntil(topic, timeout, all -> all.stream()
        .filter(r -> Json.read(r.value(), Reply.class) instanceof Result).count() >= n);
    Map<String, ConsumerRecord<String, byte[]>> byJob = new LinkedHashMap<>();
    for (var r : records) {
      if (Json.read(r.value(), Reply.class) instanceof Result) {
        assertThat(byJob.put(r.key(), r)).as("one result for %s", r.key()).isNull();
      }
    }
    return byJob;
  }

  private static String reason(ConsumerRecord<String, byte[]> r) {
    return new String(r.headers().lastHeader("pf.dlq.reason").value(), StandardCharsets.UTF_8);
  }

  @Test
  void aTenantCannotReplyIntoAnothersTopic() throws Exception {
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0),
        Map.of("k", "{max_concurrency: 4}"), MODELS + "tenants:\n  acme: {}\n  beta: {}\n")) {
      Fleet.awaitActive(fleet.startDispatcher("d1"), Duration.ofSeconds(60));
      fleet.startWorkers(1);
      var t = fleet.config.topics();
      TenantSettings acme = fleet.config.tenants().get("acme");
      TenantSettings beta = fleet.config.tenants().get("beta");
      fleet.produce(beta.topics().normal(), "into-acme", job("into-acme", ",\"reply_to\":\"" + acme.defaultReplyTo()
          + "\""));
      fleet.produce(t.jobsNormal(), "shared-into-beta", job("shared-into-beta", ",\"reply_to\":\""
          + beta.defaultReplyTo() + "\""));
      fleet.produce(beta.topics().high(), "claims-acme", job("claims-acme", ",\"tenant\":\"acme\""));
      fleet.produce(t.jobsHigh(), "shared-claims-acme", job("shared-claims-acme", ",\"tenant\":\"acme\""));
      fleet.produce(beta.topics().low(), "beta-ok", job("beta-ok", ""));
      fleet.produce(t.jobsLow(), "shared-ok", job("shared-ok", ""));
      fleet.flush();

      Map<String, Result> ofBeta = results(fleet, beta.defaultReplyTo(), 2, Duration.ofSeconds(20));
      assertThat(ofBeta.get("beta-ok").status()).isEqualTo(JobStatus.SUCCEEDED);
      assertThat(ofBeta.get("claims-acme").error().code()).isEqualTo(ErrorCodes.TENANT_MISMATCH);
      assertThat(ofBeta).containsOnlyKeys("beta-ok", "claims-acme");
      Map<String, Result> shared = results(fleet, t.defaultReplyTo(), 2, Duration.ofSeconds(20));
      assertThat(shared.get("shared-ok").status()).isEqualTo(JobStatus.SUCCEEDED);
      assertThat(shared.get("shared-claims-acme").error().code()).isEqualTo(ErrorCodes.TENANT_NOT_ALLOWED);
      assertThat(shared).containsOnlyKeys("shared-ok", "shared-claims-acme");

      var dlq = fleet.readUntil(t.deadLetters(), Duration.ofSeconds(10), rs -> rs.size() >= 2);
      assertThat(dlq).extracting(ConsumerRecord::key).containsExactlyInAnyOrder("into-acme", "shared-into-beta");
      assertThat(dlq).allSatisfy(r -> assertThat(reason(r)).startsWith(ErrorCodes.REPLY_TO_NOT_ALLOWED + ": "));
      assertThat(dlq.stream().filter(r -> r.key().equals("into-acme")).map(TenantIT::reason))
          .singleElement().asString().contains("not allowed for tenant beta");
      assertThat(fleet.readUntil(acme.defaultReplyTo(), Duration.ofSeconds(2), rs -> false))
          .as("nothing was ever written into acme's reply topic").isEmpty();
      assertThat(fleet.assignments(2, Duration.ofSeconds(2)).stream().map(a -> a.job().jobId() + "@"
          + a.job().tenant())).containsExactlyInAnyOrder("beta-ok@beta", "shared-ok@null");
    }
  }

  @Test
  void aTenantOverBudgetIsRejectedWhileOthersGoOn() throws Exception {
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0),
        Map.of("k", "{max_concurrency: 4}"), MODELS + """
        tenants:
          acme: {budget: {tokens_per_day: 40, on_exceeded: reject}}
          beta: {}
        """)) {
      Fleet.awaitActive(fleet.startDispatcher("d1"), Duration.ofSeconds(60));
      fleet.startWorkers(1);
      TenantSettings acme = fleet.config.tenants().get("acme");
      TenantSettings beta = fleet.config.tenants().get("beta");
      for (int i = 0; i < 8; i++) {
        fleet.produce(acme.topics().normal(), "a" + i, job("a" + i, ""));
      }
      for (int i = 0; i < 4; i++) {
        fleet.produce(beta.topics().normal(), "b" + i, job("b" + i, ""));
      }
      fleet.flush();
      String today = LocalDate.now(ZoneOffset.UTC).toString();

      Map<String, Result> ofAcme = results(fleet, acme.defaultReplyTo(), 8, Duration.ofSeconds(20));
      assertThat(ofAcme).hasSize(8);
      List<Result> ran = ofAcme.values().stream().filter(r -> r.status() == JobStatus.SUCCEEDED).toList();
      List<Result> rejected = ofAcme.values().stream().filter(r -> r.status() == JobStatus.REJECTED).toList();
      assertThat(ran).isNotEmpty();
      assertThat(ran.size() + rejected.size()).isEqualTo(8);
      assertThat(ran.stream().mapToLong(r -> r.usage().totalTokens()).sum()).as("the budget is never exceeded")
          .isLessThanOrEqualTo(40);
      assertThat(rejected).isNotEmpty().allSatisfy(r -> {
        assertThat(r.error().code()).isEqualTo(ErrorCodes.BUDGET_EXCEEDED);
        assertThat(r.error().message()).contains("tenant acme").contains("tokens_per_day 40").contains(today);
      });
      assertThat(results(fleet, beta.defaultReplyTo(), 4, Duration.ofSeconds(20)).values())
          .hasSize(4).allSatisfy(r -> assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED));
    }
  }

  @Test
  void aTenantsSpendSurvivesADispatcherFailover() throws Exception {
    // A lookback of 2 s: after the failover only the spend snapshot knows what the first dispatcher counted.
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0),
        Map.of("k", "{max_concurrency: 4}"), MODELS + """
        dispatcher: {rebuild_lookback_ms: 2000}
        tenants:
          acme: {budget: {tokens_per_day: 40}}
        """)) {
      DispatcherService first = fleet.startDispatcher("d1");
      Fleet.awaitActive(first, Duration.ofSeconds(60));
      fleet.startWorkers(1);
      TenantSettings acme = fleet.config.tenants().get("acme");
      fleet.produce(acme.topics().normal(), "a0", job("a0", ""));
      fleet.produce(acme.topics().normal(), "a1", job("a1", ""));
      fleet.flush();
      Map<String, Result> before = results(fleet, acme.defaultReplyTo(), 2, Duration.ofSeconds(20));
      long spentBefore = before.values().stream().filter(r -> r.status() == JobStatus.SUCCEEDED)
          .mapToLong(r -> r.usage().totalTokens()).sum();
      assertThat(spentBefore).isPositive();
      Thread.sleep(3_000); // its assignments and releases fall out of the lookback

      DispatcherService second = fleet.startDispatcher("d2");
      first.close();
      fleet.dispatchers.remove(first);
      Fleet.awaitActive(second, Duration.ofSeconds(60));
      for (int i = 2; i < 8; i++) {
        fleet.produce(acme.topics().normal(), "a" + i, job("a" + i, ""));
      }
      fleet.flush();

      Map<String, Result> all = results(fleet, acme.defaultReplyTo(), 8, Duration.ofSeconds(20));
      assertThat(all).hasSize(8);
      assertThat(all.values().stream().filter(r -> r.status() == JobStatus.SUCCEEDED)
          .mapToLong(r -> r.usage().totalTokens()).sum()).as("the budget is never exceeded across the failover")
          .isLessThanOrEqualTo(40);
      List<Result> rejected = all.values().stream().filter(r -> r.status() == JobStatus.REJECTED).toList();
      assertThat(rejected).isNotEmpty().allSatisfy(r -> {
        assertThat(r.error().code()).isEqualTo(ErrorCodes.BUDGET_EXCEEDED);
        long used = Long.parseLong(r.error().message().replaceAll("^tenant acme has used (\\d+) .*$", "$1"));
        assertThat(used).as("the new dispatcher counts what the first one spent").isGreaterThanOrEqualTo(spentBefore);
      });
    }
  }

  @Test
  void aTenantOverBudgetWaitsWhenQueuedWhileOthersGoOn() throws Exception {
    try (Fleet fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0),
        Map.of("k", "{max_concurrency: 4}"), MODELS + """
        tenants:
          acme: {budget: {tokens_per_day: 40, on_exceeded: queue}}
          beta: {}
        """)) {
      Fleet.awaitActive(fleet.startDispatcher("d1"), Duration.ofSeconds(60));
      fleet.startWorkers(1);
      TenantSettings acme = fleet.config.tenants().get("acme");
      TenantSettings beta = fleet.config.tenants().get("beta");
      for (int i = 0; i < 6; i++) {
        fleet.produce(acme.topics().normal(), "a" + i, job("a" + i, ",\"ttl_ms\":9000"));
      }
      fleet.flush();
      Thread.sleep(1_000); // acme is at its budget now, with jobs waiting
      for (int i = 0; i < 4; i++) {
        fleet.produce(beta.topics().normal(), "b" + i, job("b" + i, ""));
      }
      fleet.flush();
      var ofBeta = answered(fleet, beta.defaultReplyTo(), 4, Duration.ofSeconds(20));
      assertThat(ofBeta.values()).hasSize(4).allSatisfy(r -> assertThat(Json.read(r.value(), Result.class).status())
          .isEqualTo(JobStatus.SUCCEEDED));

      var acmeRecords = answered(fleet, acme.defaultReplyTo(), 6, Duration.ofSeconds(20));
      long betaDone = ofBeta.values().stream().mapToLong(ConsumerRecord::timestamp).max().orElseThrow();
      assertThat(acmeRecords.values().stream().filter(r -> Json.read(r.value(), Result.class).status()
          == JobStatus.EXPIRED).mapToLong(ConsumerRecord::timestamp).min().orElseThrow())
          .as("beta's jobs were answered while acme's still waited for budget").isGreaterThan(betaDone);
      Map<String, Result> ofAcme = new LinkedHashMap<>();
      acmeRecords.forEach((k, v) -> ofAcme.put(k, Json.read(v.value(), Result.class)));
      assertThat(ofAcme).hasSize(6);
      List<Result> ran = ofAcme.values().stream().filter(r -> r.status() == JobStatus.SUCCEEDED).toList();
      List<Result> waited = ofAcme.values().stream().filter(r -> r.status() == JobStatus.EXPIRED).toList();
      assertThat(ran).isNotEmpty();
      assertThat(ran.stream().mapToLong(r -> r.usage().totalTokens()).sum()).isLessThanOrEqualTo(40);
      assertThat(waited).as("queued, never rejected: they waited until their deadline").hasSize(6 - ran.size())
          .isNotEmpty().allSatisfy(r -> {
            assertThat(r.error().code()).isEqualTo(ErrorCodes.DEADLINE_EXCEEDED);
            assertThat(r.error().message()).contains("daily budget");
          });
    }
  }
}
