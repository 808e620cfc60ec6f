package io.promptfleet.simulator.internal;

import io.promptfleet.simulator.Fault;
import io.promptfleet.simulator.RecordedRequest;
import io.promptfleet.simulator.SimulatorOptions;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The HTTP surface of the simulator: {@code GET /v1/models}, {@code POST /v1/chat/completions},
 * {@code POST /v1/messages} (Anthropic's Messages API: the key in {@code x-api-key}, counted as {@code Bearer <key>}
 * so a key is the same on both paths; the same answers and fault directives in Anthropic's events, errors and
 * headers), {@code POST /v1/responses} (the OpenAI Responses API: the same answer plan and faults, in its request
 * and event shapes), Azure OpenAI's {@code POST /openai/deployments/{deployment}/chat/completions?api-version=…}
 * and {@code POST /openai/v1/chat/completions} (key in the {@code api-key} header), {@code POST /v1/embeddings},
 * {@code GET /health}, the providers' batch APIs ({@link BatchApis}: OpenAI's {@code /v1/files} and {@code
 * /v1/batches}, Anthropic's {@code /v1/messages/batches}), and OpenAI-style errors for everything else.
 *
 * <p>A key is identified by its {@code Authorization} value; an Azure {@code api-key: K} or an Anthropic {@code
 * x-api-key: K} counts as {@code Authorization: Bearer K}, so per-key statistics and fault plans are the same
 * whichever protocol a client speaks.
 *
 * <p>Thread-safe: the router may be shared by servers on several event loops; per-request state lives in
 * the handlers' locals and in {@link CompletionExchange}. Handlers run on the event loop of the request's
 * connection and never block.
 */
public final class ProviderRoutes {

  /** Largest accepted request body. */
  static final long BODY_LIMIT_BYTES = 16L * 1024 * 1024;
  /** Largest completion a request may ask for with {@code x-simulator-tokens}. */
  static final int MAX_SIMULATOR_TOKENS = 100_000;
  /** Request header that sets the completion length of one request. */
  public static final String TOKENS_HEADER = "x-simulator-tokens";

  /**
   * The completion APIs served: OpenAI's chat completions, the same on Azure's paths, Anthropic's Messages, OpenAI's
   * Responses API.
   */
  enum Api { CHAT, AZURE_CHAT, MESSAGES, RESPONSES }

  /** Azure's answer to a deployment URL without {@code api-version} (and to an unknown deployment). */
  static final String AZURE_NOT_FOUND = "{\"error\":{\"code\":\"404\",\"message\":\"Resource not found\"}}";
  /** Azure's answer to a request without a key. */
  static final String AZURE_UNAUTHORIZED = "{\"error\":{\"code\":\"401\",\"message\":\"Access denied due to"
      + " invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription"
      + " and use a correct regional API endpoint for your resource.\"}}";

