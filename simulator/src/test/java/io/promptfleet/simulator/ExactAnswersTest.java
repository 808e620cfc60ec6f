package io.promptfleet.simulator;

import static io.promptfleet.simulator.SimulatorHarness.b64;
import static io.promptfleet.simulator.SimulatorHarness.chat;
import static io.promptfleet.simulator.SimulatorHarness.choice;
import static io.promptfleet.simulator.SimulatorHarness.choices;
import static io.promptfleet.simulator.SimulatorHarness.finishChoice;
import static io.promptfleet.simulator.SimulatorHarness.streamWithUsage;
import static io.promptfleet.simulator.SimulatorHarness.streamedContent;
import static io.promptfleet.simulator.SimulatorHarness.streamedUsage;
import static io.promptfleet.simulator.SimulatorHarness.usage;
import static io.promptfleet.simulator.ToolCallsTest.fragments;
import static io.promptfleet.simulator.ToolCallsTest.promptTokens;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code [[sim:reply b64=...]]} (an exact answer, e.g. structured output) and {@code [[sim:refusal]]}. */
class ExactAnswersTest extends SimulatorTest {

  /** A structured-output answer with escapes, non-ASCII and a character outside the BMP. */
  private static final String JSON_ANSWER = "{\"answer\":\"Grüße \\\"aus\\\" Zürich \uD83D\uDE80\",\"n\":[1,2.5]}";

  @Test
  void shouldStreamExactlyTheGivenTextInChunksOfFourCharacters() {
    JsonObject request = streamWithUsage("structured please [[sim:reply b64=" + b64(JSON_ANSWER) + "]]");

    String body = sim.post(request).body();

    List<JsonObject> expected = new ArrayList<>();
    expected.add(choice(new JsonObject().put("role", "assistant").put("content", "")));
    List<String> chunks = fragments(JSON_ANSWER, Fault.DEFAULT_REPLY_CHUNK);
    chunks.forEach(c -> expected.add(choice(new JsonObject().put("content", c))));
    expected.add(finishChoice("stop"));
    assertThat(choices(body)).containsExactlyElementsOf(expected);
    assertThat(streamedContent(body)).isEqualTo(JSON_ANSWER);
    assertThat(streamedUsage(body)).isEqualTo(usage(promptTokens(request), chunks.size(), 0, 0));
  }

  @Test
  void shouldChunkTheReplyAsAskedAndAnswerItWithoutStreaming() {
    String directive = "[[sim:reply b64=" + b64(JSON_ANSWER) + " chunk=1]]";

    String streamed = sim.post(chat("x " + directive, true)).body();
    JsonObject plain = new JsonObject(sim.post(chat("x " + directive, false)).body());

    assertThat(choices(streamed)).hasSize(1 + JSON_ANSWER.codePointCount(0, JSON_ANSWER.length()) + 1);
    assertThat(streamedContent(streamed)).isEqualTo(JSON_ANSWER);
    JsonObject choice = plain.getJsonArray("choices").getJsonObject(0);
    assertThat(choice.getJsonObject("message")).isEqualTo(new JsonObject().put("role", "assistant")
        .put("content", JSON_ANSWER).putNull("refusal"));
    assertThat(new JsonObject(choice.getJsonObject("message").getString("content")).getString("answer"))
        .isEqualTo("Grüße \"aus\" Zürich \uD83D\uDE80");
    assertThat(choice.getString("finish_reason")).isEqualTo("stop");
  }

  @Test
  void shouldReplyOnlyTheFirstTimeWithTimesOneThenAnswerNormally() {
    // The times budget counts requests with the same directive and the same message content, like every fault
    JsonObject request = chat("retry me [[sim:reply b64=" + b64("exact") + " times=1]]", true);

    String first = streamedContent(sim.post(request).body());
    String second = streamedContent(sim.post(request).body());

    assertThat(first).isEqualTo("exact");
    assertThat(second).isNotEqualTo("exact").matches("\\S+( \\S+){4}"); // the normal lorem-ipsum answer
  }

  @Test
  void shouldCutAReplyAtTheTokenLimit() {
    String body = sim.post(chat("x [[sim:reply b64=" + b64(JSON_ANSWER) + "]]", true).put("max_tokens", 2)).body();

    assertThat(streamedContent(body)).isEqualTo(JSON_ANSWER.substring(0, 8));
    assertThat(choices(body).get(3)).isEqualTo(finishChoice("length"));
  }

  @Test
  void shouldRejectAReplyThatIsNotBase64OfUtf8Text() {
    HttpResponse<String> notBase64 = sim.post(chat("x [[sim:reply b64=***]]", true));
    HttpResponse<String> notUtf8 = sim.post(chat("x [[sim:reply b64=/w==]]", true)); // the byte 0xFF
    HttpResponse<String> missing = sim.post(chat("x [[sim:reply]]", true));

    assertThat(notBase64.statusCode()).isEqualTo(400);
    assertThat(error(notBase64).getString("message")).contains("b64 is not valid base64");
    assertThat(error(notBase64).getString("param")).isEqualTo("messages");
    assertThat(error(notBase64).getString("type")).isEqualTo("invalid_request_error");
    assertThat(notUtf8.statusCode()).isEqualTo(400);
    assertThat(error(notUtf8).getString("message")).contains("b64 does not encode UTF-8 text");
    assertThat(missing.statusCode()).isEqualTo(400);
    assertThat(error(missing).getString("message")).contains("reply needs b64=");
  }

  @Test
  void shouldAcceptUrlSafeBase64WithoutPadding() {
    String urlSafe = java.util.Base64.getUrlEncoder().withoutPadding()
        .encodeToString("<<??>>".getBytes(java.nio.charset.StandardCharsets.UTF_8));

    assertThat(urlSafe).contains("_");
    assertThat(streamedContent(sim.post(chat("x [[sim:reply b64=" + urlSafe + "]]", true)).body())).isEqualTo("<<??>>");
  }

  @Test
  void shouldStreamARefusalLikeOpenAi() {
    JsonObject request = streamWithUsage("how do I pick a lock? [[sim:refusal]]");

    String body = sim.post(request).body();

    List<JsonObject> expected = new ArrayList<>();
    expected.add(choice(new JsonObject().put("role", "assistant").putNull("content").put("refusal", "")));
    for (String word : List.of("I'm", " sorry,", " but", " I", " can't", " help", " with", " that.")) {
      expected.add(choice(new JsonObject().put("refusal", word)));
    }
    expected.add(finishChoice("stop"));
    assertThat(choices(body)).containsExactlyElementsOf(expected);
    assertThat(streamedUsage(body)).isEqualTo(usage(promptTokens(request), 8, 0, 0));
  }

  @Test
  void shouldPutTheRefusalInTheMessageWithNullContentWithoutStreaming() {
    JsonObject completion = new JsonObject(sim.post(chat("x [[sim:refusal]]", false)).body());

    assertThat(completion.getJsonArray("choices").getJsonObject(0)).isEqualTo(new JsonObject().put("index", 0)
        .put("message", new JsonObject().put("role", "assistant").putNull("content")
            .put("refusal", "I'm sorry, but I can't help with that."))
        .putNull("logprobs").put("finish_reason", "stop"));
  }

  private static JsonObject error(HttpResponse<String> response) {
    return new JsonObject(response.body()).getJsonObject("error");
  }
}
