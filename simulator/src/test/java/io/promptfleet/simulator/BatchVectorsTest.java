package io.promptfleet.simulator;

import static io.promptfleet.simulator.BatchTestClient.API_KEY;
import static io.promptfleet.simulator.BatchTestClient.chatLine;
import static io.promptfleet.simulator.BatchTestClient.messageParams;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The simulator's batch objects have the fields, JSON types and status values of what the providers send, as
 * recorded or documented in {@code src/test/resources/batch-vectors} (sources in its README).
 */
class BatchVectorsTest extends SimulatorTest {

  /** The status values OpenAI's spec lists for a batch. */
  static final Set<String> OPENAI_STATUSES = Set.of("validating", "failed", "in_progress", "finalizing", "completed",
      "expired", "cancelling", "cancelled");
  /** The processing statuses of Anthropic's SDK. */
  static final Set<String> ANTHROPIC_STATUSES = Set.of("in_progress", "canceling", "ended");

  private final BatchTestClient client = new BatchTestClient(sim);
  private final ManualClock clock = new ManualClock();

  @BeforeEach
  void manualClock() {
    sim.provider.batches().clearAll().clock(clock).forAll(BatchBehaviour.phasesOf(100).withInProgressMs(1_000)
        .withWindowMs(10_000));
  }

  @Test
  void shouldShapeOpenAiBatchesFilesAndLinesAsOpenAiDoes() throws Exception {
    JsonObject created = client.submit("/v1/chat/completions",
        List.of(chatLine("a", "hi"), chatLine("b", "oops [[sim:status code=500]]")));
    assertSameShape("created batch", vector("openai-batch-created.json"), created);
    assertThat(OPENAI_STATUSES).contains(created.getString("status"));

    clock.advance(100);
    client.statusesUntil(created.getString("id"), Set.of("in_progress"));
    HttpResponseBody cancelling = cancelOther();
    assertSameShape("cancelling batch", vector("openai-batch-cancelling.json"), cancelling.json());
    clock.advance(1_000 + 100);
    JsonObject done = client.batch(created.getString("id"));
    assertThat(done.getString("status")).isEqualTo("completed");
    assertSameShape("completed batch", vector("openai-batch-object.json"), done);
    JsonObject list = new JsonObject(client.get("/v1/batches", "Authorization", "Bearer " + API_KEY).body());
    assertSameShape("batch list", vector("openai-batch-list.json"), list);

    JsonObject file = new JsonObject(client.get("/v1/files/" + done.getString("output_file_id"), "Authorization",
        "Bearer " + API_KEY).body());
    assertSameShape("file", vector("openai-file-created.json"), file);
    assertThat(file.getString("purpose")).isEqualTo("batch_output");
    for (JsonObject recorded : vectorLines("openai-batch-output.jsonl")) {
      JsonObject ours = client.fileLines(done.getString("output_file_id")).get(0);
      assertSameShape("output line", recorded, ours);
      assertSameShape("output body", recorded.getJsonObject("response").getJsonObject("body"),
          ours.getJsonObject("response").getJsonObject("body"));
    }
    JsonObject errorLine = client.fileLines(done.getString("error_file_id")).get(0);
    assertThat(errorLine.fieldNames()).containsExactlyInAnyOrderElementsOf(
        vectorLines("openai-batch-output.jsonl").get(1).fieldNames());
    assertSameShape("deleted file", vector("openai-file-deleted.json"),
        new JsonObject(client.delete("/v1/files/" + file.getString("id")).body()));
  }

  /** A second batch, cancelled while in progress, to read a {@code cancelling} object. */
  private HttpResponseBody cancelOther() throws InterruptedException {
    JsonObject other = client.submit("/v1/chat/completions", List.of(chatLine("x", "y")));
    clock.advance(100);
    client.statusesUntil(other.getString("id"), Set.of("in_progress"));
    return new HttpResponseBody(client.post("/v1/batches/" + other.getString("id") + "/cancel", "",
        "Authorization", "Bearer " + API_KEY).body());
  }

  private record HttpResponseBody(String body) {
    JsonObject json() {
      return new JsonObject(body);
    }
  }

