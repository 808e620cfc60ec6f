package io.promptfleet.simulator.internal;

import io.promptfleet.simulator.BatchBehaviour;
import io.promptfleet.simulator.Fault;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The providers' batch APIs: OpenAI's Files ({@code POST /v1/files} multipart, {@code GET /v1/files/{id}}, {@code
 * GET /v1/files/{id}/content}, {@code DELETE /v1/files/{id}}) and Batches ({@code POST /v1/batches}, {@code GET
 * /v1/batches[/{id}]}, {@code POST /v1/batches/{id}/cancel}) for {@code /v1/chat/completions} and {@code
 * /v1/embeddings} lines; Anthropic's Message Batches ({@code POST /v1/messages/batches}, {@code GET
 * /v1/messages/batches[/{id}]}, {@code POST .../{id}/cancel}, {@code GET .../{id}/results}).
 *
 * <p>Each request in a batch is answered when the batch is created, exactly as a live call with the same body (the
 * same answer builder, usage, directives and key fault plan; {@code status} directives make it an error line); the
 * batch then moves through its states on the clock ({@link OpenAiBatch}, {@link MessageBatch}, {@link
 * BatchBehaviour}). Keys are checked as on the live paths (Bearer for OpenAI, {@code x-api-key} for Anthropic);
 * files and batches are visible to every key, as to every key of one organisation.
 *
 * <p>Thread-safe: state lives in concurrent maps and in the synchronized batches. Handlers run on the event loop;
 * reading and answering a batch's lines runs on a worker thread ({@code executeBlocking}).
 */
final class BatchApis {

  /** Endpoints an OpenAI batch may target. */
  static final Set<String> OPENAI_ENDPOINTS = Set.of("/v1/chat/completions", "/v1/embeddings");
  /** The largest file {@code POST /v1/files} accepts (OpenAI: 512 MB); a batch input must also fit its limit. */
  static final long MAX_UPLOAD_BYTES = 512L * 1024 * 1024;
  /** Anthropic's rule for a request's {@code custom_id}. */
  static final Pattern ANTHROPIC_CUSTOM_ID = Pattern.compile("^[a-zA-Z0-9_-]{1,64}$");
  private static final String FILES = "/v1/files";
  private static final String MESSAGE_BATCHES = "/v1/messages/batches";

  private final Vertx vertx;
  private final ProviderRoutes routes;
  private final DefaultBatchPlan plan;
  private final Map<String, SimFile> files = new ConcurrentHashMap<>();
  private final Map<String, OpenAiBatch> batches = new ConcurrentHashMap<>();
  private final List<String> batchOrder = new ArrayList<>();
  private final Map<String, MessageBatch> messageBatches = new ConcurrentHashMap<>();
  private final List<String> messageBatchOrder = new ArrayList<>();

  BatchApis(Vertx vertx, ProviderRoutes routes, DefaultBatchPlan plan) {
    this.vertx = vertx;
    this.routes = routes;
    this.plan = plan;
  }

  /** Whether this request's body is read by a batch handler (uploads larger than the live body limit). */
  static boolean readsOwnBody(HttpServerRequest request) {
    return request.method() == HttpMethod.POST && (request.path().equals(FILES)
        || request.path().equals(MESSAGE_BATCHES));
  }

  void register(Router router) {
    router.post(FILES).handler(ctx -> openAi(ctx, this::createFile));
    router.get(FILES + "/:id").handler(ctx -> openAi(ctx, this::getFile));
    router.get(FILES + "/:id/content").handler(ctx -> openAi(ctx, this::fileContent));
    router.delete(FILES + "/:id").handler(ctx -> openAi(ctx, this::deleteFile));
    router.post("/v1/batches").handler(ctx -> openAi(ctx, this::createBatch));
    router.get("/v1/batches").handler(ctx -> openAi(ctx, this::listBatches));
    router.get("/v1/batches/:id").handler(ctx -> openAi(ctx, this::getBatch));
    router.post("/v1/batches/:id/cancel").handler(ctx -> openAi(ctx, this::cancelBatch));
    router.post(MESSAGE_BATCHES).handler(ctx -> anthropic(ctx, this::createMessageBatch));
    router.get(MESSAGE_BATCHES).handler(ctx -> anthropic(ctx, this::listMessageBatches));
    router.get(MESSAGE_BATCHES + "/:id").handler(ctx -> anthropic(ctx, this::getMessageBatch));
    router.post(MESSAGE_BATCHES + "/:id/cancel").handler(ctx -> anthropic(ctx, this::cancelMessageBatch));
    router.get(MESSAGE_BATCHES + "/:id/results").handler(ctx -> anthropic(ctx, this::messageBatchResults));
  }

