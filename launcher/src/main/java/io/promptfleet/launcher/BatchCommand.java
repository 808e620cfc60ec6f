package io.promptfleet.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.client.JobRequest;
import io.promptfleet.client.PromptFleetClient;
import io.promptfleet.common.codec.JobParser;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.AssistantMessage;
import io.promptfleet.common.job.Embedding;
import io.promptfleet.common.job.Endpoint;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Result;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code promptfleet batch input.jsonl -o output.jsonl}: runs an OpenAI Batch API input file through the fleet and
 * writes the OpenAI batch output format. Re-running with the same output file resumes: lines already answered
 * are not sent again and the lines sent keep their job ids ({@link ResumePoint}), whenever the run was interrupted:
 * the run key is on disk before the first job is produced ({@link RunKeyFile}). Running it to a new output file runs
 * every line again (new job ids).
 * Memory stays bounded: at most {@code --window} lines are in flight.
 */
@Command(name = "batch", mixinStandardHelpOptions = true,
    description = "Run an OpenAI Batch API .jsonl file through the fleet; re-running with the same output resumes, "
        + "a new output runs the file again.")
final class BatchCommand implements Callable<Integer> {
  @Parameters(index = "0", description = "input .jsonl: {custom_id, method, url, body} per line")
  Path input;

  @Option(names = {"-o", "--output"}, required = true, description = "output .jsonl (appended; resumable: its run key is kept in "
      + "OUTPUT.run until every line is written)")
  Path output;

  @Option(names = {"-b", "--bootstrap"}, defaultValue = "127.0.0.1:9092", description = "Kafka (default ${DEFAULT-VALUE})")
  String bootstrap;

  @Option(names = "--reply-to", defaultValue = "llm.replies", description = "reply topic (default ${DEFAULT-VALUE})")
  String replyTo;

  /** How far before the output's last write a resumed run reads replies back. */
  private static final Duration RESUME_READ_BACK = Duration.ofMinutes(2);

  @Option(names = "--jobs-prefix", defaultValue = "llm.jobs.",
      description = "job topics are PREFIX + high|normal|low (default ${DEFAULT-VALUE})")
  String jobsPrefix;

  @Option(names = "--priority", defaultValue = "low", description = "high, normal or low (default low)")
  String priority;

  @Option(names = "--window", defaultValue = "2000", description = "lines in flight at most (default 2000)")
  int window;

  @Option(names = "--timeout", defaultValue = "30m", description = "give up on the batch after (default 30m)")
  String timeout;

  @Option(names = "--resume-wait", description = "a resumed run that gets no answer for this long stops and says "
      + "why: lines the interrupted run had sent are answered only by that run's jobs (default 5m; with "
      + "--provider-batch, whose answers take hours, the --timeout)")
  String resumeWait;

  @Option(names = "--provider-batch", description = "mark every line \"batch\": \"allow\": the fleet may send it "
      + "through the provider's batch API (about half the price, answers within the provider's window) when the "
      + "model's route has a batch block and the line's deadline (--ttl) leaves the route's min_slack_ms")
  boolean providerBatch;

