package io.promptfleet.simulator;

import static io.promptfleet.simulator.BatchTestClient.API_KEY;
import static io.promptfleet.simulator.BatchTestClient.OPENAI_ENDED;
import static io.promptfleet.simulator.BatchTestClient.chatLine;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * OpenAI's Files and Batches APIs on a real simulator over loopback: every status transition, validation errors,
 * limits, expiry, cancel, partial errors and endpoint faults, with phases of milliseconds.
 */
class OpenAiBatchesTest extends SimulatorTest {

  private final BatchTestClient client = new BatchTestClient(sim);

  @BeforeEach
  void fastBatches() {
    sim.provider.batches().clearAll().forAll(BatchBehaviour.phasesOf(20));
  }

  private static final String AUTH = "Bearer " + API_KEY;

  @Test
  void shouldGoFromValidatingThroughInProgressAndFinalizingToCompletedWithTheLiveAnswers() throws Exception {
    ManualClock clock = client.manualClock(new BatchBehaviour(1_000, 10_000, 1_000, 1_000,
        BatchBehaviour.DEFAULT_WINDOW_MS));
    JsonObject created = client.submit("/v1/chat/completions",
        List.of(chatLine("a", "hello batch"), chatLine("b", "second prompt")));
    String id = created.getString("id");
    assertThat(created.getString("status")).isEqualTo("validating");
    assertThat(created.getJsonObject("request_counts").getInteger("total")).isZero();

    clock.advance(999);
    assertThat(client.batch(id).getString("status")).isEqualTo("validating");
    clock.advance(1);
    assertThat(client.statusesUntil(id, java.util.Set.of("in_progress"))).endsWith("in_progress");
    clock.advance(5_000);
    JsonObject half = client.batch(id);
    assertThat(half.getJsonObject("request_counts").encode()).isEqualTo("{\"total\":2,\"completed\":1,\"failed\":0}");
    assertThat(half.getValue("output_file_id")).isNull();
    clock.advance(5_000);
    assertThat(client.batch(id).getString("status")).isEqualTo("finalizing");
    clock.advance(1_000);
    assertThat(client.batch(id).getString("status")).isEqualTo("completed");
    JsonObject done = client.batch(created.getString("id"));
    assertThat(done.getJsonObject("request_counts").encode())
        .isEqualTo("{\"total\":2,\"completed\":2,\"failed\":0}");
    assertThat(done.getValue("error_file_id")).isNull();
    for (String f : List.of("in_progress_at", "finalizing_at", "completed_at")) {
      assertThat(done.getValue(f)).as(f).isInstanceOf(Number.class);
    }
    List<JsonObject> output = client.fileLines(done.getString("output_file_id"));
    assertThat(output).extracting(l -> l.getString("custom_id")).containsExactly("a", "b");
    JsonObject live = new JsonObject(sim.post(SimulatorHarness.chat("hello batch", false)).body());
    JsonObject body = output.get(0).getJsonObject("response").getJsonObject("body");
    assertThat(output.get(0).getJsonObject("response").getInteger("status_code")).isEqualTo(200);
    assertThat(output.get(0).getValue("error")).isNull();
    assertThat(body.getJsonArray("choices")).isEqualTo(live.getJsonArray("choices"));
    assertThat(body.getJsonObject("usage")).isEqualTo(live.getJsonObject("usage"));
    int prompt = live.getJsonObject("usage").getInteger("prompt_tokens");
    assertThat(done.getJsonObject("usage").getInteger("input_tokens")).isGreaterThanOrEqualTo(prompt);
  }

