package io.promptfleet.dispatcher.batch;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.BatchProtocol;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.KeySettings;
import io.promptfleet.common.config.ModelSettings;
import io.promptfleet.common.config.ProviderSettings;
import io.promptfleet.common.config.RouteBatchSettings;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.JobError;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.RetryRequest;
import io.promptfleet.common.job.Route;
import io.promptfleet.common.upstream.AnthropicBodies;
import io.promptfleet.common.upstream.UnsupportedJobException;
import io.promptfleet.dispatcher.capacity.TokenLimits;
import io.promptfleet.dispatcher.intake.BatchDiversion;
import io.promptfleet.dispatcher.intake.Inbound;
import io.promptfleet.dispatcher.intake.Pending;
import io.promptfleet.dispatcher.status.DispatcherMetrics;
import io.promptfleet.dispatcher.status.StatusSnapshot;
import io.promptfleet.dispatcher.transaction.Outbound;
import io.promptfleet.dispatcher.transaction.RecordSink;
import java.net.http.HttpClient;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The batcher: the dispatcher's owner of provider batches. Admission offers it every fresh job ({@link #divert}); it
 * takes a job that allows batching ({@code "batch": "allow"}), whose first route has a {@code batch} block and a key
 * with a secret, whose kind that route's batch API batches ({@link BatchApi#endpoint}) and whose fields it can
 * express, whose deadline is at least the route's {@code min_slack_ms} away and
 * whose tokens fit the route's {@code max_enqueued_tokens}; every other job is queued live at once, as before.
 *
 * <p>A taken job joins its route's collecting batch of its endpoint: its member record (the whole job) is written to the batch
 * topic in the round's transaction together with the job record's offset, so the job is never lost and never taken
 * twice. A batch closes when it reaches the route's request or byte limit or its {@code window_ms} passed, and is
 * submitted ({@link BatchApi#create} on the batcher thread, {@link BatchCalls}) once every member record is committed; the provider's batch id is
 * recorded as soon as the create returns. A submitted batch is polled with jittered backoff ({@link PollBackoff});
 * when it ends, each result line becomes its job's reply ({@link BatchAnswers}) written with the member's
 * tombstone in one transaction, so a job is answered once; jobs the batch never ran go live through the retry topic
 * (a retry record and the member's tombstone in one transaction). A batch whose unanswered jobs' earliest deadline
 * is closer than {@code dispatcher.batch.deadline_margin_ms} is cancelled at the provider and its jobs go live; a
 * cancel of a member answers it {@code cancelled} at once and drops its later line.
 *
 * <p>One owner: the active dispatcher (the one that holds every job partition and whose transactional producer
 * fences its predecessors) owns every batch. A dispatcher taking over reads the batch topic to its end
 * ({@link #restore}, {@link #restored}) and polls the submitted batches; a batch recorded only as collecting is
 * looked up at the provider ({@link BatchApi#find}) before it is submitted, so it is never created twice.
 *
 * <p>Not thread-safe: owned by the dispatcher thread; its provider calls run on the batcher thread.
 */
public final class Batcher implements BatchDiversion, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Batcher.class);
  /** Records one round writes at most (results are three each); the rest go in the next rounds. */
  static final int MAX_RECORDS_PER_ROUND = 3_000;
  private static final long SWEEP_EVERY_MS = 200;
  /** Submissions failing this often in a row give up: the batch's jobs run live. */
  private static final int MAX_SUBMIT_FAILURES = 5;
  /** The reason code of a job its batch did not answer, on its way to a live run. */
  static final String BATCH_NOT_ANSWERED = "batch_not_answered";

  /** A route's batching, as configured and resolved at start. */
  private record RouteBatch(String group, RouteSettings route, RouteBatchSettings settings, String keyId,
      BatchApi api, Route live, Route priced) {}

  /** A batch this dispatcher owns: its record and members, and where its provider calls are. */
  private static final class OpenBatch {
    BatchRecords.Batch record;
    final RouteBatch route;
    final Map<String, BatchRecords.Member> members = new LinkedHashMap<>();
    final Map<String, byte[]> lines = new LinkedHashMap<>();
    long bytes;
    boolean closed;
    /** A predecessor may have created it without recording that: look it up before creating it. */
    boolean lookFirst;
    boolean callInFlight;
    int polls;
    int failures;
    long nextCallAtMs;
    /** Member records written in a transaction not committed yet: the batch is not submitted before they are. */
    int uncommitted;

    OpenBatch(BatchRecords.Batch record, RouteBatch route) {
      this.record = record;
      this.route = route;
      this.bytes = route.api() == null ? 0 : route.api().envelopeBytes();
    }
  }

  /**
   * Records for one transaction: a member joining (its job record's offset with it; undone when the transaction
   * aborts, since the record is read again) or a change no record would bring back (kept across an abort).
   */
  private record Step(List<Outbound> records, TopicPartition tp, long offset, OpenBatch joined, String jobId) {}

  private final FleetConfig config;
  private final String topic;
  private final long marginMs;
  private final PollBackoff backoff;
  private final BatchCalls calls;
  private final DispatcherMetrics metrics;
  private final Map<String, RouteBatch> routes = new HashMap<>();
  private final Map<String, OpenBatch> batches = new LinkedHashMap<>();
  /** The collecting batch of each model and endpoint ({@link #collectingKey}). */
  private final Map<String, OpenBatch> collecting = new HashMap<>();
  private final Map<String, Long> enqueuedTokens = new HashMap<>();
  /** Batches given up while their create was under way: if the create still succeeds, the batch is cancelled. */
  private final Map<String, BatchApi> abandoned = new HashMap<>();
  private final Deque<Step> staged = new ArrayDeque<>();
  private final List<Step> written = new ArrayList<>();
  /** Restored records of the batch topic, by key, until {@link #restored}. */
  private final Map<String, byte[]> restoring = new LinkedHashMap<>();
  private long epoch;
  private long lastSweepMs;
  private volatile StatusSnapshot.Batches counts = StatusSnapshot.Batches.NONE;
  /** Live price minus batch price of what batches answered since start; dispatcher thread only. */
  private double savings;

  public Batcher(FleetConfig config, DispatcherMetrics metrics) {
    this.config = config;
    this.metrics = metrics;
    this.topic = config.topics().batches();
    var s = config.dispatcher().batch();
    this.marginMs = s.deadlineMarginMs();
    this.backoff = new PollBackoff(s.pollInitialMs(), s.pollMaxMs(), () -> ThreadLocalRandom.current().nextDouble());
    this.calls = new BatchCalls();
    // HTTP/1.1: a plain-http provider (a local server, the simulator) rarely takes the h2c upgrade of a POST
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10)).build();
    config.models().forEach((group, model) -> serve(group, model, http));
    metrics.gauge(DispatcherMetrics.Spec.BATCH_JOBS_WAITING, () -> counts.waiting());
    metrics.gauge(DispatcherMetrics.Spec.BATCHES, () -> counts.collecting(), "collecting");
    metrics.gauge(DispatcherMetrics.Spec.BATCHES, () -> counts.submitted(), "submitted");
    metrics.gauge(DispatcherMetrics.Spec.BATCH_TOKENS_ENQUEUED, () -> counts.tokensEnqueued());
  }

  /** The first route of each model that has a batch block the batcher serves, with a key whose secret is here. */
  private void serve(String group, ModelSettings model, HttpClient http) {
    if (model.routes().isEmpty() || model.routes().get(0).batch() == null) {
      return;
    }
    RouteSettings route = model.routes().get(0);
    RouteBatchSettings b = route.batch();
    ProviderSettings provider = config.providers().get(route.provider());
    for (Map.Entry<String, KeySettings> k : new java.util.TreeMap<>(config.keys()).entrySet()) {
      KeySettings key = k.getValue();
      boolean ofRoute = route.keys() == null || route.keys().isEmpty() ? route.provider().equals(key.provider())
          : route.keys().contains(k.getKey());
      if (!ofRoute || key.tenant() != null) {
        continue;
      }
      var secret = key.resolveSecret();
      if (secret.isEmpty()) {
        continue;
      }
      Map<String, String> headers = new HashMap<>();
      provider.headers().forEach((name, h) -> headers.put(name, h.resolve("providers." + route.provider()
          + ".headers." + name, System.getenv())));
      Route live = route.toRoute(route.model() == null ? group : route.model());
      Route priced = new Route(live.name(), live.provider(), live.model(), b.priceInputPerMtok(),
          b.priceOutputPerMtok(), null, Boolean.FALSE, null, live.maxTokensField(), live.defaultMaxTokens(), null);
      BatchApi api = b.protocol() == BatchProtocol.ANTHROPIC
          ? new AnthropicBatchClient(http, provider.baseUrl(), secret.get(), provider.apiVersion() == null
              ? AnthropicBodies.DEFAULT_VERSION : provider.apiVersion(), headers)
          : new OpenAiBatchClient(http, provider.baseUrl(), secret.get(), headers);
      routes.put(group, new RouteBatch(group, route, b, k.getKey(), api, live, priced));
      LOG.info("models.{}: jobs allowing it go through {}'s {} batch API with key {} (min slack {} ms, window {} ms)",
          group, route.name(), b.protocol().wireName(), k.getKey(), b.minSlackMs(), b.windowMs());
      return;
    }
    LOG.warn("models.{}.routes[0].batch: no shared key of {} has its secret here; its jobs run live", group,
        route.name());
  }

  // ------------------------------------------------------------------ taking jobs in

  @Override
  public boolean divert(Pending p, long nowMs) {
    Job job = p.dispatch().job();
    if (!job.batchAllowed() || p.dispatch().attempt() != 1 || job.tenant() != null) {
      return false;
    }
    RouteBatch rb = routes.get(p.group());
    String endpoint = rb == null ? null : rb.api().endpoint(job);
    if (endpoint == null || !rb.route().equals(p.dispatch().routes().get(0))) {
      return false;
    }
    RouteBatchSettings s = rb.settings();
    if (p.dispatch().deadline().toEpochMilli() - nowMs < s.minSlackMs()) {
      metrics.batchJobs("live_deadline");
      return false;
    }
    long tokens = p.prompt().forRoute(rb.route()) + TokenLimits.reserved(job, rb.route());
    long enqueued = enqueuedTokens.getOrDefault(p.group(), 0L);
    if (s.maxEnqueuedTokens() != null && enqueued + tokens > s.maxEnqueuedTokens()) {
      metrics.batchJobs("live_enqueued_tokens");
      return false;
    }
    OpenBatch b = collecting.get(collectingKey(p.group(), endpoint));
    BatchRecords.Member probe = new BatchRecords.Member("", job, p.priority(), p.dispatch().enqueuedAt(),
        p.dispatch().deadline(), tokens);
    byte[] line;
    try {
      line = rb.api().line(probe, endpoint, rb.route(), rb.keyId());
    } catch (UnsupportedJobException e) {
      metrics.batchJobs("live_unsupported"); // the live attempt fails it with the same message
      return false;
    }
    if (line.length + rb.api().envelopeBytes() > s.maxFileBytes()) {
      metrics.batchJobs("live_too_large");
      return false;
    }
    int maxRequests = BatchLines.EMBEDDINGS_URL.equals(endpoint) ? s.maxEmbeddingsPerFile() : s.maxRequestsPerFile();
    if (b != null && (b.members.size() >= maxRequests || b.bytes + line.length > s.maxFileBytes()
        || b.members.containsKey(job.jobId()))) {
      close(b);
      b = null;
    }
    if (b == null) {
      b = open(rb, endpoint, nowMs);
    }
    BatchRecords.Member m = new BatchRecords.Member(b.record.batchKey(), job, p.priority(),
        p.dispatch().enqueuedAt(), p.dispatch().deadline(), tokens);
    join(b, m, line);
    b.uncommitted++;
    staged.add(new Step(List.of(new Outbound(topic, BatchRecords.memberKey(b.record.batchKey(), job.jobId()),
        BatchRecords.bytes(m), null)), p.tp(), p.offset(), b, job.jobId()));
    metrics.batchJobs("batched");
    if (b.members.size() >= maxRequests) {
      close(b);
    }
    return true;
  }

  private OpenBatch open(RouteBatch rb, String endpoint, long nowMs) {
    String key = rb.group() + "-" + Long.toString(nowMs, 36) + "-"
        + Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
    BatchRecords.Batch record = new BatchRecords.Batch(key, rb.route().name(), rb.group(), rb.keyId(),
        BatchRecords.State.COLLECTING, Instant.ofEpochMilli(nowMs), null, null, null, endpoint);
    OpenBatch b = new OpenBatch(record, rb);
    batches.put(key, b);
    collecting.put(collectingKey(rb.group(), endpoint), b);
    staged.add(new Step(List.of(batchRecord(record)), null, -1, null, null));
    return b;
  }

  private void join(OpenBatch b, BatchRecords.Member m, byte[] line) {
    b.members.put(m.job().jobId(), m);
    b.lines.put(m.job().jobId(), line);
    b.bytes += line.length;
    enqueuedTokens.merge(b.route.group(), m.tokens(), Long::sum);
  }

  /** Takes the member out (answered, gone live, or its joining undone); true when it was there. */
  private boolean leave(OpenBatch b, String jobId) {
    BatchRecords.Member m = b.members.remove(jobId);
    if (m == null) {
      return false;
    }
    byte[] line = b.lines.remove(jobId);
    b.bytes -= line == null ? 0 : line.length;
    enqueuedTokens.merge(b.route.group(), -m.tokens(), Long::sum);
    return true;
  }

  private void close(OpenBatch b) {
    b.closed = true;
    collecting.remove(collectingKey(b.route.group(), b.record.endpointOrChat()), b);
  }

  /** Jobs of one model share a batch when their requests target one endpoint (chat or embeddings). */
  private static String collectingKey(String group, String endpoint) {
    return group + " " + endpoint;
  }

  // ------------------------------------------------------------------ each round

  /**
   * After the round's records: answers of provider calls are applied, cancels and deadlines checked (every 200 ms,
   * at once after a cancel), due batches submitted and polled.
   *
   * @param cancelled   whether a job id was cancelled
   * @param cancelsDue  a cancel came this round
   */
  public void settle(long nowMs, Predicate<String> cancelled, boolean cancelsDue) {
    for (BatchCalls.Event e : calls.drain()) {
      if (e.epoch() == epoch) {
        OpenBatch b = batches.get(e.batchKey());
        BatchApi gaveUp = abandoned.remove(e.batchKey());
        if (b != null) {
          b.callInFlight = false;
          apply(b, e, nowMs);
        } else if (gaveUp != null && e instanceof BatchCalls.Submitted s) {
          LOG.info("batch {} was created as {} after its jobs went live: cancelling it", s.batchKey(),
              s.providerBatchId());
          calls.cancel(gaveUp, s.batchKey(), s.providerBatchId());
        }
      }
    }
    if (cancelsDue || nowMs - lastSweepMs >= SWEEP_EVERY_MS) {
      lastSweepMs = nowMs;
      sweep(nowMs, cancelled);
    }
    for (OpenBatch b : List.copyOf(batches.values())) {
      if (b.callInFlight || nowMs < b.nextCallAtMs) {
        continue;
      }
      if (b.record.state() == BatchRecords.State.COLLECTING) {
        if (!b.closed && nowMs - b.record.openedAt().toEpochMilli() >= b.route.settings().windowMs()) {
          close(b);
        }
        if (b.closed && b.members.isEmpty()) {
          end(b);
        } else if (b.closed && b.uncommitted == 0) {
          b.callInFlight = true;
          calls.submit(epoch, b.route.api(), b.record, List.copyOf(b.lines.values()), b.lookFirst, knownIds());
        }
      } else {
        b.callInFlight = true;
        calls.poll(epoch, b.route.api(), b.record.batchKey(), b.record.providerBatchId());
      }
    }
    updateCounts();
  }

  private void apply(OpenBatch b, BatchCalls.Event e, long nowMs) {
    if (e instanceof BatchCalls.Submitted s) {
      b.record = b.record.submitted(s.providerBatchId(), s.inputFileId(), s.createdAt());
      b.lines.clear(); // uploaded: only their sizes mattered since
      b.polls = 0;
      b.failures = 0;
      b.nextCallAtMs = nowMs + backoff.delayMs(0);
      staged.add(new Step(List.of(batchRecord(b.record)), null, -1, null, null));
      metrics.batchSubmitted(b.route.group());
      LOG.info("batch {} of {} submitted as {}: {} jobs", b.record.batchKey(), b.record.route(),
          s.providerBatchId(), b.members.size());
    } else if (e instanceof BatchCalls.Running) {
      b.polls++;
      b.nextCallAtMs = nowMs + backoff.delayMs(b.polls);
    } else if (e instanceof BatchCalls.Failed f) {
      if (f.submitting() && (!f.retriable() || ++b.failures >= MAX_SUBMIT_FAILURES)) {
        LOG.warn("batch {} of {}: submission gave up ({}); its {} jobs run live", b.record.batchKey(),
            b.record.route(), f.message(), b.members.size());
        goLive(b, "the batch could not be submitted: " + f.message(), nowMs);
        end(b);
      } else {
        LOG.info("batch {}: {}; trying again", b.record.batchKey(), f.message());
        b.nextCallAtMs = nowMs + backoff.delayMs(f.submitting() ? b.failures : ++b.polls);
      }
    } else if (e instanceof BatchCalls.Ended x) {
      ended(b, x, nowMs);
    }
  }

  /** The batch ended at the provider: each line answers its member; members without an answer go live. */
  private void ended(OpenBatch b, BatchCalls.Ended x, long nowMs) {
    Instant now = Instant.ofEpochMilli(nowMs);
    int answered = 0;
    int failed = 0;
    int dropped = 0;
    BatchApi api = b.route.api();
    Map<String, BatchRecords.Member> byCustomId = new HashMap<>();
    for (BatchRecords.Member m : b.members.values()) {
      byCustomId.put(api.customId(m.job().jobId()), m);
    }
    for (JsonNode line : x.lines()) {
      BatchRecords.Member m = byCustomId.remove(line.path("custom_id").asText());
      if (m == null) {
        dropped++; // cancelled, or gone live, since: its answer is not the job's any more
        continue;
      }
      String jobId = m.job().jobId();
      BatchAnswers.Outcome o = api.answer(line, m, b.route.priced(), now);
      if (o instanceof BatchAnswers.Answered a) {
        leave(b, jobId);
        String reply = m.job().replyTo();
        List<Outbound> records = new ArrayList<>(3);
        if (a.chunk() != null) {
          records.add(new Outbound(reply, jobId, Json.bytes(a.chunk()), null));
        }
        records.add(new Outbound(reply, jobId, Json.bytes(a.result()), null));
        records.add(tombstone(m));
        staged.add(new Step(records, null, -1, null, null));
        answered++;
        double saved = savings(b.route, a.result());
        savings += saved;
        metrics.batchAnswered("succeeded", saved);
      } else if (o instanceof BatchAnswers.Failed f) {
        leave(b, jobId);
        staged.add(new Step(List.of(new Outbound(m.job().replyTo(), jobId, Json.bytes(f.result()), null),
            tombstone(m)), null, -1, null, null));
        failed++;
        metrics.batchAnswered("failed", 0);
      }
    }
    int live = b.members.size();
    LOG.info("batch {} of {} ({}) {}: {} answered, {} failed, {} run live, {} lines dropped{}", b.record.batchKey(),
        b.record.route(), b.record.providerBatchId(), x.status(), answered, failed, live, dropped,
        x.detail().isEmpty() ? "" : "; errors: " + x.detail());
    goLive(b, "the provider batch " + b.record.providerBatchId() + " ended " + x.status()
        + " without answering this job" + (x.detail().isEmpty() ? "" : ": " + x.detail()), nowMs);
    end(b);
  }

  /** Cancelled members are answered at once; a batch too close to its members' deadlines goes live. */
  private void sweep(long nowMs, Predicate<String> cancelled) {
    for (OpenBatch b : List.copyOf(batches.values())) {
      long earliest = Long.MAX_VALUE;
      for (BatchRecords.Member m : List.copyOf(b.members.values())) {
        if (cancelled.test(m.job().jobId())) {
          leave(b, m.job().jobId());
          staged.add(new Step(List.of(new Outbound(m.job().replyTo(), m.job().jobId(), Json.bytes(Result.terminal(
              m.job().jobId(), JobStatus.CANCELLED, new JobError(ErrorCodes.CANCELLED,
                  "cancelled while it waited in a provider batch", false), m.job().metadata(), 0)), null),
              tombstone(m)), null, -1, null, null));
          metrics.batchAnswered("cancelled", 0);
        } else {
          earliest = Math.min(earliest, m.deadline().toEpochMilli());
        }
      }
      boolean submitted = b.record.state() == BatchRecords.State.SUBMITTED;
      if (b.members.isEmpty() && b.uncommitted == 0 && submitted) {
        calls.cancel(b.route.api(), b.record.batchKey(), b.record.providerBatchId());
        end(b);
      } else if (!b.members.isEmpty() && nowMs >= earliest - marginMs) {
        LOG.warn("batch {} of {} ({}) has not ended {} ms before its earliest deadline: cancelling it, its {} jobs "
            + "run live", b.record.batchKey(), b.record.route(), b.record.providerBatchId(), marginMs,
            b.members.size());
        if (submitted) {
          calls.cancel(b.route.api(), b.record.batchKey(), b.record.providerBatchId());
        }
        goLive(b, "the batch had not ended dispatcher.batch.deadline_margin_ms (" + marginMs
            + " ms) before the job's deadline", nowMs);
        metrics.batchCutOff(b.route.group());
        end(b);
      }
    }
  }

  /** Every member left goes to the retry topic for a live run (its record's tombstone in the same transaction). */
  private void goLive(OpenBatch b, String why, long nowMs) {
    for (BatchRecords.Member m : List.copyOf(b.members.values())) {
      leave(b, m.job().jobId());
      staged.add(liveStep(m, b.route.live(), b.route.keyId(), why, nowMs));
    }
  }

  /** A retry record that runs the member live as its attempt 2, and its member record's tombstone. */
  private Step liveStep(BatchRecords.Member m, Route live, String keyId, String why, long nowMs) {
    Job job = m.job();
    Assignment a = new Assignment("batch-" + m.batchKey(), job, 1, m.priority(), live, keyId, m.enqueuedAt(),
        Instant.ofEpochMilli(nowMs), m.deadline(), job.replyTo());
    RetryRequest retry = new RetryRequest(a, 2, null, new JobError(BATCH_NOT_ANSWERED, why, true));
    metrics.batchAnswered("live", 0);
    return new Step(List.of(new Outbound(config.topics().jobsRetry(), job.jobId(), Json.bytes(retry), null),
        tombstone(m)), null, -1, null, null);
  }

  /** The batch is done with: forgotten, and its record's tombstone written after its members'. */
  private void end(OpenBatch b) {
    close(b);
    batches.remove(b.record.batchKey());
    if (b.callInFlight && b.record.state() == BatchRecords.State.COLLECTING && b.route.api() != null) {
      abandoned.put(b.record.batchKey(), b.route.api());
    }
    if (!b.members.isEmpty()) {
      throw new IllegalStateException("batch " + b.record.batchKey() + " ended with members left");
    }
    staged.add(new Step(List.of(new Outbound(topic, BatchRecords.batchKey(b.record.batchKey()), null, null)), null,
        -1, null, null));
  }

  private static double savings(RouteBatch rb, Result r) {
    Double live = rb.live().cost(r.usage());
    return live == null || r.cost() == null ? 0 : live - r.cost();
  }

  private Outbound tombstone(BatchRecords.Member m) {
    return new Outbound(topic, BatchRecords.memberKey(m.batchKey(), m.job().jobId()), null, null);
  }

  private Outbound batchRecord(BatchRecords.Batch record) {
    return new Outbound(topic, BatchRecords.batchKey(record.batchKey()), BatchRecords.bytes(record), null);
  }

  private void updateCounts() {
    long waiting = 0;
    long open = 0;
    long submitted = 0;
    for (OpenBatch b : batches.values()) {
      waiting += b.members.size();
      if (b.record.state() == BatchRecords.State.SUBMITTED) {
        submitted++;
      } else {
        open++;
      }
    }
    long tokens = enqueuedTokens.values().stream().mapToLong(Long::longValue).sum();
    counts = new StatusSnapshot.Batches(waiting, open, submitted, tokens, savings);
  }

  /** The batches' line of the status snapshot (at most one round old); any thread. */
  public StatusSnapshot.Batches status() {
    return counts;
  }

  // ------------------------------------------------------------------ the round's transaction

  /** Whether records wait for a transaction. */
  public boolean hasWork() {
    return !staged.isEmpty();
  }

  /**
   * Writes staged records into the round's transaction, at most {@value #MAX_RECORDS_PER_ROUND}; a joining member's
   * job record offset is handed to {@code done} (committed with it).
   */
  public void write(RecordSink sink, java.util.function.BiConsumer<TopicPartition, Long> done) {
    int n = 0;
    while (!staged.isEmpty() && n < MAX_RECORDS_PER_ROUND) {
      Step s = staged.poll();
      sink.begin();
      for (Outbound o : s.records()) {
        sink.send(o);
      }
      if (s.tp() != null) {
        done.accept(s.tp(), s.offset());
      }
      written.add(s);
      n += s.records().size();
    }
  }

  /** The round's transaction committed. */
  public void committed() {
    for (Step s : written) {
      if (s.joined() != null) {
        s.joined().uncommitted--;
      }
    }
    written.clear();
  }

  /**
   * The round's transaction aborted: members that joined from job records (written or still staged) leave again,
   * since their records are read again; every other record is written in the next transaction.
   */
  public void aborted() {
    List<Step> all = new ArrayList<>(written);
    all.addAll(staged);
    written.clear();
    staged.clear();
    for (Step s : all) {
      if (s.tp() == null) {
        staged.add(s);
      } else {
        s.joined().uncommitted--;
        leave(s.joined(), s.jobId());
      }
    }
  }

  /** Partitions were revoked: members that joined from their records and are not committed leave again. */
  public void revoked(Collection<TopicPartition> partitions) {
    staged.removeIf(s -> {
      if (s.tp() != null && partitions.contains(s.tp())) {
        s.joined().uncommitted--;
        leave(s.joined(), s.jobId());
        return true;
      }
      return false;
    });
  }

  // ------------------------------------------------------------------ terms

  /** Standing by: every batch is forgotten (the next active dispatcher reads them back); answers in flight too. */
  public void standBy() {
    epoch++;
    batches.clear();
    collecting.clear();
    enqueuedTokens.clear();
    staged.clear();
    written.clear();
    restoring.clear();
    abandoned.clear();
    updateCounts();
  }

  /** The topic this batcher keeps its state in (read back by {@link #restore} at a takeover). */
  public String topic() {
    return topic;
  }

  /** A record of the batch topic, read back from its start at a takeover, in offset order. */
  public void restore(Inbound r) {
    if (r.value() == null) {
      restoring.remove(r.key());
    } else {
      restoring.put(r.key(), r.value());
    }
  }

  /**
   * The batch topic was read to its end: its open batches are this dispatcher's now. Submitted ones are polled at
   * once; collecting ones are closed and looked up at the provider before they are submitted; a member whose batch
   * or route is gone runs live. Returns the batches restored.
   */
  public int restored(long nowMs) {
    epoch++;
    Map<String, List<BatchRecords.Member>> members = new HashMap<>();
    List<BatchRecords.Batch> found = new ArrayList<>();
    for (Map.Entry<String, byte[]> e : restoring.entrySet()) {
      try {
        if (e.getKey().startsWith(BatchRecords.BATCH_PREFIX)) {
          found.add(BatchRecords.batch(e.getValue()));
        } else if (e.getKey().startsWith(BatchRecords.MEMBER_PREFIX)) {
          BatchRecords.Member m = BatchRecords.member(e.getValue());
          members.computeIfAbsent(m.batchKey(), k -> new ArrayList<>()).add(m);
        }
      } catch (RuntimeException ex) {
        LOG.error("unreadable record {} in {}: skipped ({})", e.getKey(), topic, ex.toString());
      }
    }
    restoring.clear();
    for (BatchRecords.Batch record : found) {
      RouteBatch rb = routes.get(record.group());
      List<BatchRecords.Member> ms = members.remove(record.batchKey());
      OpenBatch b = new OpenBatch(record, rb != null ? rb : orphanRoute(record));
      batches.put(record.batchKey(), b);
      b.closed = true;
      b.lookFirst = record.state() == BatchRecords.State.COLLECTING;
      for (BatchRecords.Member m : ms == null ? List.<BatchRecords.Member>of() : ms) {
        join(b, m, record.state() == BatchRecords.State.COLLECTING && rb != null
            ? rb.api().line(m, record.endpointOrChat(), rb.route(), rb.keyId()) : new byte[0]);
      }
      if (rb == null) {
        LOG.warn("batch {}: model {} has no batching any more; its {} jobs run live", record.batchKey(),
            record.group(), b.members.size());
        goLive(b, "the model's route no longer batches", nowMs);
        end(b);
      }
    }
    for (List<BatchRecords.Member> orphans : members.values()) {
      for (BatchRecords.Member m : orphans) {
        LOG.warn("member {} of batch {} without its batch record: runs live", m.job().jobId(), m.batchKey());
        ModelSettings model = config.models().get(m.job().model());
        RouteSettings route = model == null || model.routes().isEmpty() ? null : model.routes().get(0);
        Route live = route == null ? new Route("none", "", m.job().model(), null, null)
            : route.toRoute(route.model() == null ? m.job().model() : route.model());
        staged.add(liveStep(m, live, "", "its batch record was lost", nowMs));
      }
    }
    updateCounts();
    return batches.size();
  }

  /** A stand-in for a batch whose model no longer batches: its members go live on the route they were on. */
  private RouteBatch orphanRoute(BatchRecords.Batch record) {
    ModelSettings model = config.models().get(record.group());
    RouteSettings route = model == null || model.routes().isEmpty() ? null : model.routes().get(0);
    Route live = route == null ? new Route(record.route(), "", record.route(), null, null)
        : route.toRoute(route.model() == null ? record.group() : route.model());
    return new RouteBatch(record.group(), route, null, record.keyId(), null, live, live);
  }

  /** The provider ids of the batches recorded as submitted (a lookup after a crash must not take one of them). */
  private Set<String> knownIds() {
    Set<String> ids = new HashSet<>();
    for (OpenBatch b : batches.values()) {
      if (b.record.providerBatchId() != null) {
        ids.add(b.record.providerBatchId());
      }
    }
    return ids;
  }

  @Override
  public void close() {
    calls.close();
  }
}