  /** A handler of one endpoint, given the request's key as counted ({@code Bearer <key>}). */
  private interface Handler {
    void handle(RoutingContext ctx, String key);
  }

  // ------------------------------------------------------------------ key check and endpoint faults

  private void openAi(RoutingContext ctx, Handler handler) {
    ctx.response().putHeader("x-request-id", routes.requestId(routes.nextSequence()));
    String key = ProviderRoutes.bearer(ctx.request());
    if (key == null) {
      routes.unauthorized(ctx.response());
    } else if (!faulted(ctx, key, false)) {
      handler.handle(ctx, key);
    }
  }

  private void anthropic(RoutingContext ctx, Handler handler) {
    ctx.response().putHeader("request-id", routes.requestId(routes.nextSequence()));
    String key = ProviderRoutes.apiKey(ctx.request());
    if (key == null) {
      routes.error(ctx.response(), 401, AnthropicErrors.body("authentication_error", "x-api-key header is required"));
    } else if (!faulted(ctx, key, true)) {
      handler.handle(ctx, key);
    }
  }

  /** Answers the request with an endpoint fault registered in {@link DefaultBatchPlan#endpointFaults()}, if any. */
  private boolean faulted(RoutingContext ctx, String key, boolean anthropic) {
    List<Fault> active;
    try {
      active = plan.endpointFaults().resolve(key, "", () -> "");
    } catch (InvalidRequestException e) {
      throw new IllegalStateException("no directives are read here", e);
    }
    for (Fault fault : active) {
      switch (fault.kind()) {
        case STATUS -> {
          routes.statusFault(ctx.response(), key, fault, "batch", 0, plan.nowMs(), anthropic);
          return true;
        }
        case RESET -> {
          CompletionExchange.drop(ctx.request());
          return true;
        }
        default -> { } // other faults shape a completion, not these endpoints
      }
    }
    return false;
  }

  // ------------------------------------------------------------------ OpenAI Files

  private void createFile(RoutingContext ctx, String key) {
    HttpServerRequest request = ctx.request();
    readBody(ctx, MAX_UPLOAD_BYTES, false).onSuccess(body -> {
      if (body == null) {
        return;
      }
      MultipartForm form;
      try {
        form = MultipartForm.parse(request.getHeader(HttpHeaders.CONTENT_TYPE), body);
      } catch (InvalidRequestException e) {
        invalid(ctx, e.getMessage(), null);
        return;
      }
      MultipartForm.Part purpose = form.parts().get("purpose");
      MultipartForm.Part file = form.parts().get("file");
      if (purpose == null || purpose.text().isBlank()) {
        invalid(ctx, "Missing required parameter: 'purpose'.", "purpose");
      } else if (file == null || file.filename() == null) {
        invalid(ctx, "Missing required parameter: 'file'.", "file");
      } else {
        String id = store(new SimFile(null, purpose.text().strip(), file.filename(), file.bytes(), plan.nowMs()));
        json(ctx, 200, files.get(id).toJson());
      }
    });
  }

  /** Keeps a file under a new {@code file-…} id and returns the id. */
  private String store(SimFile file) {
    String id = "file-sim" + routes.idBase(routes.nextSequence());
    files.put(id, new SimFile(id, file.purpose(), file.filename(), file.bytes(), file.createdMs()));
    return id;
  }

  private SimFile file(RoutingContext ctx) {
    SimFile file = files.get(ctx.pathParam("id"));
    if (file == null) {
      routes.error(ctx.response(), 404, OpenAiErrors.body("No such File object: " + ctx.pathParam("id"),
          "invalid_request_error", "id", null));
    }
    return file;
  }

  private void getFile(RoutingContext ctx, String key) {
    SimFile file = file(ctx);
    if (file != null) {
      json(ctx, 200, file.toJson());
    }
  }

  private void fileContent(RoutingContext ctx, String key) {
    SimFile file = file(ctx);
    if (file != null) {
      ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/octet-stream").end(Buffer.buffer(file.bytes()));
    }
  }