  private static final DateTimeFormatter HTTP_DATE =
      DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.ENGLISH).withZone(ZoneOffset.UTC);

  private final Vertx vertx;
  private final SimulatorOptions options;
  private final StatsRecorder stats;
  private final DefaultFaultPlan faults;
  private final RateLimits rateLimits;
  private final String idPrefix;
  private final AtomicLong sequence = new AtomicLong();
  private final long createdEpochSeconds;

  private ProviderRoutes(Vertx vertx, SimulatorOptions options, StatsRecorder stats, DefaultFaultPlan faults) {
    this.vertx = vertx;
    this.options = options;
    this.stats = stats;
    this.faults = faults;
    this.rateLimits = new RateLimits(options.rateLimitRequests(), options.rateLimitTokens());
    this.idPrefix = String.format("%06x", ThreadLocalRandom.current().nextInt(1 << 24));
    this.createdEpochSeconds = stats.clock().instant().getEpochSecond();
  }

  /** The router serving the simulator's endpoints. */
  public static Router router(Vertx vertx, SimulatorOptions options, StatsRecorder stats, DefaultFaultPlan faults,
      DefaultBatchPlan batches) {
    ProviderRoutes routes = new ProviderRoutes(vertx, options, stats, faults);
    Router router = Router.router(vertx);
    BodyHandler bodies = BodyHandler.create(false).setBodyLimit(BODY_LIMIT_BYTES);
    // batch uploads are larger than any live request and read by their own handlers, within the batch limits
    router.route().handler(ctx -> {
      if (BatchApis.readsOwnBody(ctx.request())) {
        ctx.next();
      } else {
        bodies.handle(ctx);
      }
    });
    router.route().handler(routes::record);
    router.get("/health").handler(ctx -> ctx.response()
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end("{\"status\":\"UP\"}"));
    router.get("/v1/models").handler(routes::models);
    router.post("/v1/chat/completions").handler(ctx -> routes.complete(ctx, Api.CHAT));
    router.post("/v1/messages").handler(ctx -> routes.complete(ctx, Api.MESSAGES));
    router.post("/v1/responses").handler(ctx -> routes.complete(ctx, Api.RESPONSES));
    router.post("/openai/deployments/:deployment/chat/completions").handler(routes::azureDeployment);
    router.post("/openai/v1/chat/completions").handler(ctx -> routes.complete(ctx, Api.AZURE_CHAT));
    router.post("/v1/embeddings").handler(routes::embeddings);
    new BatchApis(vertx, routes, batches).register(router);
    router.route().last().handler(ctx -> routes.error(ctx.response(), 404, OpenAiErrors.body(
        "Invalid URL (" + ctx.request().method() + " " + ctx.request().path() + ")",
        "invalid_request_error", null, null)));
    router.errorHandler(413, ctx -> routes.error(ctx.response(), 413, OpenAiErrors.body(
        "Request body too large: the simulator accepts at most " + BODY_LIMIT_BYTES + " bytes.",
        "invalid_request_error", null, "request_too_large")));
    router.errorHandler(500, ctx -> routes.error(ctx.response(), 500, OpenAiErrors.body(
        "The simulator failed: " + ctx.failure(), "server_error", null, null)));
    return router;
  }

  private void record(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    Map<String, List<String>> headers = new LinkedHashMap<>();
    request.headers().forEach(e ->
        headers.computeIfAbsent(e.getKey().toLowerCase(Locale.ROOT), k -> new ArrayList<>(1)).add(e.getValue()));
    headers.replaceAll((k, v) -> List.copyOf(v));
    stats.record(new RecordedRequest(request.method().name(), request.path(), request.query(), headers,
        bodyText(ctx), stats.clock().instant()));
    ctx.next();
  }

  private void models(RoutingContext ctx) {
    HttpServerResponse response = ctx.response();
    response.putHeader("x-request-id", requestId(sequence.incrementAndGet()));
    if (bearer(ctx.request()) == null) {
      unauthorized(response);
      return;
    }
    JsonArray data = new JsonArray();
    for (String model : options.models()) {
      data.add(new JsonObject().put("id", model).put("object", "model").put("created", createdEpochSeconds)
          .put("owned_by", "promptfleet-simulator"));
    }
    response.putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end(new JsonObject().put("object", "list").put("data", data).encode());
  }

  /**
   * Azure's deployment URL: without {@code api-version} Azure answers 404 {@code Resource not found} (its documented
   * behaviour, see MicrosoftDocs/azure-docs#114602); the deployment is the model when the body names none.
   */
  private void azureDeployment(RoutingContext ctx) {
    String version = ctx.request().getParam("api-version");
    if (version == null || version.isBlank()) {
      error(ctx.response(), 404, AZURE_NOT_FOUND);
      return;
    }
    complete(ctx, Api.AZURE_CHAT);
  }

  /**
   * A completion request in any of the {@link Api}s: each plans the answer and its faults the same way, from the
   * same directives, and writes it through its {@link AnswerEncoder}.
   */
  private void complete(RoutingContext ctx, Api api) {
    boolean anthropic = api == Api.MESSAGES;
    HttpServerRequest request = ctx.request();
    HttpServerResponse response = ctx.response();
    Started started = start(ctx, api);
    if (started == null) {
      return;
    }
    long seq = started.seq();
    String key = started.key();
    StatsRecorder.Lease lease = started.lease();
    int naturalLength;
    Prepared prepared;
    try {
      String deployment = ctx.pathParam("deployment");
      prepared = prepare(api, bodyText(ctx), deployment != null ? deployment : options.models().get(0), key);
      naturalLength = tokensHeader(request).orElse(options.defaultCompletionTokens());
    } catch (InvalidRequestException e) {
      error(response, 400, anthropic ? AnthropicErrors.body("invalid_request_error", e.getMessage())
          : OpenAiErrors.body(e.getMessage(), "invalid_request_error", e.param(), e.code()));
      return;
    }
    ChatRequest chat = prepared.chat();
    List<Fault> applied = prepared.applied();
    for (Fault fault : applied) {
      if (!fault.kind().shapesAnswer()) {
        stats.faulted(); // answer shapes (tool calls, reasoning, ...) are not faults
        break;
      }
    }
    ResponsePlan plan = ResponsePlan.of(applied, options);
    if (plan.ending() == ResponsePlan.Ending.RESET) {
      lease.release();
      CompletionExchange.drop(request);
      return;
    }
    String idBase = idBase(seq);
    Answer answer = AnswerBuilder.build(chat, plan, naturalLength, prepared.reasoningModel(), idBase);
    long nowMs = stats.clock().millis();
    if (plan.ending() == ResponsePlan.Ending.STATUS) {
      statusFault(response, key, plan.endingFault(), chat.model(), answer.usage().totalTokens(), nowMs, anthropic);
      return;
    }
    rateLimits.apply(response.headers(), key, answer.usage().totalTokens(), nowMs, false, 0, anthropic);
    AnswerEncoder encoder = encoder(api, prepared, idBase, nowMs, plan);
    CompletionExchange exchange = new CompletionExchange(vertx, request, stats, lease, plan, answer, encoder);
    if (chat.stream()) {
      exchange.startStream();
    } else {
      exchange.startNonStream();
    }
  }

  /**
   * A completion request read in its API's shape, checked against the model's rules, with the faults that apply to
   * it: what a live call and a line of a batch share.
   */
  record Prepared(ChatRequest chat, int cachePrefixTokens, List<Fault> applied, boolean reasoningModel) {}

  Prepared prepare(Api api, String body, String defaultModel, String key) throws InvalidRequestException {
    if (api == Api.MESSAGES) {
      MessagesRequest m = MessagesRequest.parse(body, defaultModel);
      return new Prepared(m.chat(), m.cachePrefixTokens(), faults.resolve(key, m.chat()), false);
    }
    ChatRequest chat = api == Api.RESPONSES ? ResponsesRequest.parse(body, defaultModel)
        : ChatRequest.parse(body, defaultModel);
    boolean reasoningModel = options.isReasoningModel(chat.model());
    if (reasoningModel) {
      ReasoningModelRules.check(chat);
    }
    return new Prepared(chat, 0, faults.resolve(key, chat), reasoningModel);
  }

  /** The encoder of one answer in {@code api}'s shapes. */
  static AnswerEncoder encoder(Api api, Prepared prepared, String idBase, long nowMs, ResponsePlan plan) {
    ChatRequest chat = prepared.chat();
    return switch (api) {
      case CHAT, AZURE_CHAT -> new ChunkEncoder("chatcmpl-sim" + idBase, nowMs / 1000, chat.model(),
          chat.includeUsage(), plan.lineEnd(), chat.logprobs() ? chat.topLogprobs() : -1);
      case MESSAGES -> new MessagesEncoder("msg_sim" + idBase, chat.model(), prepared.cachePrefixTokens());
      case RESPONSES -> new ResponsesEncoder(idBase, nowMs / 1000, chat.model(), plan.lineEnd());
    };
  }

  /**
   * {@code POST /v1/embeddings}: one JSON answer ({@link EmbeddingsAnswer}) after the first-token delay. The fault
   * directives in the inputs' text (or registered for the key) apply as to a non-streamed chat answer: a
   * {@code status} answers that error (429s with rate-limit headers), {@code reset} closes the connection,
   * {@code stall} never answers, {@code cut} closes after half the body; other faults do not change it.
   */
  private void embeddings(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    HttpServerResponse response = ctx.response();
    Started started = start(ctx, Api.CHAT); // OpenAI's conventions: Bearer key, x-request-id, OpenAI's 401
    if (started == null) {
      return;
    }
    String key = started.key();
    StatsRecorder.Lease lease = started.lease();
    EmbeddingsRequest embed;
    List<Fault> applied;
    try {
      embed = EmbeddingsRequest.parse(bodyText(ctx), options.models().get(0));
      applied = faults.resolve(key, embed.text(), embed::text);
    } catch (InvalidRequestException e) {
      error(response, 400, OpenAiErrors.body(e.getMessage(), "invalid_request_error", e.param(), e.code()));
      return;
    }
    if (!applied.isEmpty()) {
      stats.faulted();
    }
    ResponsePlan plan = ResponsePlan.of(applied, options);
    long nowMs = stats.clock().millis();
    switch (plan.ending()) {
      case RESET -> {
        lease.release();
        CompletionExchange.drop(request);
      }
      case STATUS -> statusFault(response, key, plan.endingFault(), embed.model(), embed.tokens(), nowMs, false);
      case STALL -> { } // no header ever; the close handler cleans up when the client gives up
      default -> {
        rateLimits.apply(response.headers(), key, embed.tokens(), nowMs, false, 0, false);
        boolean cut = plan.ending() == ResponsePlan.Ending.CUT;
        Runnable send = () -> {
          if (response.closed()) {
            return;
          }
          Buffer body = Buffer.buffer(EmbeddingsAnswer.body(embed));
          response.setStatusCode(200).putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
          if (cut) {
            response.putHeader(HttpHeaders.CONTENT_LENGTH, Integer.toString(body.length()))
                .write(body.getBuffer(0, body.length() / 2)).onComplete(w -> CompletionExchange.drop(request));
          } else {
            response.end(body);
          }
        };
        if (plan.ttftMs() > 0) {
          vertx.setTimer(plan.ttftMs(), id -> send.run());
        } else {
          send.run();
        }
      }
    }
  }

  /** The next request sequence number (ids, request ids). */
  long nextSequence() {
    return sequence.incrementAndGet();
  }

  /** The unique id stem of request {@code seq}. */
  String idBase(long seq) {
    return String.format("%s%010x", idPrefix, seq);
  }

  SimulatorOptions options() {
    return options;
  }

  DefaultFaultPlan faults() {
    return faults;
  }

  /** A request that passed the key check: its sequence number, key and concurrency lease. */
  private record Started(long seq, String key, StatsRecorder.Lease lease) {}

  /**
   * The start of every answering endpoint: counts the request, names it ({@code x-request-id}, Anthropic's {@code
   * request-id}), checks its key in the API's header and starts its lease, released whenever the response ends; null
   * when the key is missing (answered 401 in the API's words).
   */
  private Started start(RoutingContext ctx, Api api) {
    HttpServerRequest request = ctx.request();
    HttpServerResponse response = ctx.response();
    stats.requestReceived();
    long seq = sequence.incrementAndGet();
    response.putHeader(api == Api.MESSAGES ? "request-id" : "x-request-id", requestId(seq));
    String key = switch (api) {
      case MESSAGES -> apiKey(request);
      case AZURE_CHAT -> azureKey(request);
      case CHAT, RESPONSES -> bearer(request);
    };
    if (key == null) {
      switch (api) {
        case MESSAGES -> error(response, 401, AnthropicErrors.body("authentication_error",
            "x-api-key header is required"));
        case AZURE_CHAT -> error(response, 401, AZURE_UNAUTHORIZED);
        case CHAT, RESPONSES -> unauthorized(response);
      }
      return null;
    }
    StatsRecorder.Lease lease = stats.requestStarted(key);
    // Whatever happens next (even a bug answered by the router's 500 handler), the request ends here.
    response.endHandler(v -> lease.release()).closeHandler(v -> lease.release());
    return new Started(seq, key, lease);
  }

  void statusFault(HttpServerResponse response, String key, Fault fault, String model,
      int totalTokens, long nowMs, boolean anthropic) {
    int code = fault.statusCode();
    long resetMs = 1000;
    if (fault.retryAfterMs().isPresent()) {
      resetMs = fault.retryAfterMs().getAsLong();
      response.putHeader("retry-after-ms", Long.toString(resetMs));
    }
    if (fault.retryAfterSeconds().isPresent()) {
      resetMs = fault.retryAfterSeconds().getAsLong() * 1000;
      response.putHeader("retry-after", Long.toString(fault.retryAfterSeconds().getAsLong()));
    }
    if (fault.retryAfterDateSeconds().isPresent()) {
      long seconds = fault.retryAfterDateSeconds().getAsLong();
      resetMs = seconds * 1000;
      response.putHeader("retry-after", HTTP_DATE.format(Instant.ofEpochMilli(nowMs).plusSeconds(seconds)));
    }
    if (code == 429) {
      rateLimits.apply(response.headers(), key, totalTokens, nowMs, true, resetMs, anthropic);
    }
    if (code == 529) {
      response.setStatusMessage("Overloaded");
    }
    OpenAiErrors.Spec spec = OpenAiErrors.forStatus(code, fault.isQuota(), model);
    error(response, code, anthropic ? AnthropicErrors.body(AnthropicErrors.typeFor(code, fault.isQuota()),
        spec.message()) : OpenAiErrors.body(spec));
  }

  void unauthorized(HttpServerResponse response) {
    error(response, 401, OpenAiErrors.body("You didn't provide an API key. You need to provide your API key in"
        + " an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        "invalid_request_error", null, "invalid_api_key"));
  }

  void error(HttpServerResponse response, int status, String body) {
    response.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(body);
  }

  String requestId(long seq) {
    return String.format("req_sim%s%010x", idPrefix, seq);
  }

  /** The request body as UTF-8 text, "" when there is none. */
  static String bodyText(RoutingContext ctx) {
    String text = ctx.body().available() ? ctx.body().asString() : null;
    return text == null ? "" : text;
  }

  /** {@code Bearer <x-api-key>} (the key as the OpenAI path counts it), or null without the header. */
  static String apiKey(HttpServerRequest request) {
    String value = request.getHeader("x-api-key");
    return value == null || value.isBlank() ? null : "Bearer " + value.strip();
  }

  /** The whole {@code Authorization} value if it is {@code Bearer <something>}, else null. */
  static String bearer(HttpServerRequest request) {
    String value = request.getHeader(HttpHeaders.AUTHORIZATION);
    if (value == null || value.length() <= 7 || !value.regionMatches(true, 0, "Bearer ", 0, 7)
        || value.substring(7).isBlank()) {
      return null;
    }
    return value;
  }

  /**
   * An Azure request's key as the simulator counts it: {@code api-key: K} as {@code Bearer K}, else a Bearer
   * {@code Authorization} (Azure also takes Microsoft Entra tokens there); null when neither is present.
   */
  private static String azureKey(HttpServerRequest request) {
    String apiKey = request.getHeader("api-key");
    if (apiKey != null && !apiKey.isBlank()) {
      return "Bearer " + apiKey.strip();
    }
    return bearer(request);
  }

  private static OptionalInt tokensHeader(HttpServerRequest request) throws InvalidRequestException {
    String raw = request.getHeader(TOKENS_HEADER);
    if (raw == null) {
      return OptionalInt.empty();
    }
    try {
      int n = Integer.parseInt(raw.strip());
      if (n >= 0 && n <= MAX_SIMULATOR_TOKENS) {
        return OptionalInt.of(n);
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new InvalidRequestException("Invalid " + TOKENS_HEADER + " header: expected an integer between 0 and "
        + MAX_SIMULATOR_TOKENS + ", got '" + raw + "'.", null);
  }
}
