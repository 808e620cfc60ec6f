package io.promptfleet.simulator;

import static io.promptfleet.simulator.BatchTestClient.messageParams;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Anthropic's Message Batches API on a real simulator over loopback: in_progress → ended with the live answers,
 * errored requests, cancel through canceling, expiry, create-time validation and limits, faults and keys.
 */
class MessageBatchesTest extends SimulatorTest {

  private final BatchTestClient client = new BatchTestClient(sim);

  @BeforeEach
  void fastBatches() {
    sim.provider.batches().clearAll().forAll(BatchBehaviour.phasesOf(20));
  }

  private static JsonObject request(String customId, JsonObject params) {
    return new JsonObject().put("custom_id", customId).put("params", params);
  }

  private JsonObject create(JsonObject... requests) {
    HttpResponse<String> r = client.anthropicPost("/v1/messages/batches",
        new JsonObject().put("requests", new JsonArray(List.of((Object[]) requests))).encode());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new JsonObject(r.body());
  }

  private List<JsonObject> results(JsonObject batch) {
    String url = batch.getString("results_url");
    HttpResponse<String> r = client.anthropicGet(url.substring(url.indexOf("/v1/")));
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue("application/x-jsonl");
    List<JsonObject> lines = new ArrayList<>();
    for (String line : r.body().split("\n")) {
      lines.add(new JsonObject(line));
    }
    return lines;
  }

  private JsonObject get(String id) {
    return new JsonObject(client.anthropicGet("/v1/messages/batches/" + id).body());
  }

  @Test
  void shouldEndWithTheAnswersALiveMessagesCallGivesAndErroredRequests() throws Exception {
    ManualClock clock = client.manualClock(BatchBehaviour.phasesOf(20).withInProgressMs(10_000));
    JsonObject created = create(request("one", messageParams("hello batch")),
        request("two", messageParams("fail [[sim:status code=529]]")), request("three", new JsonObject()));

    assertThat(created.getString("processing_status")).isEqualTo("in_progress");
    assertThat(created.getJsonObject("request_counts").getInteger("processing")).isEqualTo(3);
    assertThat(created.getValue("results_url")).isNull();
    clock.advance(9_999);
    JsonObject running = get(created.getString("id"));
    assertThat(running.getString("processing_status")).isEqualTo("in_progress");
    assertThat(running.getJsonObject("request_counts").getInteger("processing")).as("until the end").isEqualTo(3);
    clock.advance(1);
    JsonObject ended = get(created.getString("id"));
    assertThat(ended.getString("processing_status")).isEqualTo("ended");
    assertThat(ended.getJsonObject("request_counts").encode())
        .isEqualTo("{\"processing\":0,\"succeeded\":1,\"errored\":2,\"canceled\":0,\"expired\":0}");
    assertThat(ended.getString("ended_at")).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z");
    assertThat(ended.getString("results_url")).startsWith(sim.provider.origin() + "/v1/messages/batches/");
    List<JsonObject> results = results(ended);
    assertThat(results).extracting(l -> l.getString("custom_id") + ":" + l.getJsonObject("result").getString("type"))
        .containsExactly("one:succeeded", "two:errored", "three:errored");
    JsonObject live = new JsonObject(client.anthropicPost("/v1/messages", messageParams("hello batch").encode())
        .body());
    JsonObject message = results.get(0).getJsonObject("result").getJsonObject("message");
    assertThat(message.getJsonArray("content")).isEqualTo(live.getJsonArray("content"));
    assertThat(message.getJsonObject("usage")).isEqualTo(live.getJsonObject("usage"));
    JsonObject overloaded = results.get(1).getJsonObject("result").getJsonObject("error");
    assertThat(overloaded.getString("type")).isEqualTo("error");
    assertThat(overloaded.getJsonObject("error").getString("type")).isEqualTo("overloaded_error");
    assertThat(results.get(2).getJsonObject("result").getJsonObject("error").getJsonObject("error")
        .getString("type")).isEqualTo("invalid_request_error");
  }

  @Test
  void shouldCancelThroughCancelingWithCanceledResultsAndRefuseOnceEnded() throws Exception {
    ManualClock clock = client.manualClock(BatchBehaviour.phasesOf(20).withInProgressMs(60_000)
        .withCancellingMs(300));
    JsonObject created = create(request("a", messageParams("1")), request("b", messageParams("2")));

    HttpResponse<String> cancel = client.anthropicPost("/v1/messages/batches/" + created.getString("id")
        + "/cancel", "");

    assertThat(new JsonObject(cancel.body()).getString("processing_status")).isEqualTo("canceling");
    assertThat(new JsonObject(cancel.body()).getString("cancel_initiated_at")).isNotNull();
    clock.advance(299);
    assertThat(get(created.getString("id")).getString("processing_status")).isEqualTo("canceling");
    clock.advance(1);
    JsonObject ended = get(created.getString("id"));
    assertThat(ended.getJsonObject("request_counts").getInteger("canceled")).isEqualTo(2);
    assertThat(results(ended)).extracting(l -> l.getJsonObject("result").encode())
        .containsExactly("{\"type\":\"canceled\"}", "{\"type\":\"canceled\"}");
    assertThat(client.anthropicPost("/v1/messages/batches/" + created.getString("id") + "/cancel", "")
        .statusCode()).isEqualTo(400);
  }