  @Test
  void shouldFailValidationNamingEachBadLine() throws Exception {
    String wrongUrl = new JsonObject(chatLine("c", "x")).put("url", "/v1/embeddings").encode();
    String get = new JsonObject(chatLine("d", "x")).put("method", "GET").encode();
    JsonObject created = client.submit("/v1/chat/completions",
        List.of(chatLine("a", "x"), chatLine("a", "y"), wrongUrl, get, "{not json", "{\"custom_id\":\"e\"}"));

    assertThat(created.getString("status")).isEqualTo("validating");
    assertThat(client.statusesUntil(created.getString("id"), OPENAI_ENDED)).endsWith("failed")
        .doesNotContain("in_progress");
    JsonObject failed = client.batch(created.getString("id"));
    JsonArray errors = failed.getJsonObject("errors").getJsonArray("data");
    assertThat(failed.getJsonObject("errors").getString("object")).isEqualTo("list");
    assertThat(errors.stream().map(e -> ((JsonObject) e).getString("code") + "@" + ((JsonObject) e).getInteger("line"))
        .collect(Collectors.toList())).contains("duplicate_custom_id@2", "mismatched_endpoint@3", "invalid_value@4",
        "invalid_json_line@5", "missing_required_parameter@6");
    assertThat(failed.getValue("failed_at")).isInstanceOf(Number.class);
    assertThat(failed.getValue("output_file_id")).isNull();
  }

  @Test
  void shouldEnforceTheRequestAndSizeLimits() throws Exception {
    sim.provider.batches().limits(2, 100_000, 10, 10_000);
    JsonObject tooMany = client.submit("/v1/chat/completions",
        List.of(chatLine("a", "x"), chatLine("b", "x"), chatLine("c", "x")));
    sim.provider.batches().limits(10, 300, 10, 10_000);
    JsonObject tooBig = client.submit("/v1/chat/completions", List.of(chatLine("a", "x".repeat(400))));

    client.statusesUntil(tooMany.getString("id"), OPENAI_ENDED);
    client.statusesUntil(tooBig.getString("id"), OPENAI_ENDED);
    assertThat(errorCodes(tooMany.getString("id"))).containsExactly("request_limit_exceeded");
    assertThat(errorCodes(tooBig.getString("id"))).containsExactly("file_too_large");
    assertThat(BatchPlan.OPENAI_MAX_REQUESTS).isEqualTo(50_000);
    assertThat(BatchPlan.OPENAI_MAX_FILE_BYTES).isEqualTo(200L * 1024 * 1024);
  }

  private List<String> errorCodes(String id) {
    return client.batch(id).getJsonObject("errors").getJsonArray("data").stream()
        .map(e -> ((JsonObject) e).getString("code")).toList();
  }

  @Test
  void shouldExpireWithTheFinishedAnswersAndBatchExpiredLinesForTheRest() throws Exception {
    ManualClock clock = client.manualClock(BatchBehaviour.phasesOf(100).withInProgressMs(2_000)
        .withWindowMs(1_000));
    JsonObject created = client.submit("/v1/chat/completions",
        List.of(chatLine("a", "1"), chatLine("b", "2"), chatLine("c", "3"), chatLine("d", "4")));
    clock.advance(100);
    client.statusesUntil(created.getString("id"), java.util.Set.of("in_progress"));
    clock.advance(999);
    assertThat(client.batch(created.getString("id")).getString("status")).isEqualTo("in_progress");

    clock.advance(1);

    assertThat(client.batch(created.getString("id")).getString("status")).isEqualTo("expired");
    JsonObject expired = client.batch(created.getString("id"));
    assertThat(expired.getJsonObject("request_counts").encode())
        .isEqualTo("{\"total\":4,\"completed\":2,\"failed\":2}");
    assertThat(expired.getValue("expired_at")).isInstanceOf(Number.class);
    assertThat(client.fileLines(expired.getString("output_file_id"))).extracting(l -> l.getString("custom_id"))
        .containsExactly("a", "b");
    List<JsonObject> errors = client.fileLines(expired.getString("error_file_id"));
    assertThat(errors).extracting(l -> l.getString("custom_id")).containsExactly("c", "d");
    assertThat(errors.get(0).getValue("response")).isNull();
    assertThat(errors.get(0).getJsonObject("error").getString("code")).isEqualTo("batch_expired");
  }

