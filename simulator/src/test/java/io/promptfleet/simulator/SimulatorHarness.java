package io.promptfleet.simulator;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * A real simulator on an ephemeral loopback port plus a blocking JDK HTTP/1.1 client, for tests.
 * Test threads block on it; the simulator's event loop never does.
 */
final class SimulatorHarness implements AutoCloseable {

  static final String KEY = "Bearer sk-test-key";
  static final Duration TIMEOUT = Duration.ofSeconds(10);

  final Vertx vertx;
  final SimulatedProvider provider;
  final HttpClient http;

  private SimulatorHarness(Vertx vertx, SimulatedProvider provider) {
    this.vertx = vertx;
    this.provider = provider;
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(TIMEOUT).build();
  }

  /** Port 0, no pacing, 5 completion tokens: fast and deterministic. */
  static SimulatorOptions fastOptions() {
    return SimulatorOptions.defaults().withPort(0).withFirstTokenDelayMs(0).withTokensPerSecond(0)
        .withDefaultCompletionTokens(5);
  }

  static SimulatorHarness start(SimulatorOptions options) throws Exception {
    Vertx vertx = Vertx.vertx();
    SimulatedProvider provider = SimulatedProvider.start(vertx, options).await(10, TimeUnit.SECONDS);
    return new SimulatorHarness(vertx, provider);
  }

  /** Forgets faults and counters between tests. */
  void resetState() {
    provider.faults().clearAll();
    provider.stats().reset();
  }

  /** A chat request with one user message. */
  static JsonObject chat(String userContent, boolean stream) {
    JsonObject body = new JsonObject().put("model", "gpt-test")
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", userContent)));
    return stream ? body.put("stream", true) : body;
  }

  static JsonObject streamWithUsage(String userContent) {
    return chat(userContent, true).put("stream_options", new JsonObject().put("include_usage", true));
  }

