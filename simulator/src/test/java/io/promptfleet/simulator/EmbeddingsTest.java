package io.promptfleet.simulator;

import static io.promptfleet.simulator.SimulatorHarness.KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** {@code POST /v1/embeddings} against a real server: OpenAI's answer shape, deterministic vectors, faults. */
class EmbeddingsTest extends SimulatorTest {

  private HttpResponse<String> embed(JsonObject body) {
    return sim.send(sim.request("/embeddings", body.encode(), "Authorization", KEY).build());
  }

  private static JsonObject request(Object input) {
    return new JsonObject().put("model", "text-embedding-3-small").put("input", input);
  }

  @Test
  void shouldAnswerOneUnitVectorPerInputInOpenAisShapeTheSameForTheSameInput() {
    HttpResponse<String> first = embed(request(new JsonArray().add("hello world").add("goodbye")));
    HttpResponse<String> again = embed(request(new JsonArray().add("goodbye")));

    assertThat(first.statusCode()).isEqualTo(200);
    JsonObject body = new JsonObject(first.body());
    assertThat(body.getString("object")).isEqualTo("list");
    assertThat(body.getString("model")).isEqualTo("text-embedding-3-small");
    assertThat(body.getJsonObject("usage")).isEqualTo(new JsonObject("{\"prompt_tokens\":5,\"total_tokens\":5}"));
    JsonArray data = body.getJsonArray("data");
    assertThat(data).hasSize(2);
    JsonObject second = data.getJsonObject(1);
    assertThat(second.getString("object")).isEqualTo("embedding");
    assertThat(second.getInteger("index")).isEqualTo(1);
    JsonArray v = second.getJsonArray("embedding");
    assertThat(v).hasSize(1536);
    double norm = 0;
    for (int i = 0; i < v.size(); i++) {
      norm += v.getDouble(i) * v.getDouble(i);
    }
    assertThat(norm).isCloseTo(1.0, within(1e-4));
    assertThat(new JsonObject(again.body()).getJsonArray("data").getJsonObject(0).getJsonArray("embedding"))
        .as("seeded by the input").isEqualTo(v);
    assertThat(data.getJsonObject(0).getJsonArray("embedding")).isNotEqualTo(v);
  }

  @Test
  void shouldHonourDimensionsAndBase64() {
    JsonObject floats = new JsonObject(embed(request("x").put("dimensions", 8)).body());
    JsonObject b64 = new JsonObject(embed(request("x").put("dimensions", 8).put("encoding_format", "base64"))
        .body());

    JsonArray v = floats.getJsonArray("data").getJsonObject(0).getJsonArray("embedding");
    assertThat(v).hasSize(8);
    ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(
        b64.getJsonArray("data").getJsonObject(0).getString("embedding"))).order(ByteOrder.LITTLE_ENDIAN);
    assertThat(bytes.remaining()).isEqualTo(8 * 4);
    for (int i = 0; i < 8; i++) {
      assertThat(bytes.getFloat()).isEqualTo(v.getFloat(i));
    }
  }

  @Test
  void shouldCountTokenIdInputsAndRejectBadRequestsAsOpenAiDoes() {
    JsonObject ids = new JsonObject(embed(request(new JsonArray("[[1,2,3],[4]]"))).body());
    assertThat(ids.getJsonObject("usage").getInteger("prompt_tokens")).isEqualTo(4);
    assertThat(ids.getJsonArray("data")).hasSize(2);

    HttpResponse<String> missing = embed(new JsonObject().put("model", "m"));
    assertThat(missing.statusCode()).isEqualTo(400);
    assertThat(new JsonObject(missing.body()).getJsonObject("error").getString("param")).isEqualTo("input");
    assertThat(embed(request("x").put("dimensions", 0)).statusCode()).isEqualTo(400);
    assertThat(embed(request("x").put("encoding_format", "int8")).statusCode()).isEqualTo(400);
    assertThat(embed(request("")).statusCode()).isEqualTo(400);
  }

  @Test
  void shouldApplyFaultDirectivesInTheInput() {
    HttpResponse<String> limited = embed(request("hi [[sim:status code=429 retry_after_ms=250]]"));
    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.headers().firstValue("retry-after-ms")).hasValue("250");
    assertThat(limited.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("0");

    JsonObject once = request(new JsonArray().add("a").add("b [[sim:status code=503 times=1]]"));
    assertThat(embed(once).statusCode()).isEqualTo(503);
    assertThat(embed(once).statusCode()).as("times=1: the second request is answered").isEqualTo(200);
    assertThat(sim.provider.stats().faultedRequests()).isEqualTo(2);
  }
}