  @Test
  void shouldExpireTheRequestsUnansweredAtTheEndOfTheWindow() throws Exception {
    ManualClock clock = client.manualClock(BatchBehaviour.phasesOf(20).withInProgressMs(2_000)
        .withWindowMs(1_000));
    JsonObject created = create(request("a", messageParams("1")), request("b", messageParams("2")));
    clock.advance(999);
    assertThat(get(created.getString("id")).getString("processing_status")).isEqualTo("in_progress");

    clock.advance(1);
    JsonObject ended = get(created.getString("id"));

    assertThat(ended.getJsonObject("request_counts").encode())
        .isEqualTo("{\"processing\":0,\"succeeded\":1,\"errored\":0,\"canceled\":0,\"expired\":1}");
    assertThat(results(ended)).extracting(l -> l.getJsonObject("result").getString("type"))
        .containsExactly("succeeded", "expired");
  }

  @Test
  void shouldRejectInvalidBatchesWhenTheyAreCreatedAndAnswerResultsOnlyOnceEnded() {
    sim.provider.batches().forAll(BatchBehaviour.phasesOf(20).withInProgressMs(60_000)).limits(10, 100_000, 2, 2_000);
    JsonObject params = messageParams("x");

    assertThat(problem(request("a", params), request("a", params))).contains("Duplicate custom_id");
    assertThat(problem(request("no spaces", params))).contains("custom_id");
    assertThat(problem(request("a", params), request("b", params), request("c", params))).contains("at most 2");
    assertThat(problem()).contains("requests");
    HttpResponse<String> big = client.anthropicPost("/v1/messages/batches", new JsonObject().put("requests",
        new JsonArray().add(request("a", messageParams("y".repeat(3_000))))).encode());
    assertThat(big.statusCode()).isEqualTo(413);
    assertThat(new JsonObject(big.body()).getJsonObject("error").getString("type")).isEqualTo("request_too_large");
    JsonObject running = create(request("a", params));
    assertThat(client.anthropicGet("/v1/messages/batches/" + running.getString("id") + "/results").statusCode())
        .isEqualTo(400);
    assertThat(BatchPlan.ANTHROPIC_MAX_REQUESTS).isEqualTo(100_000);
    assertThat(BatchPlan.ANTHROPIC_MAX_BYTES).isEqualTo(256L * 1024 * 1024);
  }

  private String problem(JsonObject... requests) {
    HttpResponse<String> r = client.anthropicPost("/v1/messages/batches",
        new JsonObject().put("requests", new JsonArray(List.of((Object[]) requests))).encode());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
    JsonObject error = new JsonObject(r.body()).getJsonObject("error");
    assertThat(error.getString("type")).isEqualTo("invalid_request_error");
    return error.getString("message");
  }

  @Test
  void shouldCheckTheKeyAnswerEndpointFaultsAndListNewestFirst() {
    assertThat(client.get("/v1/messages/batches").statusCode()).isEqualTo(401);
    sim.provider.batches().endpointFaults().forAll(Fault.status(529).times(1));
    HttpResponse<String> overloaded = client.anthropicGet("/v1/messages/batches");
    assertThat(overloaded.statusCode()).isEqualTo(529);
    assertThat(new JsonObject(overloaded.body()).getJsonObject("error").getString("type"))
        .isEqualTo("overloaded_error");

    JsonObject first = create(request("a", messageParams("1")));
    JsonObject second = create(request("a", messageParams("2")));
    JsonObject page = new JsonObject(client.anthropicGet("/v1/messages/batches?limit=1").body());
    assertThat(page.getJsonArray("data").getJsonObject(0).getString("id")).isEqualTo(second.getString("id"));
    assertThat(page.getBoolean("has_more")).isTrue();
    JsonObject next = new JsonObject(client.anthropicGet("/v1/messages/batches?limit=1&after_id="
        + second.getString("id")).body());
    assertThat(next.getString("first_id")).isEqualTo(first.getString("id"));
    assertThat(client.anthropicGet("/v1/messages/batches/msgbatch_nope").statusCode()).isEqualTo(404);
  }
}
