package io.promptfleet.worker.it;

import io.promptfleet.common.kafka.TopicPartitions;
import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.RetryRequest;
import io.promptfleet.kafka.embedded.KafkaTestSupport;
import io.promptfleet.kafka.embedded.LogCapture;
import io.promptfleet.kafka.embedded.SharedKafka;
import io.promptfleet.simulator.SimulatorOptions;
import io.promptfleet.worker.WorkerOptions;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

/**
 * A canary API key against a provider that echoes the key back everywhere it can (error bodies, stream errors,
 * invalid stream data, rate-limit headers), as real providers sometimes do. The key must not appear in any record
 * of any topic on the broker, nor in any log line (io.promptfleet and io.vertx at DEBUG).
 */
class SecretCanaryIT {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  void shouldNeverWriteTheApiKeyToKafkaOrTheLogs() throws Exception {
    LogCapture logs = LogCapture.start();
    Vertx vertx = Vertx.vertx();
    HttpServer echo = echoProvider(vertx);
    try (WorkerHarness h = WorkerHarness.start(SimulatorOptions.defaults(),
        "http://127.0.0.1:" + echo.actualPort() + "/v1", "", "slots: 8, lanes: 1", Map.of())) {
      h.addWorker(WorkerOptions.defaults());
      String ok = h.jobId();
      String rejected = h.jobId();
      String auth = h.jobId();
      String streamError = h.jobId();
      String badJson = h.jobId();
      h.send(h.assignment(ok, "mode=ok", 1));
      h.send(h.assignment(rejected, "mode=400", 1));
      h.send(h.assignment(auth, "mode=401", 1));
      h.send(h.assignment(streamError, "mode=stream_error", 1));
      h.send(h.assignment(badJson, "mode=bad_json", 1));

      assertThat(h.awaitResult(ok, WAIT).status()).isEqualTo(JobStatus.SUCCEEDED);
      Result failed = h.awaitResult(rejected, WAIT);
      assertThat(failed.error().message()).contains("Bearer ***");
      RetryRequest authRetry = h.awaitRetry(auth, WAIT);
      assertThat(authRetry.reason().code()).isEqualTo(ErrorCodes.UPSTREAM_AUTH);
      assertThat(authRetry.reason().message()).contains("Bearer ***");
      assertThat(h.awaitRetry(streamError, WAIT).reason().message()).contains("***");
      assertThat(h.awaitRetry(badJson, WAIT).reason().code()).isEqualTo(ErrorCodes.STREAM_INVALID);
      assertThat(h.awaitReleased(auth, 1, WAIT).get(0).rateLimit()).containsEntry("x-ratelimit-echo", "Bearer ***");
      assertThat(h.awaitReleased(ok, 1, WAIT)).isNotEmpty();

      List<String> leaks = scanEveryTopic(h.secret);
      assertThat(leaks).as("records that contain the key").isEmpty();
      assertThat(logs.text()).as("captured logs").contains(h.prefix).doesNotContain(h.secret);
    } finally {
      logs.close();
      echo.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  /** An OpenAI-style provider that echoes the Authorization header back in every way the prompt asks for. */
  private static HttpServer echoProvider(Vertx vertx) throws Exception {
    return vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(body -> {
      String key = req.getHeader("authorization");
      String prompt = new JsonObject(body.toString()).getJsonArray("messages").getJsonObject(0).getString("content");
      var resp = req.response().putHeader("x-ratelimit-echo", key).putHeader("x-ratelimit-remaining-requests", "9");
      String error = new JsonObject().put("error", new JsonObject().put("message", "Incorrect API key provided: "
          + key).put("type", "invalid_request_error").put("code", "invalid_api_key")).encode();
      String chunk = "data: {\"model\":\"echo\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n";
      switch (prompt) {
        case "mode=400" -> resp.setStatusCode(400).end(error.replace("invalid_api_key", "bad_request"));
        case "mode=401" -> resp.setStatusCode(401).end(error);
        case "mode=stream_error" -> resp.putHeader("content-type", "text/event-stream")
            .end(chunk + "data: " + new JsonObject().put("error", new JsonObject().put("message", "oops " + key))
                .encode() + "\n\n");
        case "mode=bad_json" -> resp.putHeader("content-type", "text/event-stream")
            .end(chunk + "data: {not json " + key + "\n\n");
        default -> resp.putHeader("content-type", "text/event-stream").end(chunk
            + "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
            + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}\n\n"
            + "data: [DONE]\n\n");
      }
    })).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** Every record (key, value, headers) of every non-internal topic on the broker that contains {@code secret}. */
  private static List<String> scanEveryTopic(String secret) throws Exception {
    String bootstrap = SharedKafka.bootstrapServers();
    Set<String> topics;
    try (Admin admin = KafkaTestSupport.admin(bootstrap)) {
      topics = admin.listTopics().names().get(30, TimeUnit.SECONDS);
    }
    Map<String, Object> props = new HashMap<>();
    props.put("bootstrap.servers", bootstrap);
    props.put("key.deserializer", ByteArrayDeserializer.class);
    props.put("value.deserializer", ByteArrayDeserializer.class);
    List<String> leaks = new ArrayList<>();
    int scanned = 0;
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(props)) {
      List<TopicPartition> parts = new ArrayList<>();
      for (String t : topics) {
        parts.addAll(TopicPartitions.await(c, t, Duration.ofSeconds(10)));
      }
      c.assign(parts);
      c.seekToBeginning(parts);
      Map<TopicPartition, Long> end = c.endOffsets(parts);
      long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (System.nanoTime() < until && parts.stream().anyMatch(p -> c.position(p) < end.get(p))) {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
          scanned++;
          StringBuilder all = new StringBuilder();
          append(all, r.key()).append('\n');
          append(all, r.value());
          for (Header hd : r.headers()) {
            append(all.append('\n').append(hd.key()).append('='), hd.value());
          }
          if (all.indexOf(secret) >= 0) {
            leaks.add(r.topic() + "@" + r.offset() + ": " + all);
          }
        }
      }
      assertThat(parts.stream().allMatch(p -> c.position(p) >= end.get(p))).as("read every topic to its end").isTrue();
    }
    assertThat(scanned).isGreaterThan(10);
    return leaks;
  }

  private static StringBuilder append(StringBuilder sb, byte[] bytes) {
    return bytes == null ? sb : sb.append(new String(bytes, StandardCharsets.UTF_8));
  }
}