  @Test
  void shouldCancelThroughCancellingWithBatchCancelledLinesAndRefuseToCancelAnEndedBatch() throws Exception {
    ManualClock clock = client.manualClock(BatchBehaviour.phasesOf(0).withInProgressMs(60_000)
        .withCancellingMs(300));
    JsonObject created = client.submit("/v1/chat/completions", List.of(chatLine("a", "1"), chatLine("b", "2")));
    client.statusesUntil(created.getString("id"), java.util.Set.of("in_progress"));

    HttpResponse<String> cancel = client.post("/v1/batches/" + created.getString("id") + "/cancel", "",
        "Authorization", AUTH);

    assertThat(cancel.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(cancel.body()).getString("status")).isEqualTo("cancelling");
    assertThat(client.batch(created.getString("id")).getString("status")).isEqualTo("cancelling");
    clock.advance(299);
    assertThat(client.batch(created.getString("id")).getString("status")).isEqualTo("cancelling");
    clock.advance(1);
    assertThat(client.batch(created.getString("id")).getString("status")).isEqualTo("cancelled");
    JsonObject cancelled = client.batch(created.getString("id"));
    assertThat(cancelled.getValue("cancelling_at")).isInstanceOf(Number.class);
    assertThat(cancelled.getValue("cancelled_at")).isInstanceOf(Number.class);
    assertThat(cancelled.getValue("output_file_id")).isNull();
    assertThat(client.fileLines(cancelled.getString("error_file_id")))
        .extracting(l -> l.getJsonObject("error").getString("code")).containsExactly("batch_cancelled", "batch_cancelled");

    sim.provider.batches().forAll(BatchBehaviour.phasesOf(0));
    JsonObject quick = client.submit("/v1/chat/completions", List.of(chatLine("a", "1")));
    client.statusesUntil(quick.getString("id"), OPENAI_ENDED);
    HttpResponse<String> late = client.post("/v1/batches/" + quick.getString("id") + "/cancel", "",
        "Authorization", AUTH);
    assertThat(late.statusCode()).isEqualTo(400);
    assertThat(late.body()).contains("completed");
  }

  @Test
  void shouldPutRequestsThatFailIntoTheErrorFileWithTheirStatusAndBody() throws Exception {
    JsonObject created = client.submit("/v1/chat/completions", List.of(chatLine("ok", "fine"),
        chatLine("boom", "please [[sim:status code=500]]"), new JsonObject().put("custom_id", "bad")
            .put("method", "POST").put("url", "/v1/chat/completions").put("body", new JsonObject().put("model", "m"))
            .encode()));

    client.statusesUntil(created.getString("id"), OPENAI_ENDED);
    JsonObject done = client.batch(created.getString("id"));
    assertThat(done.getString("status")).isEqualTo("completed");
    assertThat(done.getJsonObject("request_counts").encode()).isEqualTo("{\"total\":3,\"completed\":1,\"failed\":2}");
    List<JsonObject> errors = client.fileLines(done.getString("error_file_id"));
    assertThat(errors).extracting(l -> l.getString("custom_id") + ":" + l.getJsonObject("response")
        .getInteger("status_code")).containsExactly("boom:500", "bad:400");
    assertThat(errors.get(0).getJsonObject("response").getJsonObject("body").getJsonObject("error")
        .getString("type")).isEqualTo("server_error");
    assertThat(client.fileLines(done.getString("output_file_id"))).hasSize(1);
  }

  @Test
  void shouldAnswerEmbeddingsLinesAsTheLiveEndpointDoes() throws Exception {
    JsonObject body = new JsonObject().put("model", "text-embedding-3-small").put("input", "embed me")
        .put("dimensions", 4);
    JsonObject created = client.submit("/v1/embeddings", List.of(new JsonObject().put("custom_id", "e")
        .put("method", "POST").put("url", "/v1/embeddings").put("body", body).encode()));

    client.statusesUntil(created.getString("id"), OPENAI_ENDED);
    JsonObject line = client.fileLines(client.batch(created.getString("id")).getString("output_file_id")).get(0);
    JsonObject live = new JsonObject(sim.send(sim.request("/embeddings", body.encode(), "Authorization", AUTH)
        .build()).body());
    assertThat(line.getJsonObject("response").getJsonObject("body")).isEqualTo(live);
  }