  HttpRequest.Builder request(String path, String body, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(provider.baseUrl() + path)).timeout(TIMEOUT)
        .header("Content-Type", "application/json");
    if (headers.length > 0) {
      b.headers(headers);
    }
    return body == null ? b.GET() : b.POST(HttpRequest.BodyPublishers.ofString(body));
  }

  /** POST /v1/chat/completions with {@link #KEY} unless {@code headers} name another Authorization. */
  HttpResponse<String> post(JsonObject body, String... headers) {
    return send(request("/chat/completions", body.encode(), withKey(headers)).build());
  }

  HttpResponse<String> send(HttpRequest request) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Sends a streaming request and returns once the headers are in; the body is read by a capture. */
  StreamCapture openStream(JsonObject body, String... headers) throws Exception {
    HttpResponse<InputStream> response = openStreamAsync(body, headers).get(10, TimeUnit.SECONDS);
    return new StreamCapture(response);
  }

  CompletableFuture<HttpResponse<InputStream>> openStreamAsync(JsonObject body, String... headers) {
    return http.sendAsync(request("/chat/completions", body.encode(), withKey(headers)).build(),
        HttpResponse.BodyHandlers.ofInputStream());
  }

  private static String[] withKey(String... headers) {
    for (int i = 0; i < headers.length; i += 2) {
      if (headers[i].equalsIgnoreCase("Authorization")) {
        return headers;
      }
    }
    String[] all = new String[headers.length + 2];
    all[0] = "Authorization";
    all[1] = KEY;
    System.arraycopy(headers, 0, all, 2, headers.length);
    return all;
  }

  /**
   * Sends one request over a plain socket and returns every byte received until the server closed the
   * connection, HTTP framing (status line, headers, chunk sizes) included, as Latin-1 text. For faults
   * where an HTTP client would hide or drop bytes.
   */
  String rawExchange(JsonObject body) throws IOException {
    byte[] payload = body.encode().getBytes(StandardCharsets.UTF_8);
    try (Socket socket = new Socket("127.0.0.1", provider.port())) {
      socket.setSoTimeout((int) TIMEOUT.toMillis());
      OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + KEY
          + "\r\nContent-Type: application/json\r\nContent-Length: " + payload.length
          + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.write(payload);
      out.flush();
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }

  /** The SSE events of a body: blocks separated by a blank line (LF framing). */
  static List<String> events(String body) {
    List<String> events = new ArrayList<>();
    for (String block : body.split("\n\n")) {
      if (!block.isEmpty()) {
        events.add(block);
      }
    }
    return events;
  }

  /** The JSON payloads of {@code data:} events, [DONE] and malformed ones excluded. */
  static List<JsonObject> dataJson(String body) {
    List<JsonObject> chunks = new ArrayList<>();
    for (String event : events(body)) {
      if (event.startsWith("data: {") && !event.startsWith("data: {not json")) {
        chunks.add(new JsonObject(event.substring("data: ".length())));
      }
    }
    return chunks;
  }

  /** The concatenated {@code delta.content} of the chunks of a body. */
  static String streamedContent(String body) {
    StringBuilder sb = new StringBuilder();
    for (JsonObject chunk : dataJson(body)) {
      JsonArray choices = chunk.getJsonArray("choices");
      if (choices != null && !choices.isEmpty()) {
        String content = choices.getJsonObject(0).getJsonObject("delta").getString("content");
        sb.append(content == null ? "" : content);
      }
    }
    return sb.toString();
  }

  /** {@code choices[0]} of every chunk that has a choice (the usage chunk has none), in order. */
  static List<JsonObject> choices(String body) {
    List<JsonObject> choices = new ArrayList<>();
    for (JsonObject chunk : dataJson(body)) {
      JsonArray array = chunk.getJsonArray("choices");
      if (array != null && !array.isEmpty()) {
        assertOneChoice(array);
        choices.add(array.getJsonObject(0));
      }
    }
    return choices;
  }

  /** The {@code usage} of the usage chunk ({@code choices: []}), null when there is none. */
  static JsonObject streamedUsage(String body) {
    for (JsonObject chunk : dataJson(body)) {
      if (chunk.getJsonArray("choices").isEmpty()) {
        return chunk.getJsonObject("usage");
      }
    }
    return null;
  }

  /** A chunk choice: {@code {"index":0,"delta":delta,"logprobs":null,"finish_reason":null}}. */
  static JsonObject choice(JsonObject delta) {
    return new JsonObject().put("index", 0).put("delta", delta).putNull("logprobs").putNull("finish_reason");
  }

  /** The finish chunk's choice: empty delta and {@code finishReason}. */
  static JsonObject finishChoice(String finishReason) {
    return new JsonObject().put("index", 0).put("delta", new JsonObject()).putNull("logprobs")
        .put("finish_reason", finishReason);
  }

  /** OpenAI's usage object with both detail objects. */
  static JsonObject usage(int prompt, int completion, int cached, int reasoning) {
    return new JsonObject().put("prompt_tokens", prompt).put("completion_tokens", completion)
        .put("total_tokens", prompt + completion)
        .put("prompt_tokens_details", new JsonObject().put("cached_tokens", cached).put("audio_tokens", 0))
        .put("completion_tokens_details", new JsonObject().put("reasoning_tokens", reasoning).put("audio_tokens", 0)
            .put("accepted_prediction_tokens", 0).put("rejected_prediction_tokens", 0));
  }

  /** Base64 of the UTF-8 bytes of {@code text}, for {@code [[sim:reply b64=...]]}. */
  static String b64(String text) {
    return java.util.Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
  }

  /** Every chunk of a stream has the same id, created and model, and OpenAI's envelope fields. */
  static void assertChunkEnvelopes(String body, String model) {
    List<JsonObject> chunks = dataJson(body);
    if (chunks.isEmpty()) {
      throw new AssertionError("no chunks in " + body);
    }
    JsonObject first = chunks.get(0);
    for (JsonObject chunk : chunks) {
      if (!chunk.getString("id").equals(first.getString("id")) || !chunk.getString("id").startsWith("chatcmpl-")
          || !"chat.completion.chunk".equals(chunk.getString("object"))
          || !chunk.getLong("created").equals(first.getLong("created"))
          || !model.equals(chunk.getString("model")) || !"fp_sim".equals(chunk.getString("system_fingerprint"))) {
        throw new AssertionError("unexpected chunk envelope: " + chunk.encode());
      }
    }
  }

  private static void assertOneChoice(JsonArray choices) {
    if (choices.size() != 1) {
      throw new AssertionError("expected one choice, got " + choices.encode());
    }
  }

  /** Content chunks (non-empty {@code delta.content}) in a body. */
  static long contentChunks(String body) {
    return dataJson(body).stream()
        .filter(c -> c.getJsonArray("choices") != null && !c.getJsonArray("choices").isEmpty())
        .map(c -> c.getJsonArray("choices").getJsonObject(0).getJsonObject("delta").getString("content"))
        .filter(s -> s != null && !s.isEmpty())
        .count();
  }

  /** Waits for a condition the server reaches asynchronously (e.g. cleanup after a disconnect). */
  static void awaitCondition(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.sleep(10);
    }
  }

  @Override
  public void close() {
    try {
      provider.close().await(10, TimeUnit.SECONDS);
      vertx.close().await(10, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      throw new IllegalStateException("simulator did not close within 10 s", e);
    }
  }
}