  @Test
  void shouldExpireWithErrorLinesShapedAsOpenAisErrorFile() throws Exception {
    sim.provider.batches().forAll(BatchBehaviour.phasesOf(0).withInProgressMs(2_000).withWindowMs(1_000));
    JsonObject created = client.submit("/v1/chat/completions", List.of(chatLine("a", "1"), chatLine("b", "2")));
    client.statusesUntil(created.getString("id"), Set.of("in_progress"));
    clock.advance(1_000);

    JsonObject expired = client.batch(created.getString("id"));

    assertThat(expired.getString("status")).isEqualTo("expired");
    JsonObject ours = client.fileLines(expired.getString("error_file_id")).get(0);
    JsonObject documented = vectorLines("openai-batch-error.jsonl").get(0);
    assertSameShape("expired line", documented, ours);
    assertThat(ours.getJsonObject("error").getString("code")).isEqualTo("batch_expired");
  }

  @Test
  void shouldShapeMessageBatchesAndResultsAsAnthropicDoes() throws Exception {
    JsonObject vector = vector("anthropic-message-batch.json");
    JsonArray requests = new JsonArray()
        .add(new JsonObject().put("custom_id", "my-first-request").put("params", messageParams("hi")))
        .add(new JsonObject().put("custom_id", "my-second-request").put("params", new JsonObject()))
        .add(new JsonObject().put("custom_id", "my-third-request").put("params", messageParams("3")));
    JsonObject created = new JsonObject(client.anthropicPost("/v1/messages/batches",
        new JsonObject().put("requests", requests).encode()).body());
    assertThat(created.fieldNames()).containsExactlyInAnyOrderElementsOf(vector.fieldNames());
    assertThat(ANTHROPIC_STATUSES).contains(created.getString("processing_status"));
    clock.advance(700); // two of three answered, the third canceled
    client.anthropicPost("/v1/messages/batches/" + created.getString("id") + "/cancel", "");
    clock.advance(BatchBehaviour.DEFAULT_CANCELLING_MS);

    JsonObject ended = new JsonObject(client.anthropicGet("/v1/messages/batches/" + created.getString("id")).body());

    assertSameShape("message batch", vector, ended);
    assertThat(ended.getString("processing_status")).isEqualTo("ended");
    String url = ended.getString("results_url");
    List<JsonObject> ours = new ArrayList<>();
    for (String line : client.anthropicGet(url.substring(url.indexOf("/v1/"))).body().split("\n")) {
      ours.add(new JsonObject(line));
    }
    List<JsonObject> documented = vectorLines("anthropic-results.jsonl");
    assertSameShape("succeeded result", documented.get(0), ours.get(0));
    assertSameShape("succeeded message", documented.get(0).getJsonObject("result").getJsonObject("message"),
        ours.get(0).getJsonObject("result").getJsonObject("message"));
    assertSameShape("errored result", documented.get(1), ours.get(1));
    assertSameShape("canceled result", documented.get(2), ours.get(2));
  }

  /**
   * {@code actual} has every field of {@code expected}; where both values are non-null they have the same JSON type,
   * and objects (not {@code metadata}, which is the caller's) have the same shape, recursively; arrays of objects
   * compare their first elements.
   */
  static void assertSameShape(String what, JsonObject expected, JsonObject actual) {
    for (Map.Entry<String, Object> e : expected) {
      String field = what + "." + e.getKey();
      assertThat(actual.containsKey(e.getKey())).as("%s is present in %s", field, actual.encode()).isTrue();
      Object want = e.getValue();
      Object got = actual.getValue(e.getKey());
      if (want == null || got == null || e.getKey().equals("metadata")) {
        continue;
      }
      assertThat(type(got)).as("%s's type", field).isEqualTo(type(want));
      if (want instanceof JsonObject w) {
        assertSameShape(field, w, (JsonObject) got);
      } else if (want instanceof JsonArray w && !w.isEmpty() && w.getValue(0) instanceof JsonObject first
          && !((JsonArray) got).isEmpty()) {
        assertSameShape(field + "[0]", first, ((JsonArray) got).getJsonObject(0));
      }
    }
  }

  private static String type(Object v) {
    if (v instanceof Number) {
      return "number";
    }
    return v instanceof CharSequence ? "string" : v.getClass().getSimpleName();
  }

  static JsonObject vector(String name) throws IOException {
    return new JsonObject(read(name));
  }

  static List<JsonObject> vectorLines(String name) throws IOException {
    List<JsonObject> lines = new ArrayList<>();
    for (String line : read(name).split("\n")) {
      if (!line.isBlank()) {
        lines.add(new JsonObject(line));
      }
    }
    return lines;
  }

  private static String read(String name) throws IOException {
    try (InputStream in = BatchVectorsTest.class.getResourceAsStream("/batch-vectors/" + name)) {
      if (in == null) {
        throw new IOException("missing test vector " + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