  private void deleteFile(RoutingContext ctx, String key) {
    SimFile file = file(ctx);
    if (file != null) {
      files.remove(file.id());
      json(ctx, 200, new JsonObject().put("id", file.id()).put("object", "file").put("deleted", true));
    }
  }

  // ------------------------------------------------------------------ OpenAI Batches

  private void createBatch(RoutingContext ctx, String key) {
    JsonObject body;
    try {
      body = new JsonObject(ProviderRoutes.bodyText(ctx));
    } catch (DecodeException e) {
      invalid(ctx, "We could not parse the JSON body of your request.", null);
      return;
    }
    String inputFileId = body.getValue("input_file_id") instanceof String s ? s : null;
    Object endpoint = body.getValue("endpoint");
    SimFile input = inputFileId == null ? null : files.get(inputFileId);
    if (inputFileId == null) {
      invalid(ctx, "Missing required parameter: 'input_file_id'.", "input_file_id");
    } else if (input == null) {
      routes.error(ctx.response(), 404, OpenAiErrors.body("No such File object: " + inputFileId,
          "invalid_request_error", "input_file_id", null));
    } else if (!"batch".equals(input.purpose())) {
      invalid(ctx, "The input file must be uploaded with purpose 'batch', was '" + input.purpose() + "'.",
          "input_file_id");
    } else if (!(endpoint instanceof String e) || !OPENAI_ENDPOINTS.contains(e)) {
      invalid(ctx, "Invalid value for 'endpoint': " + endpoint + ". The simulator serves "
          + new java.util.TreeSet<>(OPENAI_ENDPOINTS) + ".", "endpoint");
    } else if (!"24h".equals(body.getValue("completion_window"))) {
      invalid(ctx, "Invalid value for 'completion_window': " + body.getValue("completion_window")
          + ". Supported values are: '24h'.", "completion_window");
    } else {
      String id = "batch_sim" + routes.idBase(routes.nextSequence());
      OpenAiBatch batch = new OpenAiBatch(id, e, inputFileId, body.getValue("metadata"), plan.nowMs(),
          plan.behaviourFor(key));
      batches.put(id, batch);
      synchronized (batchOrder) {
        batchOrder.add(id);
      }
      DefaultBatchPlan.Limits limits = plan.limits();
      vertx.executeBlocking(() -> {
        readInput(batch, e, input.bytes(), key, limits);
        return null;
      }, false).onFailure(failure -> batch.read(plan.nowMs(), null, List.of(), new JsonArray()
          .add(batchError("server_error", "The simulator failed to read the input file: " + failure, null, null))));
      json(ctx, 200, batch.toJson(plan.nowMs(), this::store));
    }
  }