  @Option(names = "--ttl", description = "each line's deadline, from when Kafka accepts it (e.g. 26h; default: the "
      + "dispatcher's default_job_ttl_ms)")
  String ttl;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Main.quietKafkaClientLogs();
    if (window < 1) {
      throw new IllegalArgumentException("--window must be >= 1");
    }
    if (!Files.isReadable(input)) {
      throw new IllegalArgumentException("cannot read " + input);
    }
    Priority prio = Priority.valueOf(priority.toUpperCase(Locale.ROOT));
    Duration lineTtl = ttl == null ? null : Durations.parse(ttl); // a bad value stops the run before any line
    ResumePoint resume = ResumePoint.of(output, input);
    ResumeStall stall = new ResumeStall(resume.resumed(), resumeWait != null ? resumeWait
        : providerBatch ? timeout : "5m", System.nanoTime()); // a bad value stops the run before any line
    Set<String> answered = resume.answered();
    String runKey = resume.runKey();
    long totalLines;
    try (var lines = Files.lines(input, StandardCharsets.UTF_8)) {
      totalLines = lines.filter(l -> !l.isBlank()).count();
    }
    PrintWriter err = spec.commandLine().getErr();
    BatchProgress progress = new BatchProgress(totalLines, answered.size(), System.console() != null, err);
    if (resume.resumed()) {
      err.println("resuming the run of " + output + ": " + answered.size() + " lines already answered");
    }
    RunKeyFile keyFile = new RunKeyFile(output);
    Semaphore inFlight = new Semaphore(window);
    Set<String> seen = new HashSet<>();
    long deadline = System.nanoTime() + Durations.parse(timeout).toNanos();
    Set<String> unanswered = ConcurrentHashMap.newKeySet();
    Instant readFrom = resume.resumed() ? Files.getLastModifiedTime(output).toInstant().minus(RESUME_READ_BACK) : null;
    try (PromptFleetClient client = client(readFrom, runKey);
         BufferedWriter out = Files.newBufferedWriter(output, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
             StandardOpenOption.APPEND);
         BufferedReader in = Files.newBufferedReader(input, StandardCharsets.UTF_8)) {
      keyFile.write(runKey, input); // the output exists now; the key is on disk before the first job is produced
      Writer writer = new Writer(out, progress, stall);
      String line;
      long lineNo = 0;
      while ((line = in.readLine()) != null) {
        lineNo++;
        if (line.isBlank()) {
          continue;
        }
        Parsed p = parse(line, lineNo);
        String outputId = p.customId != null ? p.customId : "line-" + lineNo;
        if (p.customId != null && !seen.add(p.customId)) {
          outputId = p.customId + "#line" + lineNo;
          if (!answered.contains(outputId)) {
            writer.write(errorLine(jobId(runKey, outputId), outputId, "duplicate_custom_id",
                "custom_id " + p.customId + " appears more than once (line " + lineNo + ")"), false);
          }
          continue;
        }
        if (answered.contains(outputId)) {
          continue;
        }
        if (p.error != null) {
          writer.write(errorLine(jobId(runKey, outputId), outputId, "invalid_request", p.error), false);
          continue;
        }
        String customId = p.customId;
        List<String> forbidden = forbiddenFields(p.body);
        if (!forbidden.isEmpty()) {
          writer.write(errorLine(jobId(runKey, outputId), outputId, ErrorCodes.FIELD_NOT_ALLOWED,
              forbiddenMessage(forbidden)), false);
          continue;
        }
        JobRequest request;
        try {
          request = job(runKey, customId, p.endpoint, p.body, prio, providerBatch, lineTtl);
        } catch (RuntimeException e) {
          writer.write(errorLine(jobId(runKey, outputId), outputId, "invalid_request", e.getMessage()), false);
          continue;
        }
        if (!inFlight.tryAcquire()) {
          do { // the progress shows only while the run waits: every line read so far is then done or in flight
            progress.maybePrint();
            if (System.nanoTime() > deadline) {
              throw new IllegalStateException("batch timed out; re-run the same command to resume");
            }
            stopIfStalled(stall, unanswered, readFrom);
          } while (!inFlight.tryAcquire(200, TimeUnit.MILLISECONDS));
        }
        progress.sent();
        String jobId = request.jobId();
        unanswered.add(customId);
        client.submit(request).whenComplete((res, e) -> {
          try {
            if (e instanceof CancellationException) {
              return; // the run is stopping: the line stays unanswered, for the next run
            }
            writer.answer(e != null ? errorLine(jobId, customId, "submit_failed", e.toString())
                : resultLine(customId, res), e == null && res.status() == JobStatus.SUCCEEDED);
          } finally {
            unanswered.remove(customId);
            inFlight.release();
          }
        });
      }
      while (inFlight.availablePermits() < window) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("batch timed out with " + inFlight(window, inFlight)
              + " lines unanswered; re-run the same command to resume");
        }
        stopIfStalled(stall, unanswered, readFrom);
        progress.maybePrint();
        Thread.sleep(100);
      }
      progress.finish();
      keyFile.completed(output);
      return progress.failed() == 0 ? 0 : 1;
    }
  }

  /**
   * The client of this run. A resumed run ({@code readFrom}: shortly before the output was last written) reads the
   * replies back from then and keeps the results of its run's jobs: a job of the interrupted run that was answered
   * after its last line was written is produced again, the fleet does not run it twice (idempotent job ids), and
   * its first result is the one this run writes.
   */
  private PromptFleetClient client(Instant readFrom, String runKey) {
    PromptFleetClient.Builder b = PromptFleetClient.builder(bootstrap).replyTopic(replyTo).jobTopicPrefix(jobsPrefix);
    if (readFrom != null) {
      String prefix = jobId(runKey, "");
      b.readFrom(readFrom).keepUnclaimedResults(id -> id.startsWith(prefix));
    }
    return b.build();
  }

  /** Stops a resumed run that gets no answer ({@link ResumeStall}), saying why. */
  private void stopIfStalled(ResumeStall stall, Set<String> unanswered, Instant readFrom) {
    if (stall.stalled(System.nanoTime(), unanswered.size())) {
      throw new IllegalStateException(stall.message(Set.copyOf(unanswered), replyTo, readFrom));
    }
  }

  private static int inFlight(int window, Semaphore s) {
    return window - s.availablePermits();
  }

  private record Parsed(String customId, Endpoint endpoint, ObjectNode body, String error) {
    Parsed(String customId, String error) {
      this(customId, null, null, error);
    }
  }

  private static Parsed parse(String line, long lineNo) {
    JsonNode n;
    try {
      n = Json.mapper().readTree(line);
    } catch (IOException e) {
      return new Parsed(null, "line " + lineNo + " is not JSON");
    }
    if (n == null || !n.isObject()) {
      return new Parsed(null, "line " + lineNo + " is not a JSON object");
    }
    JsonNode cid = n.get("custom_id");
    String customId = cid != null && cid.isTextual() && !cid.asText().isBlank() ? cid.asText() : null;
    if (customId == null) {
      return new Parsed(null, "line " + lineNo + ": custom_id is missing");
    }
    String method = n.path("method").asText("POST");
    if (!method.equalsIgnoreCase("POST")) {
      return new Parsed(customId, "method must be POST");
    }
    String url = n.path("url").asText("/v1/chat/completions");
    Endpoint endpoint = Endpoint.ofPath(url.startsWith("/v1/") ? url : "/v1" + url);
    if (endpoint == null) {
      return new Parsed(customId, "url " + url + " is not supported: one of " + Endpoint.paths());
    }
    JsonNode body = n.get("body");
    if (body == null || !body.isObject()) {
      return new Parsed(customId, "body must be an object");
    }
    if (!body.hasNonNull("model")) {
      return new Parsed(customId, "body.model is missing");
    }
    if (endpoint == Endpoint.EMBEDDINGS) {
      if (!body.hasNonNull("input")) {
        return new Parsed(customId, "body.input is missing");
      }
    } else if (!body.has("messages") || !body.get("messages").isArray() || body.get("messages").isEmpty()) {
      return new Parsed(customId, "body.messages must be a non-empty array");
    }
    return new Parsed(customId, endpoint, (ObjectNode) body, null);
  }

  /**
   * The job of one input line: every field of its {@code body} is passed on as given (model, messages, tools,
   * response_format, max_completion_tokens, reasoning_effort, metadata, provider extensions, ...) except
   * {@code stream}: the fleet always streams to the reply topic and the batch writes whole answers, so the line's
   * {@code stream} is dropped (the fleet would reject {@code stream: false}). A {@code /v1/embeddings} line becomes
   * an embeddings job of its {@code input}, with every other field of its body (dimensions, encoding_format, user,
   * ...) as given.
   */
  static JobRequest job(String runKey, String customId, Endpoint endpoint, ObjectNode body, Priority prio) {
    return job(runKey, customId, endpoint, body, prio, false, null);
  }

  /**
   * As {@link #job(String, String, Endpoint, ObjectNode, Priority)}; with {@code providerBatch} the job carries
   * {@code "batch": "allow"}, and with {@code ttl} its
   * {@code ttl_ms}.
   */
  static JobRequest job(String runKey, String customId, Endpoint endpoint, ObjectNode body, Priority prio,
      boolean providerBatch, Duration ttl) {
    boolean embeddings = endpoint == Endpoint.EMBEDDINGS;
    String own = embeddings ? "input" : "messages";
    JobRequest.Builder job = (embeddings ? JobRequest.embeddings(body.get("input"))
        : JobRequest.messages(body.get("messages"))).jobId(jobId(runKey, customId)).priority(prio);
    body.fields().forEachRemaining(e -> {
      if (!e.getKey().equals(own) && !(e.getKey().equals("stream") && !embeddings)) {
        job.param(e.getKey(), e.getValue());
      }
    });
    if (providerBatch) {
      job.param("batch", "allow");
    }
    if (ttl != null) {
      job.ttl(ttl);
    }
    return job.build();
  }

  /**
   * The job id of a line: its run's key ({@link ResumePoint}: new for a fresh run, the same for a resumed one, so
   * a resumed run finds its jobs) and its custom_id, at most 256 characters.
   */
  static String jobId(String runKey, String customId) {
    String id = "batch-" + runKey + "-" + customId;
    if (id.length() <= 200) {
      return id;
    }
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      return "batch-" + runKey + "-h" + HexFormat.of().formatHex(md.digest(customId.getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Fields of a body the fleet never passes to a provider (keys, endpoints, headers), sorted. */
  static List<String> forbiddenFields(ObjectNode body) {
    List<String> found = new ArrayList<>();
    body.fieldNames().forEachRemaining(f -> {
      if (JobParser.FORBIDDEN.contains(f)) {
        found.add(f);
      }
    });
    found.sort(null);
    return found;
  }

  static String forbiddenMessage(List<String> fields) {
    return "body." + String.join(", body.", fields) + (fields.size() == 1 ? " is" : " are")
        + " not allowed: keys, endpoints and headers are configured in the fleet";
  }

  static String resultLine(String customId, Result r) {
    return resultLine(customId, r, System.currentTimeMillis() / 1000);
  }

  /**
   * One line of OpenAI's batch output format. A succeeded result becomes a {@code chat.completion} body whose
   * {@code choices[0].message} is the result's whole message: content, refusal, tool_calls, function_call, other
   * fields the provider sent (audio, annotations, ...) and {@code reasoning} (not an OpenAI field: the reasoning
   * text of providers that stream one, kept under the fleet's name); {@code choices[0].logprobs} when the job asked
   * for them; usage with its details; system_fingerprint and service_tier when the provider sent them; the
   * provider's completion id. A succeeded embeddings result becomes OpenAI's embeddings {@code list} body: its
   * vectors as the provider sent them, model and usage. Any other status becomes an {@code error} with the result's
   * code and message.
   */
  static String resultLine(String customId, Result r, long createdEpochSeconds) {
    ObjectNode o = Json.mapper().createObjectNode();
    o.put("id", "batch_req_" + r.jobId());
    o.put("custom_id", customId);
    if (r.status() == JobStatus.SUCCEEDED && r.data() != null) {
      ObjectNode resp = o.putObject("response");
      resp.put("status_code", 200);
      resp.put("request_id", r.jobId());
      resp.set("body", embeddingsBody(r));
      o.putNull("error");
    } else if (r.status() == JobStatus.SUCCEEDED) {
      ObjectNode resp = o.putObject("response");
      resp.put("status_code", 200);
      resp.put("request_id", r.jobId());
      ObjectNode body = resp.putObject("body");
      body.put("id", r.completionId() != null ? r.completionId() : "chatcmpl-" + r.jobId());
      body.put("object", "chat.completion");
      body.put("created", createdEpochSeconds);
      body.put("model", r.model());
      ObjectNode choice = body.putArray("choices").addObject();
      choice.put("index", 0);
      choice.set("message", message(r));
      choice.set("logprobs", r.logprobs() != null ? r.logprobs() : NullNode.getInstance());
      choice.put("finish_reason", r.finishReason());
      if (r.usage() != null) {
        body.set("usage", Json.mapper().valueToTree(r.usage()));
      }
      if (r.serviceTier() != null) {
        body.put("service_tier", r.serviceTier());
      }
      if (r.systemFingerprint() != null) {
        body.put("system_fingerprint", r.systemFingerprint());
      }
      o.putNull("error");
    } else {
      o.putNull("response");
      ObjectNode err = o.putObject("error");
      err.put("code", r.error() != null ? r.error().code() : r.status().wireName());
      err.put("message", r.status().wireName() + (r.error() != null ? ": " + r.error().message() : ""));
    }
    return Json.string(o);
  }

  /** OpenAI's embeddings answer of a result: {@code {"object":"list","data":[...],"model","usage"}}. */
  private static ObjectNode embeddingsBody(Result r) {
    ObjectNode body = Json.mapper().createObjectNode();
    body.put("object", "list");
    var data = body.putArray("data");
    for (Embedding e : r.data()) {
      data.addObject().put("object", "embedding").put("index", e.index()).set("embedding", e.embedding());
    }
    body.put("model", r.model());
    ObjectNode usage = body.putObject("usage");
    usage.put("prompt_tokens", r.usage() == null ? 0 : r.usage().promptTokens());
    usage.put("total_tokens", r.usage() == null ? 0 : r.usage().totalTokens());
    return body;
  }

  /** The result's message in OpenAI's order: role, content and refusal always (null when none), then the rest. */
  private static ObjectNode message(Result r) {
    ObjectNode m = Json.mapper().createObjectNode();
    m.put("role", "assistant");
    AssistantMessage msg = r.message();
    if (msg == null) {
      m.put("content", r.content());
      m.putNull("refusal");
      return m;
    }
    m.put("content", msg.content());
    m.put("refusal", msg.refusal());
    Json.mapper().<ObjectNode>valueToTree(msg).fields().forEachRemaining(e -> {
      if (!m.has(e.getKey())) {
        m.set(e.getKey(), e.getValue());
      }
    });
    return m;
  }

  /** An output line with an error; its {@code id} carries the line's job id, as a result line's does. */
  static String errorLine(String jobId, String customId, String code, String message) {
    ObjectNode o = Json.mapper().createObjectNode();
    o.put("id", "batch_req_" + jobId);
    o.put("custom_id", customId);
    o.putNull("response");
    o.putObject("error").put("code", code).put("message", message);
    return Json.string(o);
  }

  /** Appends output lines; called from the client's reply thread and the main thread. */
  private static final class Writer {
    private final BufferedWriter out;
    private final BatchProgress progress;
    private final ResumeStall stall;

    Writer(BufferedWriter out, BatchProgress progress, ResumeStall stall) {
      this.out = out;
      this.progress = progress;
      this.stall = stall;
    }

    /** The line of a line that was never sent (an error found before). */
    synchronized void write(String line, boolean ok) {
      append(line);
      progress.done(ok);
    }

    /** The line of a sent line: its answer, or why it has none. */
    synchronized void answer(String line, boolean ok) {
      append(line);
      progress.answered(ok);
    }

    private void append(String line) {
      try {
        out.write(line);
        out.newLine();
        out.flush();
      } catch (IOException e) {
        throw new IllegalStateException("cannot write the output file: " + e.getMessage(), e);
      }
      stall.answered(System.nanoTime());
    }
  }
}