  @Test
  void shouldServeFilesAndAnswer404ForUnknownOnes() {
    HttpResponse<String> uploaded = client.upload("batch", "in.jsonl", "abc\n".getBytes(StandardCharsets.UTF_8));
    JsonObject file = new JsonObject(uploaded.body());
    String id = file.getString("id");

    assertThat(file.getInteger("bytes")).isEqualTo(4);
    assertThat(file.getString("filename")).isEqualTo("in.jsonl");
    assertThat(new JsonObject(client.get("/v1/files/" + id, "Authorization", AUTH).body())).isEqualTo(file);
    assertThat(client.get("/v1/files/" + id + "/content", "Authorization", AUTH).body()).isEqualTo("abc\n");
    assertThat(new JsonObject(client.delete("/v1/files/" + id).body()).getBoolean("deleted")).isTrue();
    assertThat(client.get("/v1/files/" + id, "Authorization", AUTH).statusCode()).isEqualTo(404);
    assertThat(client.upload("batch", "in.jsonl", new byte[0]).statusCode()).isEqualTo(200);
    HttpResponse<String> noPurpose = client.upload("", "in.jsonl", new byte[1]);
    assertThat(noPurpose.statusCode()).isEqualTo(400);
    assertThat(new JsonObject(noPurpose.body()).getJsonObject("error").getString("param")).isEqualTo("purpose");
    assertThat(client.get("/v1/batches/batch_nope", "Authorization", AUTH).statusCode()).isEqualTo(404);
  }

  @Test
  void shouldRejectBadCreateRequestsAndRequestsWithoutAKey() {
    String fileId = new JsonObject(client.upload("batch", "i.jsonl", chatLine("a", "x").getBytes(
        StandardCharsets.UTF_8)).body()).getString("id");
    JsonObject ok = new JsonObject().put("input_file_id", fileId).put("endpoint", "/v1/chat/completions")
        .put("completion_window", "24h");

    assertThat(param(ok.copy().put("completion_window", "1h"))).isEqualTo("completion_window");
    assertThat(param(ok.copy().put("endpoint", "/v1/images/generations"))).isEqualTo("endpoint");
    assertThat(client.post("/v1/batches", ok.copy().put("input_file_id", "file-nope").encode(),
        "Authorization", AUTH).statusCode()).isEqualTo(404);
    assertThat(client.get("/v1/batches").statusCode()).isEqualTo(401);
    assertThat(client.get("/v1/files/" + fileId).statusCode()).isEqualTo(401);
  }

  private String param(JsonObject body) {
    HttpResponse<String> r = client.post("/v1/batches", body.encode(), "Authorization", AUTH);
    assertThat(r.statusCode()).isEqualTo(400);
    return new JsonObject(r.body()).getJsonObject("error").getString("param");
  }

  @Test
  void shouldAnswerEndpointFaultsBeforeTheApiAndListNewestFirst() {
    sim.provider.batches().endpointFaults().forAll(Fault.status(429).retryAfterSeconds(2).times(1));
    HttpResponse<String> limited = client.get("/v1/batches", "Authorization", AUTH);
    HttpResponse<String> after = client.get("/v1/batches?limit=1", "Authorization", AUTH);

    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.headers().firstValue("retry-after")).hasValue("2");
    assertThat(after.statusCode()).isEqualTo(200);
    JsonObject page = new JsonObject(after.body());
    assertThat(page.getString("object")).isEqualTo("list");
    if (!page.getJsonArray("data").isEmpty()) {
      assertThat(page.getString("first_id")).isEqualTo(page.getString("last_id"));
    }
    sim.provider.batches().endpointFaults().forAll(Fault.status(503).times(1));
    assertThat(client.upload("batch", "x.jsonl", new byte[1]).statusCode()).isEqualTo(503);
  }
}