  /** Validates the input file's lines and, when all are valid, answers each of them. Runs on a worker thread. */
  private void readInput(OpenAiBatch batch, String endpoint, byte[] bytes, String key,
      DefaultBatchPlan.Limits limits) {
    JsonArray errors = new JsonArray();
    if (bytes.length > limits.openAiMaxFileBytes()) {
      errors.add(batchError("file_too_large", "The input file is " + bytes.length + " bytes; a batch input file may"
          + " be at most " + limits.openAiMaxFileBytes() + " bytes.", null, null));
      batch.read(plan.nowMs(), null, List.of(), errors);
      return;
    }
    String[] raw = new String(bytes, StandardCharsets.UTF_8).split("\n", -1);
    int count = raw.length > 0 && raw[raw.length - 1].isBlank() ? raw.length - 1 : raw.length;
    if (count == 0) {
      errors.add(batchError("empty_file", "The input file is empty.", null, null));
    } else if (count > limits.openAiMaxRequests()) {
      errors.add(batchError("request_limit_exceeded", "The input file has " + count + " requests; a batch may hold"
          + " at most " + limits.openAiMaxRequests() + ".", null, null));
    }
    List<JsonObject> parsed = new ArrayList<>(count);
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < count && errors.size() < 1000; i++) {
      int lineNo = i + 1;
      JsonObject line;
      try {
        line = new JsonObject(raw[i].strip());
      } catch (DecodeException | ClassCastException e) {
        errors.add(batchError("invalid_json_line", "This line is not parseable as valid JSON.", null, lineNo));
        continue;
      }
      String customId = line.getValue("custom_id") instanceof String s && !s.isEmpty() ? s : null;
      if (customId == null) {
        errors.add(batchError("missing_required_parameter", "Missing required parameter: 'custom_id'.", "custom_id",
            lineNo));
      } else if (!ids.add(customId)) {
        errors.add(batchError("duplicate_custom_id", "The custom_id for this request is a duplicate of another"
            + " request. The custom_id parameter must be unique for each request in a batch.", "custom_id", lineNo));
      }
      if (!"POST".equals(line.getValue("method"))) {
        errors.add(batchError("invalid_value", "Invalid value for 'method': " + line.getValue("method")
            + ". Only POST is supported.", "method", lineNo));
      }
      if (!endpoint.equals(line.getValue("url"))) {
        errors.add(batchError("mismatched_endpoint", "The URL provided for this request (" + line.getValue("url")
            + ") does not match the batch endpoint " + endpoint + ".", "url", lineNo));
      }
      if (!(line.getValue("body") instanceof JsonObject)) {
        errors.add(batchError("missing_required_parameter", "Missing required parameter: 'body' (a JSON object).",
            "body", lineNo));
      }
      parsed.add(line);
    }
    if (!errors.isEmpty()) {
      batch.read(plan.nowMs(), null, List.of(), errors);
      return;
    }
    boolean embeddings = endpoint.equals("/v1/embeddings");
    List<BatchLine> answered = new ArrayList<>(count);
    String model = null;
    for (int i = 0; i < parsed.size(); i++) {
      JsonObject line = parsed.get(i);
      JsonObject body = line.getJsonObject("body");
      model = model != null ? model : body.getValue("model") instanceof String m ? m : routes.options().models().get(0);
      String customId = line.getString("custom_id");
      answered.add(embeddings ? embed(batch.requestId(i), customId, body.encode(), key)
          : chat(batch.requestId(i), customId, body.encode(), key));
    }
    batch.read(plan.nowMs(), model, answered, null);
  }

  private static JsonObject batchError(String code, String message, String param, Integer line) {
    return new JsonObject().put("code", code).put("message", message).put("param", param).put("line", line);
  }

  /** One chat completions line, answered as a non-streamed live call. */
  private BatchLine chat(String lineId, String customId, String body, String key) {
    long seq = routes.nextSequence();
    ProviderRoutes.Prepared prepared;
    try {
      prepared = routes.prepare(ProviderRoutes.Api.CHAT, body, routes.options().models().get(0), key);
    } catch (InvalidRequestException e) {
      return BatchLine.failed(customId, outputLine(lineId, customId, 400, seq,
          OpenAiErrors.body(e.getMessage(), "invalid_request_error", e.param(), e.code())));
    }
    ResponsePlan responsePlan = ResponsePlan.of(prepared.applied(), routes.options());
    if (responsePlan.ending() == ResponsePlan.Ending.STATUS) {
      Fault f = responsePlan.endingFault();
      return BatchLine.failed(customId, outputLine(lineId, customId, f.statusCode(), seq,
          OpenAiErrors.body(OpenAiErrors.forStatus(f.statusCode(), f.isQuota(), prepared.chat().model()))));
    }
    String idBase = routes.idBase(seq);
    Answer answer = AnswerBuilder.build(prepared.chat(), responsePlan, routes.options().defaultCompletionTokens(),
        prepared.reasoningModel(), idBase);
    String completion = ProviderRoutes.encoder(ProviderRoutes.Api.CHAT, prepared, idBase, plan.nowMs(),
        responsePlan).completion(answer);
    Usage u = answer.usage();
    return new BatchLine(customId, true, outputLine(lineId, customId, 200, seq, completion), u.promptTokens(),
        u.cachedTokens(), u.completionTokens(), u.reasoningTokens());
  }

  /** One embeddings line, answered as a live call. */
  private BatchLine embed(String lineId, String customId, String body, String key) {
    long seq = routes.nextSequence();
    EmbeddingsRequest request;
    List<Fault> applied;
    try {
      request = EmbeddingsRequest.parse(body, routes.options().models().get(0));
      applied = routes.faults().resolve(key, request.text(), request::text);
    } catch (InvalidRequestException e) {
      return BatchLine.failed(customId, outputLine(lineId, customId, 400, seq,
          OpenAiErrors.body(e.getMessage(), "invalid_request_error", e.param(), e.code())));
    }
    ResponsePlan responsePlan = ResponsePlan.of(applied, routes.options());
    if (responsePlan.ending() == ResponsePlan.Ending.STATUS) {
      Fault f = responsePlan.endingFault();
      return BatchLine.failed(customId, outputLine(lineId, customId, f.statusCode(), seq,
          OpenAiErrors.body(OpenAiErrors.forStatus(f.statusCode(), f.isQuota(), request.model()))));
    }
    return new BatchLine(customId, true, outputLine(lineId, customId, 200, seq, EmbeddingsAnswer.body(request)),
        request.tokens(), 0, 0, 0);
  }

  /** {@code {"id","custom_id","response":{"status_code","request_id","body"},"error":null}}, body as given. */
  private String outputLine(String lineId, String customId, int status, long seq, String body) {
    StringBuilder sb = new StringBuilder(body.length() + 160).append("{\"id\":");
    Json.appendString(sb, lineId).append(",\"custom_id\":");
    Json.appendString(sb, customId).append(",\"response\":{\"status_code\":").append(status)
        .append(",\"request_id\":");
    Json.appendString(sb, routes.requestId(seq)).append(",\"body\":").append(body);
    return sb.append("},\"error\":null}").toString();
  }

  private OpenAiBatch batch(RoutingContext ctx) {
    OpenAiBatch batch = batches.get(ctx.pathParam("id"));
    if (batch == null) {
      routes.error(ctx.response(), 404, OpenAiErrors.body("No batch found with id '" + ctx.pathParam("id") + "'.",
          "invalid_request_error", null, null));
    }
    return batch;
  }

  private void getBatch(RoutingContext ctx, String key) {
    OpenAiBatch batch = batch(ctx);
    if (batch != null) {
      json(ctx, 200, batch.toJson(plan.nowMs(), this::store));
    }
  }

  private void cancelBatch(RoutingContext ctx, String key) {
    OpenAiBatch batch = batch(ctx);
    if (batch == null) {
      return;
    }
    String refused = batch.cancel(plan.nowMs());
    if (refused != null) {
      invalid(ctx, "Cannot cancel a batch with status '" + refused + "'.", null);
    } else {
      json(ctx, 200, batch.toJson(plan.nowMs(), this::store));
    }
  }

  private void listBatches(RoutingContext ctx, String key) {
    List<String> ids;
    synchronized (batchOrder) {
      ids = new ArrayList<>(batchOrder);
    }
    long now = plan.nowMs();
    JsonObject page = page(ctx, ids, "after", id -> batches.get(id).toJson(now, this::store));
    json(ctx, 200, page.put("object", "list"));
  }

  // ------------------------------------------------------------------ Anthropic Message Batches

  private void createMessageBatch(RoutingContext ctx, String key) {
    DefaultBatchPlan.Limits limits = plan.limits();
    readBody(ctx, limits.anthropicMaxBytes(), true).onSuccess(body -> {
      if (body == null) {
        return;
      }
      String id = "msgbatch_sim" + routes.idBase(routes.nextSequence());
      BatchBehaviour behaviour = plan.behaviourFor(key);
      vertx.executeBlocking(() -> readMessageBatch(id, body, key, limits, behaviour), false).onComplete(ar -> {
        if (ar.failed()) {
          routes.error(ctx.response(), 500, AnthropicErrors.body("api_error", "The simulator failed: " + ar.cause()));
        } else if (ar.result() instanceof String problem) {
          routes.error(ctx.response(), 400, AnthropicErrors.body("invalid_request_error", problem));
        } else {
          MessageBatch batch = (MessageBatch) ar.result();
          messageBatches.put(id, batch);
          synchronized (messageBatchOrder) {
            messageBatchOrder.add(id);
          }
          json(ctx, 200, batch.toJson(plan.nowMs(), resultsUrl(ctx, id)));
        }
      });
    });
  }

  /** The batch, answered; or the problem that rejects it (a String). Runs on a worker thread. */
  private Object readMessageBatch(String id, Buffer body, String key, DefaultBatchPlan.Limits limits,
      BatchBehaviour behaviour) {
    JsonObject json;
    try {
      json = new JsonObject(body);
    } catch (DecodeException | ClassCastException e) {
      return "There was an issue with your request body: it is not valid JSON.";
    }
    if (!(json.getValue("requests") instanceof JsonArray requests) || requests.isEmpty()) {
      return "requests: Field required (a non-empty array)";
    }
    if (requests.size() > limits.anthropicMaxRequests()) {
      return "requests: a Message Batch may hold at most " + limits.anthropicMaxRequests() + " requests, got "
          + requests.size();
    }
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < requests.size(); i++) {
      if (!(requests.getValue(i) instanceof JsonObject r)) {
        return "requests." + i + ": an object with custom_id and params is required";
      }
      if (!(r.getValue("custom_id") instanceof String cid) || !ANTHROPIC_CUSTOM_ID.matcher(cid).matches()) {
        return "requests." + i + ".custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'";
      }
      if (!ids.add(cid)) {
        return "requests." + i + ".custom_id: Duplicate custom_id '" + cid + "': each request's custom_id must be"
            + " unique within the Message Batch";
      }
      if (!(r.getValue("params") instanceof JsonObject)) {
        return "requests." + i + ".params: Field required";
      }
    }
    long now = plan.nowMs();
    List<BatchLine> lines = new ArrayList<>(requests.size());
    for (int i = 0; i < requests.size(); i++) {
      JsonObject r = requests.getJsonObject(i);
      lines.add(message(r.getString("custom_id"), r.getJsonObject("params").encode(), key, now));
    }
    return new MessageBatch(id, now, behaviour, lines);
  }

  /** One Message Batch request, answered as a non-streamed live Messages call. */
  private BatchLine message(String customId, String params, String key, long nowMs) {
    long seq = routes.nextSequence();
    StringBuilder sb = new StringBuilder(512).append("{\"custom_id\":");
    Json.appendString(sb, customId).append(",\"result\":");
    ProviderRoutes.Prepared prepared;
    try {
      prepared = routes.prepare(ProviderRoutes.Api.MESSAGES, params, routes.options().models().get(0), key);
    } catch (InvalidRequestException e) {
      return BatchLine.failed(customId, errored(sb, "invalid_request_error", e.getMessage()));
    }
    ResponsePlan responsePlan = ResponsePlan.of(prepared.applied(), routes.options());
    if (responsePlan.ending() == ResponsePlan.Ending.STATUS) {
      Fault f = responsePlan.endingFault();
      return BatchLine.failed(customId, errored(sb, AnthropicErrors.typeFor(f.statusCode(), f.isQuota()),
          OpenAiErrors.forStatus(f.statusCode(), f.isQuota(), prepared.chat().model()).message()));
    }
    String idBase = routes.idBase(seq);
    Answer answer = AnswerBuilder.build(prepared.chat(), responsePlan, routes.options().defaultCompletionTokens(),
        false, idBase);
    String message = ProviderRoutes.encoder(ProviderRoutes.Api.MESSAGES, prepared, idBase, nowMs, responsePlan)
        .completion(answer);
    Usage u = answer.usage();
    sb.append("{\"type\":\"succeeded\",\"message\":").append(message).append("}}");
    return new BatchLine(customId, true, sb.toString(), u.promptTokens(), u.cachedTokens(), u.completionTokens(),
        u.reasoningTokens());
  }

  private static String errored(StringBuilder sb, String type, String message) {
    return sb.append("{\"type\":\"errored\",\"error\":").append(AnthropicErrors.body(type, message)).append("}}")
        .toString();
  }

  private MessageBatch messageBatch(RoutingContext ctx) {
    MessageBatch batch = messageBatches.get(ctx.pathParam("id"));
    if (batch == null) {
      routes.error(ctx.response(), 404, AnthropicErrors.body("not_found_error",
          "Message Batch " + ctx.pathParam("id") + " not found."));
    }
    return batch;
  }

  private void getMessageBatch(RoutingContext ctx, String key) {
    MessageBatch batch = messageBatch(ctx);
    if (batch != null) {
      json(ctx, 200, batch.toJson(plan.nowMs(), resultsUrl(ctx, batch.id)));
    }
  }

  private void cancelMessageBatch(RoutingContext ctx, String key) {
    MessageBatch batch = messageBatch(ctx);
    if (batch == null) {
      return;
    }
    if (!batch.cancel(plan.nowMs())) {
      routes.error(ctx.response(), 400, AnthropicErrors.body("invalid_request_error",
          "Message Batch " + batch.id + " has already ended and cannot be canceled."));
    } else {
      json(ctx, 200, batch.toJson(plan.nowMs(), resultsUrl(ctx, batch.id)));
    }
  }

  private void messageBatchResults(RoutingContext ctx, String key) {
    MessageBatch batch = messageBatch(ctx);
    if (batch == null) {
      return;
    }
    String results = batch.results(plan.nowMs());
    if (results == null) {
      routes.error(ctx.response(), 400, AnthropicErrors.body("invalid_request_error",
          "Message Batch " + batch.id + " has not yet ended; its results are available once processing_status is"
              + " ended."));
    } else {
      ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/x-jsonl").end(results);
    }
  }

  private void listMessageBatches(RoutingContext ctx, String key) {
    List<String> ids;
    synchronized (messageBatchOrder) {
      ids = new ArrayList<>(messageBatchOrder);
    }
    long now = plan.nowMs();
    json(ctx, 200, page(ctx, ids, "after_id", id -> messageBatches.get(id).toJson(now, resultsUrl(ctx, id))));
  }

  /** {@code <origin>/v1/messages/batches/<id>/results}, the origin being the one the client called. */
  private static String resultsUrl(RoutingContext ctx, String id) {
    String uri = ctx.request().absoluteURI();
    int v1 = uri.indexOf("/v1/");
    return uri.substring(0, v1) + MESSAGE_BATCHES + "/" + id + "/results";
  }

  // ------------------------------------------------------------------ shared

  /**
   * A page of a list, newest first: {@code data}, {@code first_id}, {@code last_id}, {@code has_more}; {@code limit}
   * (1..100, default 20) and the cursor parameter {@code after} (OpenAI) or {@code after_id} (Anthropic).
   */
  private static JsonObject page(RoutingContext ctx, List<String> oldestFirst, String cursor,
      java.util.function.Function<String, JsonObject> render) {
    int limit = 20;
    String raw = ctx.request().getParam("limit");
    if (raw != null) {
      try {
        limit = Math.max(1, Math.min(100, Integer.parseInt(raw)));
      } catch (NumberFormatException e) {
        limit = 20;
      }
    }
    List<String> newest = new ArrayList<>(oldestFirst);
    java.util.Collections.reverse(newest);
    String after = ctx.request().getParam(cursor);
    int from = after == null ? 0 : newest.indexOf(after) + 1;
    JsonArray data = new JsonArray();
    int to = Math.min(newest.size(), from + limit);
    for (int i = from; i < to; i++) {
      data.add(render.apply(newest.get(i)));
    }
    return new JsonObject().put("data", data).put("first_id", data.isEmpty() ? null : newest.get(from))
        .put("last_id", data.isEmpty() ? null : newest.get(to - 1)).put("has_more", to < newest.size());
  }

  /**
   * The whole body of a request whose body the router's body handler skipped; null (after answering 413) when it
   * is larger than {@code limit}.
   */
  private Future<Buffer> readBody(RoutingContext ctx, long limit, boolean anthropic) {
    HttpServerRequest request = ctx.request();
    String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
    long declared = -1;
    try {
      declared = length == null ? -1 : Long.parseLong(length.strip());
    } catch (NumberFormatException e) {
      declared = -1;
    }
    if (declared > limit) {
      // answered at once; the rest of the body is read and dropped, so the connection stays usable
      request.handler(chunk -> { }).resume();
      tooLarge(ctx.response(), limit, anthropic);
      return Future.succeededFuture(null);
    }
    return request.body().map(body -> {
      if (body.length() > limit) {
        tooLarge(ctx.response(), limit, anthropic);
        return null;
      }
      return body;
    });
  }

  private void tooLarge(HttpServerResponse response, long limit, boolean anthropic) {
    String message = "Request body too large: at most " + limit + " bytes are accepted here.";
    routes.error(response, 413, anthropic ? AnthropicErrors.body("request_too_large", message)
        : OpenAiErrors.body(message, "invalid_request_error", null, "request_too_large"));
  }

  private void invalid(RoutingContext ctx, String message, String param) {
    routes.error(ctx.response(), 400, OpenAiErrors.body(message, "invalid_request_error", param, null));
  }

  private static void json(RoutingContext ctx, int status, JsonObject body) {
    ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(body.encode());
  }
}
