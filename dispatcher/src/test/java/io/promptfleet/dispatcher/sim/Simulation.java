package io.promptfleet.dispatcher.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.CancelRecords;
import io.promptfleet.common.codec.JobParser;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.config.TopicSettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.DeadLetterHeaders;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.JobError;
import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.common.job.RetryRequest;
import io.promptfleet.common.job.Usage;
import io.promptfleet.common.kafka.TopicAdmin;
import io.promptfleet.dispatcher.capacity.TokenEstimator;
import io.promptfleet.dispatcher.capacity.TokenLimits;
import io.promptfleet.dispatcher.intake.Inbound;
import io.promptfleet.dispatcher.JobPartitions;
import io.promptfleet.dispatcher.spill.SpillTopics;
import io.promptfleet.dispatcher.schedule.LaneTopics;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import io.promptfleet.dispatcher.sim.SimKafka.Rec;
import io.promptfleet.dispatcher.testing.Fixtures;
import io.promptfleet.dispatcher.testing.ManualClock;
import io.promptfleet.dispatcher.transaction.Outbound;
import io.promptfleet.dispatcher.transaction.RecordSink;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * A fleet around one dispatcher core, on a manual clock: producers, an in-memory Kafka ({@link SimKafka}), workers
 * that end their assignments as a {@link Step} says, the share group's redelivery and archiving, and the loop
 * owner's rounds exactly as {@code Dispatcher} plays them (poll jobs, activate if needed, feedback, jobs, settle,
 * write, commit or abort and rewind). It keeps a model of what happened — every job, every record it caused,
 * every committed assignment (a lease) and how it ended — from which {@link Invariants} judges the core after every
 * step.
 *
 * <p>Modelled: four job topics of two partitions (keyed by job id), and with {@link SimTenants} each tenant's three
 * (its jobs are produced there: the topic establishes the tenant), with the dispatcher group's committed offsets,
 * polls of at most {@value #POLL_PER_PARTITION} records per partition, pause and resume by lane, all, or one
 * partition into one set of paused partitions, as a KafkaConsumer keeps it; the assignments
 * topic (a committed assignment runs on a worker at once; with successors on, as {@link SuccessorWorkers} says), the
 * fleet events, the cancels and the assignments'
 * dead-letter queue, each one partition, read from the end when a term starts and live after; reply topics (one
 * created {@value #LATE_TOPIC_AFTER_MS} ms into the run, one never) behind a topic listing on the simulation's clock
 * ({@link FakeTopicCatalog}); the dead-letter topic; transactions whose records and offsets appear together when
 * they commit and never when they abort; the takeover read-back by timestamp over rebuild_lookback_ms.
 *
 * <p>Not modelled: several partitions of the feedback topics (their order across partitions), a commit that fails
 * but committed (an ambiguous commitTransaction timeout), revocation of some partitions only, a worker that writes
 * its terminal record and then dies before acknowledging (the share group runs it again: a documented limit),
 * x-ratelimit-* budgets, heartbeats and status, the wall clock (only {@code ROUND_MS} passes per round).
 *
 * <p>Deterministic: the same steps give the same run (the core's random numbers come from a fixed seed).
 * Not thread-safe.
 */
final class Simulation {
  /**
   * Two providers, shared keys and keys of tenant acme (one per provider, so a retry of an acme job that avoids its
   * last key has no other key of acme's on that route), three models with fallback chains; small windows and limits
   * so that keys are full most of the time. Chat's first route overflows (a busy p sends chat jobs to q); pinned
   * keeps the default fallback policy (a busy p2 keeps pinned jobs waiting; they go to q1 only when p2 is cooling,
   * disabled or its route open).
   */
  static final String YAML = """
      providers:
        p: {base_url: "http://127.0.0.1:1/v1"}
        q: {base_url: "http://127.0.0.1:2/v1"}
      keys:
        p1: {provider: p, secret_env: PF_SIM, max_concurrency: 2, requests_per_minute: 36, tokens_per_minute: 9000}
        p2: {provider: p, secret_env: PF_SIM, max_concurrency: 1, requests_per_minute: 60, tokens_per_minute: 6000}
        q1: {provider: q, secret_env: PF_SIM, max_concurrency: 2, requests_per_minute: 48, tokens_per_minute: 12000}
        pa: {provider: p, secret_env: PF_SIM, max_concurrency: 1, requests_per_minute: 30, tokens_per_minute: 6000,
             tenant: acme}
        qa: {provider: q, secret_env: PF_SIM, max_concurrency: 1, requests_per_minute: 30, tokens_per_minute: 6000,
             tenant: acme}
      models:
        chat:
          routes:
            - {provider: p, model: big, default_max_tokens: 300, max_tokens_cap: 1500, overflow: true,
               price_input_per_mtok: 2.0, price_output_per_mtok: 8.0}
            - {provider: q, model: big-q, default_max_tokens: 200, max_tokens_cap: 800, price_input_per_mtok: 1.0,
               price_output_per_mtok: 4.0}
        mini:
          routes:
            - {provider: q, model: mini, default_max_tokens: 100, max_tokens_field: max_completion_tokens,
               price_input_per_mtok: 0.5, price_output_per_mtok: 2.0}
        pinned:
          routes:
            - {provider: p, model: pinned, keys: [p2]}
            - {provider: q, model: pinned-q, keys: [q1]}
      dispatcher:
        max_buffered_jobs: 16
        rate_window_ms: 10000
        lease_grace_ms: 20000
        default_job_ttl_ms: 600000
        cooldown_default_ms: 1000
        cooldown_cap_ms: 15000
        key_disabled_ms: 60000
        max_cancelled_ids: 1000
        priority: {aging_ms: 5000}
        retry: {base_ms: 200, cap_ms: 4000, max_attempts: 3}
      """;
  static final TopicSettings T = Fixtures.config(YAML).topics();
  static final String REPLY = T.defaultReplyTo();
  /** Created {@link #LATE_TOPIC_AFTER_MS} after the run starts. */
  static final String REPLY_LATE = REPLY + ".late";
  /** Allowed by reply_to_allow, never created. */
  static final String REPLY_MISSING = REPLY + ".missing";
  static final long LATE_TOPIC_AFTER_MS = 20_000;
  /** share.delivery.count.limit: the share group archives an assignment after this many deliveries. */
  static final int DELIVERY_LIMIT = 5;
  /** The clock moves this much with every round (a round is never instantaneous). */
  static final long ROUND_MS = 5;
  /** Job records a poll returns per partition at most (small, so rounds read partial batches). */
  static final int POLL_PER_PARTITION = 6;
  /** A round whose transaction commits. */
  static final Step.Round ROUND = new Step.Round(Step.Failure.NONE, 0);
  static final TokenEstimator TOKENS = new TokenEstimator();

  // ------------------------------------------------------------------ the model

  /** A job a producer wrote, and everything that became of it. */
  static final class JobFact {
    final String id;
    final Lane lane;
    final String model;
    final String replyTo;
    /** The tenant the fleet establishes (its topic's, or with no tenants configured the job's field), or null. */
    final String tenant;
    final boolean forbidden;
    /** Its records: the producer's (attempt 1) and the workers' retry requests, by attempt (the latest). */
    final Map<Integer, Rec> records = new LinkedHashMap<>();
    /** Every record of it, with the attempt each asks for (two of one attempt only after a known issue). */
    final Map<Rec, Integer> all = new LinkedHashMap<>();
    final long deadlineMs;
    boolean cancelled;
    /** Results on its reply topic, "status by writer at step n". */
    final List<String> results = new ArrayList<>();
    /** The results the dispatcher wrote, as written. */
    final List<JsonNode> dispatcherResults = new ArrayList<>();

    private Job parsed;

    /** The job as the dispatcher parses it (null when it rejects it). */
    Job job(FleetConfig config) {
      if (parsed == null && !forbidden) {
        var p = new JobParser(config.dispatcher().maxRecordBytes()).parse(records.get(1).value());
        parsed = p instanceof JobParser.Accepted a ? a.job() : null;
      }
      return parsed;
    }

    JobFact(String id, Lane lane, String model, String replyTo, String tenant, boolean forbidden, long deadlineMs) {
      this.id = id;
      this.lane = lane;
      this.model = model;
      this.replyTo = replyTo;
      this.tenant = tenant;
      this.forbidden = forbidden;
      this.deadlineMs = deadlineMs;
    }
  }

  /** How far a worker got with an assignment. */
  enum WorkerState { RUNNING, DONE, ARCHIVED }

  /** A committed assignment: one lease, and how it ended. */
  static final class LeaseFact {
    final Assignment a;
    final byte[] bytes;
    final JobFact job;
    final Rec from;
    final Lane lane;
    final long atMs;
    final long expiresAtMs;
    final long reservation;
    final int term;
    final int round;
    WorkerState worker = WorkerState.RUNNING;
    int deliveries = 1;
    /** Offset of its lease_released event (not handed_back) on the fleet events, or -1. */
    long releaseOffset = -1;
    /** Offset of its archived copy on the assignments' dead-letter queue, or -1. */
    long archivedOffset = -1;
    /** The usage its release reported (total tokens), or null. */
    Long usage;
    /** What its release's usage costs at its route's prices, or null (no usage, or a route without prices). */
    Double cost;
    /** Its reservation's parts: the prompt estimate on its route and the completion limit (-1: no such route). */
    long prompt = -1;
    long completion = -1;
    /** The lease a successor assignment follows (its after_lease), or null for an ordinary one. */
    final String after;
    /** Its call is at the provider now (without successors: whenever a worker runs it). */
    boolean calling = true;
    /** The worker of its current delivery (with successors). */
    String workerId;
    /** The worker on which its last call ended with an outcome (not handed back, not a crash), or null. */
    String endedOn;

    LeaseFact(Assignment a, byte[] bytes, JobFact job, Rec from, Lane lane, long expiresAtMs, long reservation,
        int term, int round) {
      this.a = a;
      this.bytes = bytes;
      this.job = job;
      this.from = from;
      this.lane = lane;
      this.atMs = a.dispatchedAt().toEpochMilli();
      this.expiresAtMs = expiresAtMs;
      this.reservation = reservation;
      this.term = term;
      this.round = round;
      this.after = a.afterLease();
    }

    String id() {
      return a.leaseId();
    }

    String key() {
      return a.keyId();
    }
  }

  /** A release event whose verdict can open its route's breaker (an upstream error or a 429). */
  record RouteFailure(String route, long offset) {}

  /** A 429 cooldown (at least {@code forMs} from {@code atMs}) or a disabled key, said by a release event. */
  record KeyEvent(String key, boolean disable, long atMs, long forMs, long offset) {}

  /** One committed round: when, and its assignments in the order written. */
  record Round(int index, long nowMs, List<LeaseFact> dispatched, Map<String, Long> readAt) {}

  final FleetConfig config;
  final KnownIssues issues;
  final SimTenants tenants;
  final ManualClock clock = new ManualClock();
  final long startMs;
  /** Which job topic feeds which lane: the shared ones and the tenants'. */
  final LaneTopics lanes;
  /** Reply topics that exist from the start: the shared default and each tenant's default. */
  final Set<String> replyTopics = new HashSet<>();
  /** Reply topics created {@link #LATE_TOPIC_AFTER_MS} into the run. */
  final Set<String> lateTopics = new HashSet<>();
  /** Reply topics allowed and never created. */
  final Set<String> missingTopics = new HashSet<>();
  final Random random;
  final SimKafka kafka = new SimKafka();
  final Map<String, JobFact> jobs = new LinkedHashMap<>();
  /** Job facts by record (topic-partition@offset), for records that carry a job. */
  final Map<String, JobFact> jobOfRecord = new HashMap<>();
  /** Job records whose copy in a spill partition is committed (their offset may pass). */
  final Set<String> spilled = new HashSet<>();
  private final SpillTopics spillTopics;
  /** Records of job topics that are not jobs at all, and unreadable feedback records: each needs one dead letter. */
  final Set<String> garbage = new HashSet<>();
  final Map<String, Integer> deadLetters = new HashMap<>();
  final Map<String, LeaseFact> leases = new LinkedHashMap<>();
  final List<KeyEvent> keyEvents = new ArrayList<>();
  final List<RouteFailure> routeFailures = new ArrayList<>();
  final Deque<String> trace = new ArrayDeque<>();
  final Invariants invariants = new Invariants(this);
  /** The workers' successor rules, with {@code dispatcher.successors} on; null without. */
  final SuccessorWorkers successors;

  CoreDriver core;
  /** Offset of the fleet events where the current core instance first read live (its breakers' history). */
  long coreFirstLiveEvent = -1;
  /** An aged dispatch of the current core's ready queues since its last stride dispatch of the high lane. */
  boolean agingDisturbed;
  boolean active;
  int term;
  int instances;
  int rounds;
  int step;
  /** Where the job consumer reads next. */
  final Map<TopicPartition, Long> position = new HashMap<>();
  /**
   * The job consumer's paused partitions: one set, as a KafkaConsumer keeps it, whether a lane, all of them, or one
   * partition (a spill partition, a tenant's while its jobs wait for budget) was paused.
   */
  final Set<TopicPartition> paused = new HashSet<>();
  /** Where the feedback consumer reads next (one partition per feedback topic). */
  final Map<String, Long> feedbackPosition = new HashMap<>();
  /** Records the current core read since it last forgot (abort, takeover), and when: for the priority check. */
  final Map<String, Long> readAt = new HashMap<>();
  private int jobSeq;
  private int cancelSeq;

  Simulation(KnownIssues issues) {
    this(issues, SimTenants.NONE);
  }

  Simulation(KnownIssues issues, SimTenants tenants) {
    this(issues, tenants, false);
  }

  /**
   * With {@code successors} the fleet runs with {@code dispatcher.successors: true} and its workers follow the
   * successor rules ({@link SuccessorWorkers}); without, as before: a committed assignment runs on a worker at once.
   */
  Simulation(KnownIssues issues, SimTenants tenants, boolean successors) {
    this.issues = issues;
    this.tenants = tenants;
    String yaml = tenants.yaml(YAML);
    if (successors) {
      if (!yaml.contains("\ndispatcher:\n")) {
        throw new IllegalStateException("no dispatcher section to turn successors on in");
      }
      yaml = yaml.replace("\ndispatcher:\n", "\ndispatcher:\n  successors: true\n");
    }
    this.config = Fixtures.config(yaml);
    this.successors = successors ? new SuccessorWorkers(this) : null;
    this.random = new Random(42);
    if (tenants.beforeMidnightMs() > 0) {
      clock.advance(86_400_000L - tenants.beforeMidnightMs());
    }
    this.startMs = clock.millis();
    this.lanes = new LaneTopics(config);
    for (String topic : lanes.topics()) {
      kafka.create(topic, 2);
    }
    replyTopics.add(REPLY);
    lateTopics.add(REPLY_LATE);
    missingTopics.add(REPLY_MISSING);
    for (var t : config.tenants().values()) {
      replyTopics.add(t.defaultReplyTo());
      lateTopics.add(t.defaultReplyTo() + ".late");
      missingTopics.add(t.defaultReplyTo() + ".missing");
    }
    this.spillTopics = new SpillTopics(T, config.models().keySet());
    for (String topic : spillTopics.topics()) {
      kafka.create(topic, SpillTopics.PARTITIONS);
    }
    for (String topic : List.of(T.assignments(), T.assignmentsDlq(), T.fleetEvents(), T.cancels(), T.deadLetters())) {
      kafka.create(topic, 1);
    }
    replyTopics.forEach(topic -> kafka.create(topic, 1));
    lateTopics.forEach(topic -> kafka.create(topic, 1));
    core = newCore();
  }

  private CoreDriver newCore() {
    coreFirstLiveEvent = -1;
    agingDisturbed = false;
    return new CoreDriver(config, clock, random::nextDouble, "sim" + instances++);
  }

  List<TopicPartition> jobPartitions() {
    List<TopicPartition> out = new ArrayList<>();
    for (String topic : lanes.topics()) {
      out.addAll(kafka.partitionsOf(topic));
    }
    for (String topic : spillTopics.topics()) {
      out.addAll(kafka.partitionsOf(topic));
    }
    return out;
  }

  boolean topicExists(String topic) {
    return replyTopics.contains(topic) || lateTopics.contains(topic) && clock.millis() >= startMs + LATE_TOPIC_AFTER_MS;
  }

  /** Every reply topic a job may name: those there from the start, the late ones, the missing ones. */
  private Set<String> allReplyTopics() {
    Set<String> all = new HashSet<>(replyTopics);
    all.addAll(lateTopics);
    all.addAll(missingTopics);
    return all;
  }

  /** A reply topic that exists from the start: a job naming it is never parked for a topic listing. */
  boolean alwaysThere(String topic) {
    return replyTopics.contains(topic);
  }

  // ------------------------------------------------------------------ steps

  /** Applies one step (an event, or a round), then checks every invariant. */
  void play(Step s) {
    step++;
    trace.addLast("#" + step + " " + s);
    if (trace.size() > 40) {
      trace.removeFirst();
    }
    if (s instanceof Step.Arrive a) {
      a.jobs().forEach(this::arrive);
    } else if (s instanceof Step.Work w) {
      work(w);
    } else if (s instanceof Step.Cancel c) {
      cancel(c);
    } else if (s instanceof Step.Tick t) {
      clock.advance(t.ms());
    } else if (s instanceof Step.Round r) {
      round(r);
    } else if (s instanceof Step.Takeover t) {
      takeover(t.sameInstance());
    } else if (s instanceof Step.Garbage g) {
      garbage(g.where());
    }
    workersAct();
    invariants.afterStep();
  }

  private void arrive(Step.JobSpec spec) {
    String id = "j" + ++jobSeq;
    long now = clock.millis();
    ObjectNode o = Json.mapper().createObjectNode();
    o.put("job_id", id);
    o.put("model", spec.model());
    ArrayNode messages = o.putArray("messages");
    messages.addObject().put("role", "user").put("content", "word ".repeat(spec.words()).trim());
    // With tenants configured, a tenant's job is produced to its own topic (the fleet establishes the tenant from
    // it) and names its tenant in the field or not; without, the field selects the tenant's keys.
    String tenant = tenantOf(spec.tenant());
    var settings = tenant == null || !tenants.any() ? null : config.tenants().get(tenant);
    String defaultReply = settings == null ? REPLY : settings.defaultReplyTo();
    String replyTo = switch (spec.reply()) {
      case DEFAULT -> defaultReply;
      case LATE_TOPIC -> settings == null ? REPLY_LATE : defaultReply + ".late";
      case MISSING_TOPIC -> settings == null ? REPLY_MISSING : defaultReply + ".missing";
    };
    if (spec.reply() != Step.Reply.DEFAULT) {
      o.put("reply_to", replyTo);
    }
    if (tenant != null && (settings == null || spec.words() % 2 == 0)) {
      o.put("tenant", tenant);
    }
    switch (spec.limit()) {
      case MAX_TOKENS -> o.put("max_tokens", spec.maxTokens());
      case MAX_COMPLETION_TOKENS -> o.put("max_completion_tokens", spec.maxTokens());
      case NONE -> { }
    }
    long deadline = now + config.dispatcher().defaultJobTtlMs();
    long within = issues.on(KnownIssues.LOOKBACK) ? spec.deadlineMs()
        : Math.min(spec.deadlineMs(), config.dispatcher().defaultJobTtlMs());
    switch (spec.deadline()) {
      case TTL -> {
        o.put("ttl_ms", within);
        deadline = now + within;
      }
      case ABSOLUTE -> {
        o.put("deadline", Instant.ofEpochMilli(now + within).toString());
        deadline = now + within;
      }
      case NONE -> { }
    }
    if (spec.forbidden()) {
      o.put("api_key", "sk-not-allowed");
    }
    String topic = settings == null ? T.jobs(spec.priority()) : settings.topics().of(spec.priority());
    Rec r = kafka.append(topic, id, Json.bytes(o), null, now);
    JobFact j = new JobFact(id, lanes.laneOf(topic), spec.model(), replyTo, tenant, spec.forbidden(), deadline);
    j.records.put(1, r);
    j.all.put(r, 1);
    jobs.put(id, j);
    jobOfRecord.put(r.where(), j);
  }

  /**
   * The tenant a job spec's tenant stands for: as written without tenants configured; with them, one of the
   * configured tenants (acme, beta, gamma and delta map onto the first n, so no job is wasted on a name not
   * configured), or null for a job of the shared topics.
   */
  private String tenantOf(String name) {
    if (name == null || !tenants.any()) {
      return name;
    }
    int i = SimTenants.NAMES.indexOf(name);
    return tenants.tenants().get(Math.floorMod(i, tenants.tenants().size())).name();
  }

  /** With successors, the workers act on what they see now ({@link SuccessorWorkers#act}). */
  private void workersAct() {
    if (successors != null) {
      successors.act();
    }
  }

  private void work(Step.Work w) {
    // an outcome of a call ends one that is at the provider; a waiting successor can only be given back or lost
    List<LeaseFact> running = SuccessorWorkers.endsCall(w.outcome()) ? calling() : running();
    if (running.isEmpty()) {
      return;
    }
    finish(running.get(Math.floorMod(w.pick(), running.size())), w.outcome(), w.percent());
  }

  List<LeaseFact> running() {
    return leases.values().stream().filter(l -> l.worker == WorkerState.RUNNING).toList();
  }

  /** The running assignments whose call is at the provider (without successors: every running one). */
  List<LeaseFact> calling() {
    return leases.values().stream().filter(l -> l.worker == WorkerState.RUNNING && l.calling).toList();
  }

  /** A worker ends one attempt: its terminal record (result or retry request), then its lease_released event. */
  void finish(LeaseFact l, Step.Outcome outcome, int percent) {
    long now = clock.millis();
    if (SuccessorWorkers.endsCall(outcome) && l.calling) {
      l.endedOn = l.workerId;
    }
    l.calling = false;
    int usage = percent;
    switch (outcome) {
      case SUCCEEDED -> {
        result(l, "succeeded");
        release(l, LeaseOutcome.SUCCEEDED, 200, null, usage, null);
      }
      case FAILED -> {
        result(l, "failed");
        release(l, LeaseOutcome.FAILED, 400, ErrorCodes.UPSTREAM_REJECTED, usage / 10, null);
      }
      case RETRY_5XX -> {
        retry(l, now, ErrorCodes.UPSTREAM_ERROR);
        release(l, LeaseOutcome.RETRY, 503, ErrorCodes.UPSTREAM_ERROR, null, null);
      }
      case RETRY_429 -> {
        Long retryAfter = percent < 20 ? null : (long) percent * 200;
        retry(l, now + (retryAfter == null ? 0 : retryAfter), ErrorCodes.UPSTREAM_RATE_LIMITED);
        release(l, LeaseOutcome.RETRY, 429, ErrorCodes.UPSTREAM_RATE_LIMITED, null, retryAfter);
      }
      case AUTH -> {
        retry(l, now, ErrorCodes.UPSTREAM_AUTH);
        release(l, LeaseOutcome.RETRY, 401, ErrorCodes.UPSTREAM_AUTH, null, null);
      }
      case QUOTA -> {
        retry(l, now, ErrorCodes.UPSTREAM_QUOTA);
        release(l, LeaseOutcome.RETRY, 429, ErrorCodes.UPSTREAM_QUOTA, null, null);
      }
      case CANCELLED -> {
        if (!l.job.cancelled) {
          finish(l, Step.Outcome.SUCCEEDED, percent);
          return;
        }
        result(l, "cancelled");
        release(l, LeaseOutcome.CANCELLED, null, ErrorCodes.CANCELLED, usage / 2, null);
      }
      case HANDED_BACK -> {
        release(l, LeaseOutcome.HANDED_BACK, null, null, null, null);
        redeliver(l);
        return;
      }
      case WORKER_CRASH -> {
        redeliver(l);
        return;
      }
      case POISON -> {
        while (l.worker == WorkerState.RUNNING) {
          redeliver(l);
        }
        return;
      }
      case RELEASE_LOST -> result(l, "succeeded");
    }
    l.worker = WorkerState.DONE;
  }

  /**
   * The worker's timer at the job's deadline: a call ends there, a waiting successor is answered without one; both
   * write a retry request (deadline_exceeded, which the dispatcher answers as expired) and release with retry.
   */
  void deadlineExceeded(LeaseFact l) {
    if (l.calling) {
      l.endedOn = l.workerId;
    }
    l.calling = false;
    retry(l, clock.millis(), ErrorCodes.DEADLINE_EXCEEDED);
    release(l, LeaseOutcome.RETRY, null, ErrorCodes.DEADLINE_EXCEEDED, null, null);
    l.worker = WorkerState.DONE;
  }

  /** A waiting successor whose job was cancelled: a cancelled result without a call, released cancelled. */
  void answerCancelledWithoutCall(LeaseFact l) {
    result(l, "cancelled");
    release(l, LeaseOutcome.CANCELLED, null, ErrorCodes.CANCELLED, null, null);
    l.worker = WorkerState.DONE;
  }

  private void result(LeaseFact l, String status) {
    l.job.results.add(status + " by worker at step " + step);
  }

  private void retry(LeaseFact l, long notBeforeMs, String code) {
    int next = l.a.attempt() + l.deliveries;
    RetryRequest rr = new RetryRequest(l.a, next, Instant.ofEpochMilli(notBeforeMs),
        new JobError(code, "simulated " + code, true));
    Rec r = kafka.append(T.jobsRetry(), l.job.id, Json.bytes(rr), null, clock.millis());
    l.job.records.put(next, r);
    l.job.all.put(r, next);
    jobOfRecord.put(r.where(), l.job);
  }

  /**
   * The worker's lease_released event; {@code percent} (null: no usage) scales what it reports as used: that share of
   * the prompt estimate and of the completion limit (a provider never counts more than the dispatcher reserved:
   * the budgets' bound assumes the prompt estimate holds).
   */
  private void release(LeaseFact l, LeaseOutcome outcome, Integer status, String code, Integer percent,
      Long retryAfter) {
    long now = clock.millis();
    Usage usage = percent == null ? null
        : new Usage(l.prompt * percent / 100, l.completion * percent / 100,
            l.prompt * percent / 100 + l.completion * percent / 100);
    FleetEvent e = FleetEvent.leaseReleased(l.a, outcome).status(status).error(code)
        .usage(usage).rateLimit(retryAfter, null)
        .timeToFirstTokenMs(100L).by("w" + Math.floorMod(l.id().hashCode(), 3), Instant.ofEpochMilli(now));
    Rec r = kafka.append(T.fleetEvents(), l.key(), Json.bytes(e), null, now);
    if (outcome == LeaseOutcome.HANDED_BACK) {
      return;
    }
    l.releaseOffset = r.offset();
    l.usage = usage == null ? null : usage.totalTokens();
    l.cost = usage == null ? null : l.a.route().cost(usage);
    if (ErrorCodes.UPSTREAM_ERROR.equals(code) || ErrorCodes.UPSTREAM_RATE_LIMITED.equals(code)) {
      routeFailures.add(new RouteFailure(l.a.route().name(), r.offset()));
    }
    var d = config.dispatcher();
    if (ErrorCodes.UPSTREAM_AUTH.equals(code) || ErrorCodes.UPSTREAM_QUOTA.equals(code)) {
      keyEvents.add(new KeyEvent(l.key(), true, now, d.keyDisabledMs(), r.offset()));
    } else if (ErrorCodes.UPSTREAM_RATE_LIMITED.equals(code)) {
      long base = Math.min(d.cooldownCapMs(), retryAfter == null ? d.cooldownDefaultMs() : retryAfter);
      keyEvents.add(new KeyEvent(l.key(), false, now, base, r.offset()));
    }
  }

  /** The share group delivers the assignment again, or archives it to its dead-letter queue at the limit. */
  private void redeliver(LeaseFact l) {
    if (l.deliveries < DELIVERY_LIMIT) {
      l.deliveries++;
      if (successors != null) {
        successors.delivered(l);
      } else {
        l.calling = true;
      }
      return;
    }
    l.calling = false;
    RecordHeaders h = new RecordHeaders();
    h.add(TopicAdmin.DLQ_HEADER_TOPIC, T.assignments().getBytes(StandardCharsets.UTF_8));
    h.add(TopicAdmin.DLQ_HEADER_PARTITION, "0".getBytes(StandardCharsets.UTF_8));
    h.add(TopicAdmin.DLQ_HEADER_OFFSET, "0".getBytes(StandardCharsets.UTF_8));
    h.add(TopicAdmin.DLQ_HEADER_DELIVERY_COUNT, Integer.toString(l.deliveries).getBytes(StandardCharsets.UTF_8));
    h.add(TopicAdmin.DLQ_HEADER_MESSAGE, "delivery count limit reached".getBytes(StandardCharsets.UTF_8));
    Rec r = kafka.append(T.assignmentsDlq(), l.job.id, l.bytes, h, clock.millis());
    l.archivedOffset = r.offset();
    l.worker = WorkerState.ARCHIVED;
  }

  private void cancel(Step.Cancel c) {
    String id;
    if (c.target() == Step.Target.UNKNOWN) {
      id = "nobody" + ++cancelSeq;
    } else {
      List<JobFact> candidates = c.target() == Step.Target.IN_FLIGHT
          ? running().stream().map(l -> l.job).distinct().toList()
          : jobs.values().stream().filter(j -> !invariants.answered(j) && !invariants.runs(j)).toList();
      if (candidates.isEmpty()) {
        return;
      }
      JobFact j = candidates.get(Math.floorMod(c.pick(), candidates.size()));
      j.cancelled = true;
      id = j.id;
    }
    kafka.append(T.cancels(), id, CancelRecords.value(id), null, clock.millis());
  }

  private void garbage(Step.Where where) {
    long now = clock.millis();
    Rec r = switch (where) {
      case JOB -> kafka.append(T.jobsNormal(), "garbage", "{not json".getBytes(StandardCharsets.UTF_8), null, now);
      case FLEET_EVENT -> kafka.append(T.fleetEvents(), "garbage", "{not json".getBytes(StandardCharsets.UTF_8),
          null, now);
      case CANCEL -> kafka.append(T.cancels(), "garbage", "{\"nope\":1}".getBytes(StandardCharsets.UTF_8), null,
          now);
    };
    garbage.add(r.where());
  }

  /** The active dispatcher goes: it died (a fresh one takes over) or it stands by (and is given the work back). */
  void takeover(boolean sameInstance) {
    if (sameInstance && active) {
      core.revoked(jobPartitions());
      core.standBy();
    } else {
      core = newCore();
    }
    active = false;
  }

  // ------------------------------------------------------------------ the loop owner

  /** One round as {@code Dispatcher.round} plays it, its transaction failing as {@code fail} says. */
  void round(Step.Round fail) {
    rounds++;
    clock.advance(ROUND_MS);
    workersAct(); // as time passes: a deadline may have passed
    if (!active) {
      forget(); // a new group member: reads from the committed offsets, nothing paused
    }
    List<Rec> polled = pollJobs();
    core.publishStatus(clock.millis(), active);
    if (!active) {
      activate();
    }
    long now = clock.millis();
    for (Rec r : pollFeedback()) {
      core.feedback(r.inbound(), now);
    }
    for (Rec r : polled) {
      core.job(r.inbound(), now);
      readAt.putIfAbsent(r.where(), now);
    }
    core.settle(now, partitions);
    dispatch(now, fail);
  }

  private List<Rec> pollJobs() {
    List<Rec> out = new ArrayList<>();
    for (TopicPartition tp : jobPartitions()) {
      if (!position.containsKey(tp)) { // read from the committed offset: the core learns what it says first
        Map<TopicPartition, OffsetAndMetadata> committed = new HashMap<>();
        committed.put(tp, kafka.committedWithMetadata(tp));
        core.readingFrom(committed);
        if (spillTopics.isSpillTopic(tp.topic())) {
          core.spillEnd(tp, kafka.end(tp)); // as the loop owner learns it when the partition is assigned
        }
        position.put(tp, kafka.committed(tp));
      }
      long from = position.get(tp);
      if (paused.contains(tp)) {
        continue;
      }
      List<Rec> log = kafka.log(tp);
      long to = Math.min(log.size(), from + POLL_PER_PARTITION);
      for (long o = from; o < to; o++) {
        out.add(log.get((int) o));
      }
      position.put(tp, to);
    }
    return out;
  }

  private List<Rec> pollFeedback() {
    List<Rec> out = new ArrayList<>();
    for (String topic : List.of(T.fleetEvents(), T.cancels(), T.assignmentsDlq())) {
      TopicPartition tp = new TopicPartition(topic, 0);
      List<Rec> log = kafka.log(tp);
      long from = feedbackPosition.getOrDefault(topic, (long) log.size());
      for (long o = from; o < log.size(); o++) {
        out.add(log.get((int) o));
      }
      feedbackPosition.put(topic, (long) log.size());
    }
    return out;
  }

  /** Becomes active: a new term, the lease table rebuilt from what Kafka holds since the lookback. */
  private void activate() {
    long now = clock.millis();
    long from = core.readFromMs(now);
    List<Inbound> assignments = kafka.readFrom(T.assignments(), from).stream().map(Rec::inbound).toList();
    List<Inbound> feedback = new ArrayList<>();
    for (String topic : List.of(T.fleetEvents(), T.cancels(), T.assignmentsDlq())) {
      kafka.readFrom(topic, from).forEach(r -> feedback.add(r.inbound()));
      feedbackPosition.put(topic, kafka.end(new TopicPartition(topic, 0)));
    }
    term++;
    FakeTopicCatalog catalog = new FakeTopicCatalog(clock::millis, this::topicExists,
        allReplyTopics());
    core.activate("t" + term + "-", catalog, assignments, feedback, now);
    active = true;
    if (coreFirstLiveEvent < 0) {
      coreFirstLiveEvent = feedbackPosition.get(T.fleetEvents());
    }
  }

  /** The round's transaction: write, then commit with the offsets, or abort and rewind. */
  private void dispatch(long now, Step.Round fail) {
    Txn txn = new Txn(fail);
    List<LeaseFact> dispatched = List.of();
    try {
      core.write(txn, now);
      if (fail.failure() == Step.Failure.CRASH_BEFORE_COMMIT) {
        core = newCore(); // fenced before its commit: the broker aborts the transaction
        active = false;
        return;
      }
      if (txn.open) {
        Map<TopicPartition, OffsetAndMetadata> commit = core.offsetsToCommit();
        if (fail.failure() != Step.Failure.NONE) {
          throw new KafkaException("simulated: the commit failed");
        }
        dispatched = apply(txn.sent, commit, now);
        core.committed(commit);
        spillCopies.forEach(c -> core.spillWritten(c.tp(), c.offset()));
      }
    } catch (KafkaException e) {
      core.aborted(now);
      // The aborted round's picks charged the lanes' passes (the ready queues keep them), unseen: as after an aged
      // pick, 5a waits for the next high stride dispatch (found with tenants, seed -3237973231546601126)
      agingDisturbed = true;
      forget(); // rewind: every partition from its committed offset, nothing paused
      return;
    }
    invariants.afterStep(); // 1-4 first: a broken lease table explains a priority violation, not the reverse
    invariants.afterRound(new Round(rounds, now, dispatched, Map.copyOf(readAt)));
  }

  /** The job consumer reads again from the committed offsets, nothing paused; the core forgot what it read. */
  private void forget() {
    invariants.forgotten();
    position.clear();
    paused.clear();
    readAt.clear();
  }

  /**
   * A committed transaction: its records become visible, its offsets committed; the model learns both. Returns the
   * assignments it wrote, in order.
   */
  private List<LeaseFact> apply(List<Outbound> sent, Map<TopicPartition, OffsetAndMetadata> commit, long now) {
    List<LeaseFact> dispatched = new ArrayList<>();
    spillCopies.clear();
    for (Outbound o : sent) {
      if (o.partition() != null) {
        spillCopies.add(copied(o));
        continue;
      }
      Rec r = kafka.append(o.topic(), o.key(), o.value(), o.headers(), now);
      if (o.topic().equals(T.assignments())) {
        dispatched.add(assigned(r));
      } else if (replyTopics.contains(o.topic()) || lateTopics.contains(o.topic())) {
        JsonNode n = read(o.value());
        JobFact j = jobs.get(n.path("job_id").asText());
        if (j == null) {
          throw invariants.violation("1", "a result for a job nobody wrote: " + n);
        }
        j.results.add(n.path("status").asText() + " by dispatcher at step " + step);
        j.dispatcherResults.add(n);
        invariants.answeredByDispatcher(j, n, o.topic(), now);
      } else if (o.topic().equals(T.fleetEvents()) && successors != null) {
        successors.written(o.value(), o.headers());
      } else if (o.topic().equals(T.deadLetters())) {
        String where = header(o, DeadLetterHeaders.TOPIC) + "-" + header(o, DeadLetterHeaders.PARTITION) + "@"
            + header(o, DeadLetterHeaders.OFFSET);
        deadLetters.merge(where, 1, Integer::sum);
      }
    }
    Map<TopicPartition, Long> before = new HashMap<>();
    commit.forEach((tp, om) -> {
      before.put(tp, kafka.committed(tp));
      kafka.commit(tp, om);
    });
    if (successors != null) {
      dispatched.forEach(successors::delivered); // a worker reads each (an ordinary one starts at once)
    }
    invariants.afterCommit(dispatched, before);
    return dispatched;
  }

  /** The lane a record feeds: its job topic's, or for a spill copy its partition's. */
  private Lane laneOf(Rec r) {
    SpillTopics.Slot slot = spillTopics.slotOf(r.tp());
    return slot != null ? slot.lane() : lanes.laneOf(r.topic());
  }

  /** Copies of the last committed round in spill partitions. */
  private final List<Rec> spillCopies = new ArrayList<>();

  /**
   * A job's copy in its spill partition: the record it copies (same job, same bytes, not copied yet) may now pass,
   * and the copy is the record its attempt waits in.
   */
  private Rec copied(Outbound o) {
    if (!spillTopics.isSpillTopic(o.topic())) {
      throw invariants.violation("1", "a record sent to partition " + o.partition() + " of " + o.topic()
          + ", which is no spill topic");
    }
    Rec copy = kafka.append(o.topic(), o.partition(), o.key(), o.value(), o.headers(), o.timestamp());
    JobFact j = jobs.get(o.key());
    Rec source = j == null ? null : j.all.keySet().stream().filter(r -> !spillTopics.isSpillTopic(r.topic())
        && !spilled.contains(r.where()) && java.util.Arrays.equals(r.value(), o.value())).findFirst().orElse(null);
    if (source == null) {
      throw invariants.violation("1", "a spill copy " + copy.where() + " of no job record waiting: key "
          + o.key());
    }
    if (!SpillTopics.sourceTopic(copy.headers(), "").equals(source.topic())) {
      throw invariants.violation("1", "the spill copy " + copy.where() + " of " + source.where()
          + " does not name its source topic");
    }
    spilled.add(source.where());
    int attempt = j.all.get(source);
    j.all.put(copy, attempt);
    j.records.put(attempt, copy);
    jobOfRecord.put(copy.where(), j);
    return copy;
  }

  private LeaseFact assigned(Rec r) {
    Assignment a = Json.read(r.value(), Assignment.class);
    JobFact j = jobs.get(a.job().jobId());
    if (j == null) {
      throw invariants.violation("1", "an assignment for a job nobody wrote: " + a.job().jobId());
    }
    Rec from = j.records.get(a.attempt());
    if (from == null) {
      throw invariants.violation("4", "assignment " + a.leaseId() + " of job " + j.id + " attempt " + a.attempt()
          + ": no record asked for that attempt (records: " + j.records.keySet() + ")");
    }
    for (LeaseFact other : leases.values()) {
      if (other.job == j && other.a.attempt() == a.attempt()) {
        throw invariants.violation("1", "job " + j.id + " attempt " + a.attempt() + " dispatched twice: lease "
            + other.id() + " (round " + other.round + ") and " + a.leaseId());
      }
    }
    RouteSettings route = routeOf(a);
    long prompt = route == null ? -1 : TOKENS.estimate(a.job()).forRoute(route);
    long completion = route == null ? -1 : TokenLimits.reserved(a.job(), route);
    long reservation = route == null ? -1 : prompt + completion;
    long expires = a.deadline().toEpochMilli() + config.dispatcher().leaseGraceMs();
    LeaseFact l = new LeaseFact(a, r.value(), j, from, laneOf(from), expires, reservation, term,
        rounds);
    l.prompt = prompt;
    l.completion = completion;
    if (leases.putIfAbsent(l.id(), l) != null) {
      throw invariants.violation("3", "lease id " + l.id() + " written twice");
    }
    return l;
  }

  /** The configured route an assignment names, or null when its model's chain has no such route. */
  RouteSettings routeOf(Assignment a) {
    var model = config.model(a.job().model());
    if (model.isEmpty() || a.route() == null) {
      return null;
    }
    for (RouteSettings r : model.get().routes()) {
      if (r.toRoute(a.job().model()).name().equals(a.route().name())) {
        return r;
      }
    }
    return null;
  }

  private static JsonNode read(byte[] bytes) {
    try {
      return Json.mapper().readTree(bytes);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String header(Outbound o, String name) {
    var h = o.headers() == null ? null : o.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  // ------------------------------------------------------------------ the end of a run

  /**
   * Lets everything finish: workers end every running assignment (most succeed, some ask for a retry), the clock
   * moves on until every deadline, lease and cooldown is past, and rounds run until nothing is left.
   */
  void drain() {
    trace.addLast("drain");
    int n = 0;
    for (int i = 0; i < 300; i++) {
      for (LeaseFact l : calling()) {
        finish(l, n++ % 6 == 5 ? Step.Outcome.RETRY_5XX : Step.Outcome.SUCCEEDED, 50);
      }
      clock.advance(3_000);
      round(ROUND);
      workersAct();
      invariants.afterStep();
      if (running().isEmpty() && !core.hasWork() && invariants.everyRecordCommitted()) {
        break;
      }
    }
    long last = jobs.values().stream().mapToLong(j -> j.deadlineMs).max().orElse(clock.millis());
    long until = Math.max(last, clock.millis()) + config.dispatcher().leaseGraceMs() + 1_000;
    while (clock.millis() < until) {
      clock.advance(Math.min(60_000, until - clock.millis()));
      round(ROUND);
      workersAct();
      invariants.afterStep();
    }
    round(ROUND);
    invariants.afterDrain();
  }

  // ------------------------------------------------------------------ the loop owner's ports

  private final JobPartitions partitions = new JobPartitions() {
    private List<TopicPartition> partitionsOf(Lane lane) {
      return jobPartitions().stream().filter(tp -> lanes.topicsOf(lane).contains(tp.topic())).toList();
    }

    @Override
    public void pause(Lane lane) {
      paused.addAll(partitionsOf(lane));
    }

    @Override
    public void pauseAll() {
      paused.addAll(jobPartitions()); // as the real consumer: every assigned partition, spill partitions too
    }

    @Override
    public void resume(Lane lane) {
      paused.removeAll(partitionsOf(lane));
    }

    @Override
    public void resumeAll() {
      paused.removeAll(jobPartitions());
    }

    @Override
    public void pause(TopicPartition tp) {
      paused.add(tp);
    }

    @Override
    public void resume(TopicPartition tp) {
      paused.remove(tp);
    }

    @Override
    public long position(TopicPartition tp) {
      Long p = position.get(tp);
      return p == null ? -1 : p;
    }
  };

  /** The round's transaction as the producer would run it; fails a send when the step says so. */
  private final class Txn implements RecordSink {
    final List<Outbound> sent = new ArrayList<>();
    final Step.Round fail;
    boolean open;

    Txn(Step.Round fail) {
      this.fail = fail;
    }

    @Override
    public void begin() {
      open = true;
    }

    @Override
    public void send(Outbound record) {
      if (fail.failure() == Step.Failure.SEND && sent.size() >= fail.atSend()
          ) {
        throw new KafkaException("simulated: send " + fail.atSend() + " failed");
      }
      sent.add(record);
    }
  }
}
