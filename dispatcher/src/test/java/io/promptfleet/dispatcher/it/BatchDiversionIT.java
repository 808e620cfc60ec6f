package io.promptfleet.dispatcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.Result;
import io.promptfleet.dispatcher.DispatcherService;
import io.promptfleet.simulator.BatchBehaviour;
import io.promptfleet.simulator.SimulatorOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Provider batch diversion on the real broker against the simulator's OpenAI Batches and Anthropic Message Batches
 * APIs, one fleet for every test (each test has a model, route and key of its own): eligible jobs go through few
 * batches at the batch price, jobs that may not wait run live at once, an expired batch and a batch cut off before
 * its jobs' deadlines hand their jobs to the live path in time, a cancelled member is answered cancelled once, a
 * dispatcher stopped while it polls is followed by one that polls the same batch instead of creating another, and
 * chat jobs on an Anthropic route and embeddings jobs on an OpenAI route are answered from batches of their own.
 * Last, the active dispatcher runs in a JVM of its own and is killed with SIGKILL while its batch is in progress: its
 * successor polls that batch and answers every member from it, with no second submission.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BatchDiversionIT {
  private static final double LIVE_IN = 2.0;
  private static final double LIVE_OUT = 8.0;

  private Fleet fleet;
  private DispatcherService dispatcher;
  /** The timestamp of the newest result {@link #replies} read. */
  private long lastResultAt;

  @BeforeAll
  void startFleet() throws Exception {
    Map<String, String> keys = new LinkedHashMap<>();
    for (String k : List.of("kbulk", "kexp", "kguard", "kres", "kemb", "kant", "kkill")) {
      keys.put(k, "{" + (k.equals("kant") ? "provider: ant, " : "")
          + "max_concurrency: 64, requests_per_minute: 100000, tokens_per_minute: 100000000}");
    }
    String route = "{provider: sim, model: %1$s, keys: [%2$s], price_input_per_mtok: " + LIVE_IN
        + ", price_output_per_mtok: " + LIVE_OUT + ", batch: {protocol: openai, min_slack_ms: %3$d, window_ms: %4$d,"
        + " max_requests_per_file: %5$d}}";
    fleet = Fleet.create(SimulatorOptions.defaults().withFirstTokenDelayMs(1).withTokensPerSecond(0)
        .withDefaultCompletionTokens(4), keys, """
        providers:
          ant: {base_url: "${origin}/v1", protocol: anthropic}
        models:
          bulk: {routes: [%s]}
          expiring: {routes: [%s]}
          guarded: {routes: [%s]}
          resumed: {routes: [%s]}
          embed: {routes: [%s]}
          claude: {routes: [%s]}
          killed: {routes: [%s]}
        dispatcher:
          session_timeout_ms: 6000   # the broker's least: a killed dispatcher's successor waits this long
          batch: {poll_initial_ms: 100, poll_max_ms: 300, deadline_margin_ms: 5000}
        """.formatted(route.formatted("bulk", "kbulk", 60_000, 500, 4_000),
        route.formatted("expiring", "kexp", 6_000, 200, 1_000),
        route.formatted("guarded", "kguard", 6_000, 200, 1_000),
        route.formatted("resumed", "kres", 10_000, 300, 1_000),
        route.formatted("embed", "kemb", 30_000, 300, 1_000),
        route.formatted("claude", "kant", 30_000, 300, 1_000).replace("provider: sim", "provider: ant")
            .replace("protocol: openai", "protocol: anthropic"),
        route.formatted("killed", "kkill", 10_000, 300, 1_000)));
    // expiring: the provider's window ends long before its work (nothing answered); guarded: never done in time
    fleet.sim.batches().forKey(fleet.auth("kbulk"), BatchBehaviour.phasesOf(50));
    fleet.sim.batches().forKey(fleet.auth("kexp"), BatchBehaviour.defaults().withInProgressMs(60_000)
        .withWindowMs(400));
    fleet.sim.batches().forKey(fleet.auth("kguard"), BatchBehaviour.defaults().withInProgressMs(600_000));
    fleet.sim.batches().forKey(fleet.auth("kres"), BatchBehaviour.defaults().withInProgressMs(4_000));
    fleet.sim.batches().forKey(fleet.auth("kemb"), BatchBehaviour.phasesOf(50));
    fleet.sim.batches().forKey(fleet.auth("kant"), BatchBehaviour.phasesOf(50));
    // killed: in progress for longer than the kill takes, ended by the time the successor holds the partitions
    fleet.sim.batches().forKey(fleet.auth("kkill"), BatchBehaviour.defaults().withInProgressMs(5_000));
    dispatcher = fleet.startDispatcher("d1");
    Fleet.awaitActive(dispatcher, Duration.ofSeconds(30));
    fleet.startWorkers(1);
  }

  @AfterAll
  void stopFleet() throws Exception {
    fleet.close();
  }

  @Test
  @Order(1)
  void shouldAnswerTenThousandEligibleJobsFromFewBatchesAtTheBatchPrice() throws Exception {
    int n = 10_000;
    for (int i = 0; i < n; i++) {
      fleet.produce(fleet.config.topics().jobsNormal(), "bulk-" + i, job("bulk-" + i, "bulk", "hello " + i,
          3_600_000, true));
    }
    fleet.flush();
    Map<String, List<Reply>> replies = replies("bulk-", n, Duration.ofSeconds(90));

    assertThat(replies).hasSize(n);
    double batchIn = LIVE_IN / 2;
    double batchOut = LIVE_OUT / 2;
    replies.forEach((id, rs) -> {
      assertThat(rs).as(id).hasSize(2); // one chunk with the whole content, then the result
      Chunk chunk = (Chunk) rs.get(0);
      Result r = (Result) rs.get(1);
      assertThat(r.status()).as(id).isEqualTo(JobStatus.SUCCEEDED);
      assertThat(chunk.delta()).isEqualTo(r.content()).isNotEmpty();
      assertThat(r.usage().completionTokens()).isEqualTo(4);
      assertThat(r.cost()).isCloseTo((r.usage().promptTokens() * batchIn + r.usage().completionTokens() * batchOut)
          / 1e6, org.assertj.core.data.Offset.offset(1e-12));
    });
    List<JsonNode> created = batches("kbulk");
    assertThat(created).as("10,000 jobs within 4,000 requests per file").hasSizeBetween(3, 5);
    assertThat(created).allSatisfy(b -> assertThat(b.path("request_counts").path("total").asInt())
        .isLessThanOrEqualTo(4_000));
    assertThat(created.stream().mapToInt(b -> b.path("request_counts").path("total").asInt()).sum()).isEqualTo(n);
    assertThat(fleet.assignments(0, Duration.ofMillis(300)).stream().filter(a -> a.job().jobId()
        .startsWith("bulk-"))).as("no batched job runs live").isEmpty();
    assertThat(Fleet.counter(dispatcher, "promptfleet_dispatcher_batch_savings_usd_total")).isPositive();
    JsonNode status = Json.mapper().readTree(HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
        "http://127.0.0.1:" + dispatcher.httpPort() + "/api/status")).build(), HttpResponse.BodyHandlers.ofString())
        .body());
    assertThat(status.path("batches").path("savings_usd").asDouble()).as("/api/status").isPositive();
  }

  @Test
  @Order(2)
  void shouldRunTheJobsOfAnExpiredBatchAndOfABatchCutOffLiveBeforeTheirDeadlines() throws Exception {
    long ttl = 9_000;
    long sent = System.currentTimeMillis(); // before the jobs' own timestamps: their deadlines are later than this
    lastResultAt = 0;
    for (int i = 0; i < 20; i++) {
      fleet.produce(fleet.config.topics().jobsNormal(), "exp-" + i, job("exp-" + i, "expiring", "hi", ttl, true));
      fleet.produce(fleet.config.topics().jobsNormal(), "guard-" + i, job("guard-" + i, "guarded", "hi", ttl, true));
    }
    fleet.flush();
    Map<String, List<Reply>> exp = replies("exp-", 20, Duration.ofSeconds(30));
    Map<String, List<Reply>> guard = replies("guard-", 20, Duration.ofSeconds(30));

    for (Map<String, List<Reply>> m : List.of(exp, guard)) {
      assertThat(m).hasSize(20);
      m.forEach((id, rs) -> {
        Result r = (Result) rs.get(rs.size() - 1);
        assertThat(r.status()).as(id).isEqualTo(JobStatus.SUCCEEDED);
        assertThat(r.attempt()).as("%s ran live after its batch", id).isEqualTo(2);
        assertThat(r.cost()).as("at the live price").isCloseTo((r.usage().promptTokens() * LIVE_IN
            + r.usage().completionTokens() * LIVE_OUT) / 1e6, org.assertj.core.data.Offset.offset(1e-12));
      });
    }
    assertThat(lastResultAt - sent).as("answered before the deadlines").isLessThan(ttl);
    assertThat(batches("kexp")).isNotEmpty().allSatisfy(b -> assertThat(b.path("status").asText())
        .isEqualTo("expired"));
    assertThat(batches("kguard")).as("cancelled by the deadline guard").isNotEmpty()
        .allSatisfy(b -> assertThat(b.path("status").asText()).isIn("cancelling", "cancelled"));
  }

  @Test
  @Order(3)
  void shouldResumeABatchAfterTheDispatcherStopsMidPollAndNeverCreateItTwice() throws Exception {
    int n = 40;
    for (int i = 0; i < n; i++) {
      fleet.produce(fleet.config.topics().jobsNormal(), "res-" + i, job("res-" + i, "resumed", "hi " + i, 60_000,
          true));
    }
    fleet.flush();
    long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (batches("kres").isEmpty() && System.nanoTime() < until) {
      Thread.sleep(50);
    }
    assertThat(batches("kres")).as("the batch was created").hasSize(1);
    // A cancel of a member is answered at once, long before the batch ends.
    fleet.produce(fleet.config.topics().cancels(), "res-0", "\"res-0\"".getBytes(StandardCharsets.UTF_8));
    // Jobs that may not wait run live at once while the batch is open: no batch field, or too close a deadline.
    fleet.produce(fleet.config.topics().jobsNormal(), "now-0", job("now-0", "resumed", "hi", 60_000, false));
    fleet.produce(fleet.config.topics().jobsNormal(), "now-1", job("now-1", "resumed", "hi", 5_000, true));
    fleet.flush();
    Map<String, List<Reply>> early = replies("now-", 2, Duration.ofSeconds(10));
    assertThat(early).hasSize(2).allSatisfy((id, rs) -> assertThat(((Result) rs.get(rs.size() - 1)).status())
        .isEqualTo(JobStatus.SUCCEEDED));
    Map<String, List<Reply>> cancelled = replies("res-0", 1, Duration.ofSeconds(10));
    assertThat(cancelled.get("res-0")).singleElement().satisfies(r -> assertThat(((Result) r).status())
        .isEqualTo(JobStatus.CANCELLED));
    assertThat(batches("kres").get(0).path("status").asText()).as("still running")
        .isIn("validating", "in_progress");

    dispatcher.close();
    fleet.dispatchers.remove(dispatcher);
    dispatcher = fleet.startDispatcher("d2");
    Map<String, List<Reply>> replies = replies("res-", n, Duration.ofSeconds(40));

    assertThat(replies).hasSize(n);
    assertThat(replies.get("res-0")).as("the cancelled member's batch line is dropped").hasSize(1);
    for (int i = 1; i < n; i++) {
      List<Reply> rs = replies.get("res-" + i);
      assertThat(rs).as("res-%d answered once", i).hasSize(2);
      assertThat(((Result) rs.get(1)).status()).isEqualTo(JobStatus.SUCCEEDED);
    }
    assertThat(batches("kres")).as("one create only").singleElement()
        .satisfies(b -> assertThat(b.path("status").asText()).isEqualTo("completed"));
  }

  @Test
  @Order(4)
  void shouldAnswerChatJobsOnAnAnthropicRouteAndEmbeddingsJobsFromBatchesOfTheirOwnAtTheBatchPrice()
      throws Exception {
    int n = 200;
    int e = 20;
    for (int i = 0; i < n; i++) {
      fleet.produce(fleet.config.topics().jobsNormal(), "ant-" + i, job("ant-" + i, "claude", "hello " + i, 60_000,
          true));
    }
    for (int i = 0; i < e; i++) {
      var o = Json.mapper().createObjectNode().put("job_id", "emb-" + i).put("model", "embed")
          .put("endpoint", "/v1/embeddings").put("batch", "allow").put("ttl_ms", 60_000)
          .put("reply_to", fleet.config.topics().defaultReplyTo());
      o.putArray("input").add("first text " + i).add("second text " + i);
      fleet.produce(fleet.config.topics().jobsNormal(), "emb-" + i, Json.bytes(o));
    }
    fleet.flush();
    Map<String, List<Reply>> ant = replies("ant-", n, Duration.ofSeconds(30));
    Map<String, List<Reply>> emb = replies("emb-", e, Duration.ofSeconds(30));

    assertThat(ant).hasSize(n);
    ant.forEach((id, rs) -> {
      assertThat(rs).as(id).hasSize(2);
      Chunk chunk = (Chunk) rs.get(0);
      Result r = (Result) rs.get(1);
      assertThat(r.status()).as(id).isEqualTo(JobStatus.SUCCEEDED);
      assertThat(r.attempt()).as("%s answered by its batch", id).isEqualTo(1);
      assertThat(chunk.delta()).isEqualTo(r.content()).isNotEmpty();
      assertThat(r.finishReason()).isEqualTo("stop");
      assertThat(r.usage().completionTokens()).isEqualTo(4);
      assertThat(r.cost()).isCloseTo((r.usage().promptTokens() * LIVE_IN / 2 + 4 * LIVE_OUT / 2) / 1e6,
          org.assertj.core.data.Offset.offset(1e-12));
    });
    JsonNode messageBatches = Json.mapper().readTree(HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create(fleet.sim.baseUrl() + "/messages/batches?limit=100")).header("x-api-key",
        fleet.auth("kant").substring("Bearer ".length())).header("anthropic-version", "2023-06-01").build(),
        HttpResponse.BodyHandlers.ofString()).body()).path("data");
    assertThat(messageBatches).as("one Message Batch").singleElement().satisfies(b -> {
      assertThat(b.path("processing_status").asText()).isEqualTo("ended");
      assertThat(b.path("request_counts").path("succeeded").asInt()).isEqualTo(n);
    });

    assertThat(emb).hasSize(e);
    emb.forEach((id, rs) -> {
      assertThat(rs).as("%s: the result only, as live", id).singleElement().isInstanceOf(Result.class);
      Result r = (Result) rs.get(0);
      assertThat(r.status()).as(id).isEqualTo(JobStatus.SUCCEEDED);
      assertThat(r.data()).as(id).hasSize(2);
      assertThat(r.cost()).isCloseTo(r.usage().promptTokens() * LIVE_IN / 2 / 1e6,
          org.assertj.core.data.Offset.offset(1e-12));
    });
    assertThat(batches("kemb")).as("one embeddings batch").singleElement()
        .satisfies(b -> assertThat(b.path("endpoint").asText()).isEqualTo("/v1/embeddings"));
    assertThat(fleet.assignments(0, Duration.ofMillis(300)).stream().filter(a -> a.job().jobId().startsWith("ant-")
        || a.job().jobId().startsWith("emb-"))).as("no batched job runs live").isEmpty();
  }

  @Test
  @Order(5)
  void shouldResumeABatchAfterTheDispatcherIsKilledMidPollAndNeverSubmitItTwice() throws Exception {
    int n = 50;
    dispatcher.close();
    fleet.dispatchers.remove(dispatcher);
    try (DispatcherChild child = DispatcherChild.launch(fleet, "doomed", Duration.ofSeconds(30))) {
      for (int i = 0; i < n; i++) {
        fleet.produce(fleet.config.topics().jobsNormal(), "kill-" + i, job("kill-" + i, "killed", "hi " + i,
            120_000, true));
      }
      fleet.flush();
      long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (batches("kkill").stream().noneMatch(b -> b.path("status").asText().equals("in_progress"))
          && System.nanoTime() < until) {
        Thread.sleep(50);
      }
      JsonNode created = batches("kkill").get(0);
      assertThat(created.path("status").asText()).as("the batch was created").isEqualTo("in_progress");
      String batchKey = created.path("metadata").path("promptfleet_batch_key").asText();
      // The child polls from here on: its record of the create and its members' records are committed.
      int[] members = {0};
      boolean[] submitted = {false};
      fleet.readUntil(fleet.config.topics().batches(), Duration.ofSeconds(10), all -> {
        members[0] = 0;
        for (ConsumerRecord<String, byte[]> r : all) {
          if (r.key().startsWith("m/" + batchKey + "/") && r.value() != null) {
            members[0]++;
          } else if (r.key().equals("b/" + batchKey) && r.value() != null) {
            submitted[0] = Json.read(r.value(), JsonNode.class).path("provider_batch_id").asText()
                .equals(created.path("id").asText());
          }
        }
        return members[0] == n && submitted[0];
      });
      assertThat(members[0]).as("member records committed").isEqualTo(n);
      assertThat(submitted[0]).as("the create recorded").isTrue();

      child.kill();
    }
    assertThat(batches("kkill")).as("killed while its batch was in progress").singleElement()
        .satisfies(b -> assertThat(b.path("status").asText()).isEqualTo("in_progress"));
    dispatcher = fleet.startDispatcher("successor");
    Map<String, List<Reply>> replies = replies("kill-", n, Duration.ofSeconds(40));

    assertThat(replies).hasSize(n);
    replies.forEach((id, rs) -> {
      assertThat(rs).as("%s: one chunk and one result", id).hasSize(2);
      Result r = (Result) rs.get(1);
      assertThat(r.status()).as(id).isEqualTo(JobStatus.SUCCEEDED);
      assertThat(r.attempt()).as("%s answered by its batch", id).isEqualTo(1);
      assertThat(r.cost()).as("at the batch price").isCloseTo((r.usage().promptTokens() * LIVE_IN / 2
          + r.usage().completionTokens() * LIVE_OUT / 2) / 1e6, org.assertj.core.data.Offset.offset(1e-12));
    });
    assertThat(batches("kkill")).as("one create only").singleElement().satisfies(b -> {
      assertThat(b.path("status").asText()).isEqualTo("completed");
      assertThat(b.path("request_counts").path("total").asInt()).isEqualTo(n);
    });
    assertThat(fleet.assignments(0, Duration.ofMillis(300)).stream().filter(a -> a.job().jobId()
        .startsWith("kill-"))).as("no member ran live").isEmpty();
  }

  /** A job that allows batching (or not), with a time to live. */
  private byte[] job(String id, String model, String content, long ttlMs, boolean batch) {
    var o = Json.mapper().createObjectNode();
    o.put("job_id", id).put("model", model).put("max_tokens", 16).put("ttl_ms", ttlMs)
        .put("reply_to", fleet.config.topics().defaultReplyTo());
    if (batch) {
      o.put("batch", "allow");
    }
    o.putArray("messages").addObject().put("role", "user").put("content", content);
    return Json.bytes(o);
  }

  /** Chunks and results of the jobs whose id starts with {@code prefix}, once {@code n} of them have a result. */
  private Map<String, List<Reply>> replies(String prefix, int n, Duration timeout) {
    Map<String, List<Reply>> out = new HashMap<>();
    int[] seen = {0};
    int[] results = {0};
    fleet.readUntil(fleet.config.topics().defaultReplyTo(), timeout, all -> {
      for (; seen[0] < all.size(); seen[0]++) {
        ConsumerRecord<String, byte[]> r = all.get(seen[0]);
        if (r.key().startsWith(prefix)) {
          Reply reply = Json.read(r.value(), Reply.class);
          out.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(reply);
          if (reply instanceof Result res) {
            results[0]++;
            lastResultAt = Math.max(lastResultAt, r.timestamp());
          }
        }
      }
      return results[0] >= n;
    });
    return out;
  }

  /** The simulator's batches created with {@code key}'s model, newest first. */
  private List<JsonNode> batches(String key) throws Exception {
    String model = Map.of("kbulk", "bulk", "kexp", "expiring", "kguard", "guarded", "kres", "resumed", "kemb", "embed",
        "kkill", "killed").get(key);
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(fleet.sim.baseUrl()
        + "/batches?limit=100")).header("authorization", fleet.auth(key)).build(),
        HttpResponse.BodyHandlers.ofString());
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode b : Json.mapper().readTree(r.body()).path("data")) {
      if (b.path("metadata").path("promptfleet_batch_key").asText().startsWith(model + "-")) {
        out.add(b);
      }
    }
    return out;
  }
}
