package io.promptfleet.dispatcher.sim;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.KeySettings;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.RetryRequest;
import io.promptfleet.dispatcher.capacity.Lease;
import io.promptfleet.dispatcher.capacity.TokenLimits;
import io.promptfleet.dispatcher.intake.Decision;
import io.promptfleet.dispatcher.intake.Outbox;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import io.promptfleet.dispatcher.sim.SimKafka.Rec;
import io.promptfleet.dispatcher.sim.Simulation.JobFact;
import io.promptfleet.dispatcher.sim.Simulation.KeyEvent;
import io.promptfleet.dispatcher.sim.Simulation.LeaseFact;
import io.promptfleet.dispatcher.sim.Simulation.Round;
import io.promptfleet.dispatcher.sim.Simulation.WorkerState;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.TopicPartition;

/**
 * What must hold of the dispatcher core after every step of a {@link Simulation}, judged from the simulation's
 * model of what happened (and, for the lease table, from the core's key pool). Numbered as in the class Javadoc
 * of {@link DispatcherSimulationProperties}; a violation names its number, the step, and the recent steps.
 *
 * <p>Not thread-safe.
 */
final class Invariants {
  private final Simulation sim;
  /** freeKeyFor answers of the round being judged (a round asks about the same jobs many times). */
  private final Map<String, String> freeKeys = new HashMap<>();
  private int freeKeysRound = -1;

  Invariants(Simulation sim) {
    this.sim = sim;
  }

  AssertionError violation(String invariant, String what) {
    StringBuilder b = new StringBuilder("invariant ").append(invariant).append(" violated at step ").append(sim.step)
        .append(" (t0+").append(sim.clock.millis() - sim.startMs).append(" ms, round ").append(sim.rounds)
        .append(", term ").append(sim.term).append("): ").append(what).append("\nrecent steps:");
    sim.trace.forEach(s -> b.append("\n  ").append(s));
    return new AssertionError(b.toString());
  }

  // ------------------------------------------------------------------ the model's questions

  /** The job has a result, or one of its records a dead letter. */
  boolean answered(JobFact j) {
    return !j.results.isEmpty() || j.all.keySet().stream().anyMatch(r -> sim.deadLetters.containsKey(r.where()));
  }

  /** A worker runs (or will run again) an assignment of the job. */
  boolean runs(JobFact j) {
    return sim.leases.values().stream().anyMatch(l -> l.job == j && l.worker == WorkerState.RUNNING);
  }

  /** The dispatcher has read the lease's end: its release event or its archived copy. */
  boolean ended(LeaseFact l) {
    return l.releaseOffset >= 0 && l.releaseOffset < consumed(Simulation.T.fleetEvents())
        || l.archivedOffset >= 0 && l.archivedOffset < consumed(Simulation.T.assignmentsDlq());
  }

  private long consumed(String feedbackTopic) {
    return sim.feedbackPosition.getOrDefault(feedbackTopic, 0L);
  }

  private boolean passed(Rec r) {
    return r.offset() < sim.kafka.committed(r.tp());
  }

  boolean everyRecordCommitted() {
    return sim.jobPartitions().stream().allMatch(tp -> sim.kafka.committed(tp) == sim.kafka.end(tp));
  }

  // ------------------------------------------------------------------ after every step

  void afterStep() {
    long now = sim.clock.millis();
    // 1. every job answered at most once; every job not answered is somewhere it will be answered from
    for (JobFact j : sim.jobs.values()) {
      long dls = j.all.keySet().stream().mapToInt(r -> sim.deadLetters.getOrDefault(r.where(), 0)).sum();
      if ((j.results.size() > 1 || dls > 1 || dls == 1 && j.results.size() == 1 && !j.forbidden)) {
        throw violation("1", "job " + j.id + " answered more than once: results " + j.results + ", dead letters "
            + dls);
      }
      if (!answered(j) && !runs(j) && j.all.keySet().stream().allMatch(this::passed) && !archivedPending(j)) {
        throw violation("1", "job " + j.id + " is lost: no answer, no worker runs it, every record of it ("
            + j.all.keySet().stream().map(Rec::where).toList() + ") is behind the committed offset, and no "
            + "answer of it waits in the dispatcher (leases: " + leasesOf(j) + ")");
      }
    }
    for (String g : sim.garbage) {
      if (sim.deadLetters.getOrDefault(g, 0) > 1) {
        throw violation("1", "unreadable record " + g + " dead-lettered " + sim.deadLetters.get(g) + " times");
      }
    }
    // 2. concurrency: leases the dispatcher must count (not ended, not expired) per key, at most max_concurrency
    for (var e : sim.config.keys().entrySet()) {
      long held = sim.leases.values().stream()
          .filter(l -> l.key().equals(e.getKey()) && !ended(l) && l.expiresAtMs > now && holdsUnit(l, now)).count();
      if (held > e.getValue().maxConcurrency()) {
        throw violation("2", "key " + e.getKey() + " has " + held + " leases in flight, max_concurrency "
            + e.getValue().maxConcurrency() + ": " + sim.leases.values().stream()
            .filter(l -> l.key().equals(e.getKey()) && !ended(l) && l.expiresAtMs > now && holdsUnit(l, now))
            .map(this::describe).toList() + "; the dispatcher holds " + sim.core.keys().leases().values().stream()
            .filter(h -> h.keyId().equals(e.getKey())).map(h -> h.leaseId() + (sim.core.keys().isWaiting(
                h.leaseId()) ? " (waiting)" : "")).toList());
      }
    }
    // 3. the core's lease table is the model's: no lease lost, none counted twice
    if (sim.active) {
      ledgerMatchesModel(now);
    }
    // 8. with successors: the calls at the provider per key, at most max_concurrency
    if (sim.successors != null) {
      sim.successors.checkProvider(this);
    }
  }

  /**
   * Whether the dispatcher must count a unit of concurrency for the lease: an ordinary one does; a successor only
   * once its predecessor's end was read (or it expired) or a committed lease_granted gave it a unit (a grant lost
   * with an aborted transaction is not seen: the bound is then weaker, never wrong).
   */
  private String describe(LeaseFact l) {
    return l.id() + " (job " + l.job.id + ", round " + l.round + ", " + l.worker + (l.calling ? " calling" : "")
        + (l.after == null ? "" : ", after " + l.after + (sim.successors.wasGranted(l.id()) ? ", granted" : "")) + ")";
  }

  private boolean holdsUnit(LeaseFact l, long now) {
    if (l.after == null) {
      return true;
    }
    LeaseFact p = sim.leases.get(l.after);
    return p == null || ended(p) || p.expiresAtMs <= now || sim.successors.wasGranted(l.id());
  }

  /** An archived assignment of the job whose answer the dispatcher still owes and has not lost. */
  private boolean archivedPending(JobFact j) {
    for (LeaseFact l : sim.leases.values()) {
      if (l.job == j && l.worker == WorkerState.ARCHIVED) {
        if (!sim.active || l.archivedOffset >= consumed(Simulation.T.assignmentsDlq()) || inOutbox(j)) {
          return true;
        }
      }
    }
    return false;
  }

  private boolean inOutbox(JobFact j) {
    Outbox outbox = sim.core.outbox();
    for (Outbox.Entry e : outbox.entries()) {
      Decision d = e.decision();
      if (d instanceof Decision.Archived x && x.answer().result().jobId().equals(j.id)
          || d instanceof Decision.Answer a && a.result().jobId().equals(j.id)) {
        return true;
      }
    }
    return false;
  }

  private List<String> leasesOf(JobFact j) {
    return sim.leases.values().stream().filter(l -> l.job == j)
        .map(l -> l.id() + " " + l.worker + (ended(l) ? " ended" : "") + " deliveries " + l.deliveries).toList();
  }

  private void ledgerMatchesModel(long now) {
    Map<String, Lease> held = sim.core.keys().leases();
    for (LeaseFact l : sim.leases.values()) {
      if (!ended(l) && l.expiresAtMs > now && !held.containsKey(l.id())) {
        throw violation("3", "lease " + l.id() + " of job " + l.job.id + " on key " + l.key() + " (dispatched at t0+"
            + (l.atMs - sim.startMs) + ", expires at t0+" + (l.expiresAtMs - sim.startMs) + ", worker " + l.worker
            + ") is not released, not expired, but the dispatcher does not hold it");
      }
    }
    for (Lease h : held.values()) {
      LeaseFact l = sim.leases.get(h.leaseId());
      if (l == null || ended(l)) {
        throw violation("3", "the dispatcher holds lease " + h.leaseId() + " on key " + h.keyId() + ", which "
            + (l == null ? "no committed assignment has" : "was released already"));
      }
    }
    for (String k : sim.config.keys().keySet()) {
      long n = held.values().stream().filter(h -> h.keyId().equals(k) && !sim.core.keys().isWaiting(h.leaseId()))
          .count();
      if (sim.core.keys().inFlight(k) != n) {
        throw violation("3", "key " + k + " counts " + sim.core.keys().inFlight(k) + " in flight but holds " + n
            + " leases (not counting waiting successors)");
      }
    }
  }

  // ------------------------------------------------------------------ after every committed transaction

  void afterCommit(List<LeaseFact> dispatched, Map<TopicPartition, Long> before) {
    for (LeaseFact l : dispatched) {
      keyAdmits(l);
    }
    budgetsKept(dispatched);
    // 4. a committed offset passes only records dispatched, answered or dead-lettered
    before.forEach((tp, from) -> {
      List<Rec> log = sim.kafka.log(tp);
      for (long o = from; o < sim.kafka.committed(tp); o++) {
        Rec r = log.get((int) o);
        if (!handled(r)) {
          JobFact j = sim.jobOfRecord.get(r.where());
          throw violation("4", "the committed offset of " + tp + " moved to " + sim.kafka.committed(tp) + " past "
              + r.where() + (j == null ? "" : " (job " + j.id + ", leases " + leasesOf(j) + ")")
              + ", which was neither dispatched nor answered nor dead-lettered");
        }
      }
    });
  }

  /** After every round that did not abort (with or without a transaction): 5 and 6. */
  void afterRound(Round round) {
    successorUnits(round.nowMs());
    priority(round);
    fairShare(round);
  }

  /**
   * When each successor took its unit of concurrency, at the latest, as far as rounds tell (see {@link #countedAt}):
   * the round that first found the core holding it as no longer waiting, or holding it no more (it may have taken a
   * unit and ended within one round); forgotten when a takeover makes it wait again.
   */
  private final Map<String, Long> unitTakenAt = new HashMap<>();

  private void successorUnits(long now) {
    if (sim.successors == null) {
      return;
    }
    var pool = sim.core.keys();
    Map<String, Lease> held = pool.leases();
    for (LeaseFact l : sim.leases.values()) {
      if (l.after == null) {
        continue;
      }
      if (held.containsKey(l.id()) && pool.isWaiting(l.id())) {
        unitTakenAt.remove(l.id());
      } else {
        unitTakenAt.putIfAbsent(l.id(), now);
      }
    }
  }

  /**
   * The latest time at which the core may count the lease's request and tokens in its key's rate windows: its
   * dispatch, or for a successor the time it took its unit, if later. KeyPool moves a successor's request and tokens
   * from its dispatch to the moment it takes its predecessor's (or a granted) unit, so that the windows count the
   * request when the provider sees it (DESIGN, successors); a successor dispatched before the window that took its
   * unit inside it counts there. That moment is the core's to choose (a predecessor's release read, an expiry swept
   * at the core's pace, a grant), so the model takes it from the core's lease table at round granularity: the first
   * round that found the successor holding a unit (a unit taken in an aborted round is seen later: counted later,
   * never missed). A takeover that restores it counts it at its dispatch again, earlier: still within this bound.
   */
  private long countedAt(LeaseFact l) {
    return l.after == null ? l.atMs : Math.max(l.atMs, unitTakenAt.getOrDefault(l.id(), l.atMs));
  }

  /** The record was dispatched, answered or dead-lettered. */
  boolean handled(Rec r) {
    if (sim.deadLetters.containsKey(r.where()) || sim.spilled.contains(r.where())) {
      return true;
    }
    JobFact j = sim.jobOfRecord.get(r.where());
    if (j == null) {
      return false;
    }
    if (answered(j)) {
      return true;
    }
    int attempt = j.all.get(r);
    return sim.leases.values().stream().anyMatch(l -> l.job == j && l.a.attempt() == attempt);
  }

  /** 2. The dispatch of {@code l} kept its key within every limit the configuration and the provider set. */
  private void keyAdmits(LeaseFact l) {
    String k = l.key();
    KeySettings s = sim.config.keys().get(k);
    RouteSettings route = sim.routeOf(l.a);
    if (s == null || route == null || !sim.config.keysOf(route).contains(k)) {
      throw violation("2", "lease " + l.id() + " of job " + l.job.id + " (model " + l.a.job().model() + ") went to key "
          + k + " on route " + (l.a.route() == null ? null : l.a.route().name()) + ": not a route of its chain or not"
          + " a key of that route");
    }
    String tenant = l.job.tenant;
    if (!java.util.Objects.equals(tenant, l.a.job().tenant())) {
      throw violation("2", "job " + l.job.id + " of tenant " + tenant + " (established by the fleet) was assigned as "
          + "tenant " + l.a.job().tenant());
    }
    boolean ownPool = tenant != null && sim.config.keysOf(route).stream()
        .anyMatch(c -> tenant.equals(sim.config.keys().get(c).tenant()));
    var settings = tenant == null ? null : sim.config.tenants().get(tenant);
    if (ownPool ? !tenant.equals(s.tenant()) : s.tenant() != null || settings != null && !settings.sharedKeys()) {
      throw violation("2", "job " + l.job.id + " of tenant " + tenant + " went to key " + k + " of tenant "
          + s.tenant() + (settings != null && !settings.sharedKeys() ? " (it may not use shared keys)" : ""));
    }
    long window = sim.config.dispatcher().rateWindowMs();
    long requestLimit = Math.max(1, s.requestsPerMinute() * window / 60_000L);
    long tokenLimit = Math.max(1, s.tokensPerMinute() * window / 60_000L);
    long requests = 0;
    long tokens = 0;
    for (LeaseFact o : sim.leases.values()) {
      if (o.key().equals(k) && o.atMs > l.atMs - window && o.atMs <= l.atMs) {
        requests++;
        tokens += ended(o) && o.usage != null ? o.usage : o.reservation;
      }
    }
    if (requests > requestLimit) {
      throw violation("2", "key " + k + " got " + requests + " requests in the " + window + " ms up to lease " + l.id()
          + ", limit " + requestLimit);
    }
    if (tokens > tokenLimit) {
      throw violation("2", "key " + k + " got " + tokens + " tokens in the " + window + " ms up to lease " + l.id()
          + ", limit " + tokenLimit);
    }
    for (KeyEvent e : sim.keyEvents) {
      if (e.key().equals(k) && e.offset() < consumed(Simulation.T.fleetEvents()) && l.atMs >= e.atMs()
          && l.atMs < e.atMs() + e.forMs()) {
        throw violation("2", "lease " + l.id() + " went to key " + k + " at t0+" + (l.atMs - sim.startMs) + ", while "
            + (e.disable() ? "disabled" : "cooling down") + " from t0+" + (e.atMs() - sim.startMs) + " for "
            + e.forMs() + " ms");
      }
    }
  }

  // ------------------------------------------------------------------ 5. priority

  /** Whether a dispatch went first by aging (the oldest ready job waited aging_ms), by stride, or cannot be told. */
  private enum Aged { YES, NO, UNKNOWN }

  /**
   * 5a. Stride share: while a high job provably waits (queued, and its model's group provably not blocked: it gets
   * a dispatch later in the same round), the normal lane gets at most ceil(w_normal / w_high) and the low lane at
   * most ceil(w_low / w_high) stride dispatches before the next high dispatch. Why: ReadyQueues picks the candidate
   * lane with the least pass (ties to the higher lane); every candidate's pass is at least the virtual time vt (the
   * pass of the last pick: a pick is the least, and a lane that becomes a candidate is raised to vt), and the high
   * lane's pass is at most vt + 1/w_high (it is vt + 1/w_high right after its own pick, and vt never goes back
   * while no aged pick intervenes); so a lower lane X is picked only while its pass lies in [vt, pass_high), at most
   * ceil(w_X / w_high) times before the high lane's next pick. Counted within one round (that the high lane stayed a
   * candidate across rounds cannot be told from outside), and only while no aged pick disturbed vt (aged picks,
   * picks whose age cannot be told, and the unseen picks of an aborted round, which charged the lanes all the same,
   * suspend the check until the next high stride pick). A job its tenant's budget holds or rejects is picked but
   * not dispatched, and charges nothing (ReadyQueues.skip), so the picks the check cannot see change no pass.
   *
   * <p>5b. Work conservation: when a high job waits at the start of a round and a key of its chain provably has
   * room for it now (concurrency, requests and tokens in the window with the rate window's slot slack, a successor's
   * request counted from when it took its unit, {@link #countedAt}; no cooldown or disable, its route's breaker
   * provably closed) and the fallback policy provably reaches that route (every
   * route before it cannot serve the job, overflows, may be open while having room, or has every key the job may
   * use provably disabled or cooling down: a merely busy route keeps the job waiting), the round dispatches a job of
   * its model's group or onto that key.
   */
  private void priority(Round round) {
    var pr = sim.config.dispatcher().priority();
    long now = round.nowMs();
    int maxNormal = (pr.weightNormal() + pr.weightHigh() - 1) / pr.weightHigh();
    int maxLow = (pr.weightLow() + pr.weightHigh() - 1) / pr.weightHigh();
    List<LeaseFact> d = round.dispatched();
    Map<String, Integer> lastOfPool = new HashMap<>();
    for (int i = 0; i < d.size(); i++) {
      lastOfPool.put(poolKey(d.get(i).job), i);
    }
    List<JobFact> waiting = highWaiting(round);
    int normal = 0;
    int low = 0;
    for (int i = 0; i < d.size(); i++) {
      LeaseFact x = d.get(i);
      if (aged(x, round) != Aged.NO) {
        sim.agingDisturbed = true;
        normal = 0;
        low = 0;
        continue;
      }
      if (x.lane == Lane.HIGH) {
        sim.agingDisturbed = false;
        normal = 0;
        low = 0;
        continue;
      }
      if (x.lane == Lane.RETRY) {
        continue;
      }
      final int at = i;
      JobFact h = waiting.stream().filter(j -> lastOfPool.getOrDefault(poolKey(j), -1) >= at
          && d.subList(0, at).stream().noneMatch(y -> y.job == j)).findFirst().orElse(null);
      if (h == null || sim.agingDisturbed) {
        normal = 0;
        low = 0;
        continue;
      }
      if (x.lane == Lane.NORMAL) {
        normal++;
      } else {
        low++;
      }
      if (normal > maxNormal || low > maxLow) {
        throw violation("5", "high job " + h.id + " waits (its pool " + poolKey(h) + " is dispatched later in"
            + " this round) while the " + x.lane + " lane got its " + (x.lane == Lane.NORMAL ? normal : low)
            + "th stride dispatch in a row (" + x.job.id + "); the weights allow " + maxNormal + " normal and "
            + maxLow + " low; round " + d.stream().map(y -> y.job.id + "/" + y.lane).toList());
      }
    }
    Set<String> usedKeys = new HashSet<>();
    d.forEach(y -> usedKeys.add(y.key()));
    for (JobFact h : waiting) {
      String freeKey = freeKeyFor(h, round, Set.of());
      if (freeKey != null && !sim.issues.on(KnownIssues.HEAD_OF_LINE) && queuedOfGroup(groupOf(h.model), round)
          .stream().anyMatch(j -> poolKey(j).equals(poolKey(h)) && freeKeyFor(j, round, usedKeys) == null)) {
        continue; // some job of its pool may be a head that cannot go and blocks the pool (a known issue)
      }
      if (freeKey != null) {
        headOfLineJudged++;
      }
      if (freeKey != null && d.stream().noneMatch(y -> poolKey(y.job).equals(poolKey(h))
          || y.key().equals(freeKey))) {
        var pool = sim.core.keys();
        throw violation("5", "high job " + h.id + " (model " + h.model + ", tenant " + tenantOf(h) + ") waits while "
            + "key " + freeKey + " has room for it (the core's pool after the round: in flight "
            + pool.inFlight(freeKey) + ", requests " + pool.requestsInWindow(freeKey, round.nowMs()) + ", tokens "
            + pool.tokensInWindow(freeKey, round.nowMs()) + ", cooling " + pool.isCoolingDown(freeKey, round.nowMs())
            + ", disabled " + pool.isDisabled(freeKey, round.nowMs()) + "), and the round dispatched nothing of its "
            + "model and nothing onto that key (round " + d.stream().map(y -> y.job.id + "/" + y.lane + "->"
            + y.key()).toList() + "; queued in its group: " + queuedOfGroup(groupOf(h.model), round).stream()
            .map(j -> j.id + "/" + j.lane + "/" + tenantOf(j) + "->" + freeKeyFor(j, round, usedKeys)).toList() + ")");
      }
    }
  }

  /** The tenant the fleet establishes for the job (null: none). */
  private static String tenantOf(JobFact j) {
    return j.tenant;
  }

  /** A tenant with a daily budget: its jobs may wait in BudgetWaits, out of the ready queues, unseen by the model. */
  boolean budgeted(String tenant) {
    var t = tenant == null ? null : sim.config.tenants().get(tenant);
    return t != null && t.budget() != null;
  }

  /**
   * The capacity pool a job draws from within its model (an oracle written apart from RoutePlanner.poolOf): its
   * tenant's own keys when every route of the model's chain has some (or the tenant may not use shared keys), else
   * the shared keys. A head that cannot be planned blocks its pool of the model for the round, not the model.
   */
  private String poolKey(JobFact j) {
    return poolKeys.computeIfAbsent(j, this::computePoolKey);
  }

  /** poolKey answers: a job's pool depends only on the configuration and the job. */
  private final Map<JobFact, String> poolKeys = new HashMap<>();

  private String computePoolKey(JobFact j) {
    String group = groupOf(j.model);
    String tenant = tenantOf(j);
    String pool = "";
    if (tenant != null) {
      var t = sim.config.tenants().get(tenant);
      var chain = sim.config.models().get(group);
      boolean own = t != null && !t.sharedKeys() || chain != null && !chain.routes().isEmpty()
          && chain.routes().stream().allMatch(r -> sim.config.keysOf(r).stream()
              .anyMatch(k -> tenant.equals(sim.config.keys().get(k).tenant())));
      pool = own ? tenant : "";
    }
    return group + "/" + pool;
  }

  /** The ready-queue group of a model: its name when configured, else the pass-through group. */
  private String groupOf(String model) {
    return sim.config.models().containsKey(model) ? model : "*";
  }

  /**
   * High jobs provably in the ready queues at the start of the round: read by this core, on the default reply
   * topic (never parked), not cancelled, not past their deadline, not dispatched before this round, not answered.
   */
  private List<JobFact> highWaiting(Round round) {
    return sim.jobs.values().stream().filter(j -> {
      Rec r = j.records.get(1);
      if (j.lane != Lane.HIGH || j.records.size() != 1 || !round.readAt().containsKey(r.where())
          || !sim.alwaysThere(j.replyTo) || j.cancelled || j.forbidden || j.deadlineMs <= round.nowMs()
          || answered(j) || !sim.config.models().containsKey(j.model) || budgeted(j.tenant)) {
        return false;
      }
      return sim.leases.values().stream().noneMatch(l -> l.job == j && l.round < round.index());
    }).toList();
  }

  /**
   * Every job that may wait in the group's ready queues at the start of the round (a superset): read by this core,
   * not answered, its record not dispatched before this round.
   */
  private List<JobFact> queuedOfGroup(String group, Round round) {
    return sim.jobs.values().stream().filter(j -> groupOf(j.model).equals(group) && !answered(j)
        && j.records.values().stream().anyMatch(r -> round.readAt().containsKey(r.where())
            && sim.leases.values().stream().noneMatch(l -> l.from == r && l.round < round.index()))).toList();
  }

  private Aged aged(LeaseFact x, Round round) {
    long aging = sim.config.dispatcher().priority().agingMs();
    Long read = round.readAt().get(x.from.where());
    if (aging <= 0) {
      return Aged.NO;
    }
    if (read == null || !sim.alwaysThere(x.job.replyTo)) {
      return Aged.UNKNOWN; // read before a rewind we cannot see, or admitted later after a topic listing
    }
    long now = round.nowMs();
    if (x.lane != Lane.RETRY) {
      return now - read >= aging ? Aged.YES : Aged.NO;
    }
    RetryRequest rr = Json.read(x.from.value(), RetryRequest.class);
    long notBefore = rr.notBefore() == null ? 0 : rr.notBefore().toEpochMilli();
    var retry = sim.config.dispatcher().retry();
    long bound = (long) Math.min(retry.capMs(), retry.baseMs() * Math.pow(2, Math.max(0, rr.nextAttempt() - 2)));
    long earliest = Math.max(notBefore, read);
    long latest = Math.max(notBefore, read + bound + 1);
    return now - latest >= aging ? Aged.YES : now - earliest < aging ? Aged.NO : Aged.UNKNOWN;
  }

  /**
   * A key of the job's chain, not in {@code exclude}, that provably has room for it at the round's start, or null.
   * A key that has room at the start and gets no dispatch in the round has room throughout it.
   */
  private String freeKeyFor(JobFact h, Round round, Set<String> exclude) {
    if (freeKeysRound != round.index()) {
      freeKeys.clear();
      freeKeysRound = round.index();
    }
    String cacheKey = h.id + " " + exclude;
    if (freeKeys.containsKey(cacheKey)) {
      return freeKeys.get(cacheKey);
    }
    String k = computeFreeKey(h, round, exclude);
    freeKeys.put(cacheKey, k);
    return k;
  }

  private String computeFreeKey(JobFact h, Round round, Set<String> exclude) {
    long now = round.nowMs();
    if (h.records.size() != 1 || h.cancelled || !sim.alwaysThere(h.replyTo) || h.forbidden
        || !sim.config.models().containsKey(h.model) || budgeted(h.tenant)) {
      return null; // a retry (avoids its last key), a cancelled, parked, rejected or budget-held job: not judged
    }
    var job = h.job(sim.config);
    if (job == null) {
      return null;
    }
    long window = sim.config.dispatcher().rateWindowMs();
    long slack = 2 * ((window + 19) / 20);
    // The fallback policy: a route that cannot serve the job, is open, or whose keys are all disabled or cooling
    // sends it down the chain; a merely busy route keeps it waiting unless it overflows. Only a key the policy
    // provably reaches counts.
    var tenantSettings = h.tenant == null ? null : sim.config.tenants().get(h.tenant);
    for (RouteSettings r : sim.config.models().get(h.model).routes()) {
      if (TokenLimits.exceedsCap(job, r) || tenantSettings != null && !tenantSettings.sharedKeys()
          && sim.config.keysOf(r).stream().noneMatch(k -> h.tenant.equals(sim.config.keys().get(k).tenant()))) {
        continue; // cannot serve it, or a route a tenant without shared keys has no key of its own on
      }
      String route = r.toRoute(job.model()).name();
      boolean mayBeOpen = sim.routeFailures.stream()
          .anyMatch(f -> f.route().equals(route) && f.offset() >= sim.coreFirstLiveEvent);
      long reserve = Simulation.TOKENS.estimate(job).forRoute(r)
          + TokenLimits.reserved(job, r);
      List<String> candidates = sim.config.keysOf(r);
      String tenant = h.tenant;
      boolean ownPool = tenant != null && candidates.stream()
          .anyMatch(c -> tenant.equals(sim.config.keys().get(c).tenant()));
      String free = null;
      boolean allDown = true; // every key the job may use here is provably disabled or cooling down (or too small)
      for (String k : candidates) {
        KeySettings s = sim.config.keys().get(k);
        if (ownPool ? !tenant.equals(s.tenant()) : s.tenant() != null) {
          continue;
        }
        if (reserve > Math.max(1, s.tokensPerMinute() * window / 60_000L)) {
          continue; // can never hold the reservation: not a key for this job
        }
        boolean surelyDown = sim.keyEvents.stream().anyMatch(e -> e.key().equals(k)
            && e.offset() < consumed(Simulation.T.fleetEvents()) && now < e.atMs() + e.forMs());
        allDown &= surelyDown;
        if (exclude.contains(k) || free != null) {
          continue;
        }
        long inFlight = 0;
        long requests = 0;
        long tokens = 0;
        for (LeaseFact l : sim.leases.values()) {
          if (!l.key().equals(k) || l.round >= round.index()) {
            continue;
          }
          if (!ended(l)) {
            inFlight++;
          }
          if (countedAt(l) > now - window - slack) {
            requests++;
            tokens += l.reservation;
          }
        }
        boolean blocked = sim.keyEvents.stream().anyMatch(e -> e.key().equals(k)
            && e.offset() < consumed(Simulation.T.fleetEvents())
            && now < e.atMs() + (e.disable() ? e.forMs() : e.forMs() + e.forMs() / 5 + 1));
        if (!blocked && inFlight < s.maxConcurrency()
            && requests + 1 <= Math.max(1, s.requestsPerMinute() * window / 60_000L)
            && tokens + reserve <= Math.max(1, s.tokensPerMinute() * window / 60_000L)) {
          free = k;
        }
      }
      if (free != null && !mayBeOpen) {
        return free;
      }
      // Down the chain for sure, or here (a dispatch of the group) / down the chain: look further. Else it may wait.
      if (!(allDown || free != null || r.overflow())) {
        return null;
      }
    }
    return null;
  }

  // ------------------------------------------------------------------ 6. fair share among tenants

  /** Tenants' weights as the fair-share check believes them (null: as configured; a test lies to see it fail). */
  java.util.function.ToIntFunction<String> weights;

  /**
   * The assignments counted while one set of tenants stays backlogged in one (model group, lane) on one capacity
   * pool: per tenant its picks, and the jobs it had provably queued at the last pick.
   */
  private static final class Window {
    final Map<String, Set<String>> queued;
    final Map<String, Integer> picks = new HashMap<>();
    int n;
    String lastPicked;

    Window(Map<String, Set<String>> queued) {
      this.queued = new HashMap<>(queued);
    }
  }

  /** Open windows by (group, lane, pool). */
  private final Map<String, Window> windows = new HashMap<>();
  /** (group, lane) slots where an aged pick may have moved a tenant's pass out of line (see fairShare). */
  private final Set<String> disturbed = new HashSet<>();
  /** High jobs judged by 5b (one waited while a key had room for it), for the exploration's report. */
  int headOfLineJudged;
  /** Windows of two or more tenants judged, and the largest (for the exploration's report). */
  int fairWindowsJudged;
  int largestFairWindow;

  /** The core forgot its queues (an abort, a takeover): every tenant starts again at the same pass. */
  void forgotten() {
    windows.clear();
    disturbed.clear();
  }

  /**
   * 6. Fair share: while two or more tenants without a budget stay backlogged in one (model group, lane) of the
   * priority lanes on one capacity pool, tenant i's assignments n_i among the N of those tenants since the set last
   * changed satisfy |n_i - N w_i / W| <= 1 + k w_i / W (k tenants, W the sum of their weights).
   *
   * <p>Why a correct stride scheduler meets it on every run: ReadyQueues gives the (group, lane)'s pick to the tenant
   * with the least pass among those not blocked and charges it s_i = 1 / w_i. Tenants of one pool are blocked
   * together (TransactionWriter blocks a pool), so every pick of one of them is the least pass among them; hence
   * each keeps p_i in [m, m + s_i], m the least pass among them (the picked one was m, and goes to m + s_i; the
   * others stay >= m), and a newcomer starts at the slot's virtual time, the pass of the last pick. Over a window,
   * n_i = w_i (p_i' - p_i) lies within w_i (m' - m) +- 1, summing N within W (m' - m) +- k, which gives the bound
   * for any window length: it holds on every seed. Weights ignored (round robin) break it once N exceeds about
   * (2 + k) W / |w_i - W / k| picks (weights 3:1: after 12 picks), which the scenario test shows.
   *
   * <p>Judged only where the model can see it: jobs read by this core, on a reply topic there from the start, not
   * cancelled, spilled, answered, expired or retried (the retry lane has no weights); tenants with a budget are left
   * out (their jobs may wait for it, out of the queues; leaving a tenant of the pool out does not change the bound
   * for the others); a tenant counts as backlogged only while a job of it provably queued at the previous pick still
   * is (its queue never emptied, so it kept its pass). An aged pick (or one whose age cannot be told) charges a
   * tenant that did not have the least pass: the (group, lane) is not judged until nothing of it may be queued.
   */
  private void fairShare(Round round) {
    List<LeaseFact> d = round.dispatched();
    Set<JobFact> dispatchedBefore = new HashSet<>(); // before the pick being judged
    Set<Rec> leased = new HashSet<>();
    for (LeaseFact l : sim.leases.values()) {
      leased.add(l.from);
      if (l.round < round.index()) {
        dispatchedBefore.add(l.job);
      }
    }
    for (int i = 0; i < d.size(); i++) {
      LeaseFact x = d.get(i);
      if (i > 0) {
        dispatchedBefore.add(d.get(i - 1).job);
      }
      if (x.lane == Lane.RETRY || x.a.attempt() != 1 || budgeted(x.job.tenant)) {
        continue;
      }
      String slot = groupOf(x.job.model) + "|" + x.lane;
      String pool = slot + "|" + poolKey(x.job);
      if (aged(x, round) != Aged.NO) {
        disturbed.add(slot);
      }
      if (disturbed.contains(slot)) {
        windows.keySet().removeIf(k -> k.startsWith(slot + "|"));
        continue;
      }
      Map<String, Set<String>> queued = queuedOfPool(x, round, dispatchedBefore);
      String tenant = x.job.tenant == null ? "" : x.job.tenant;
      if (!queued.containsKey(tenant)) {
        windows.remove(pool); // picked while the model cannot tell it was queued: nothing to judge
        continue;
      }
      Window w = windows.get(pool);
      if (w == null || !continues(w, queued)) {
        w = new Window(queued);
        windows.put(pool, w);
      }
      w.picks.merge(tenant, 1, Integer::sum);
      w.n++;
      w.queued.clear();
      w.queued.putAll(queued);
      w.lastPicked = x.job.id;
      if (queued.size() >= 2) {
        judge(w, pool, x);
      }
    }
    for (String slot : Set.copyOf(disturbed)) {
      if (nothingMayBeQueued(slot, round, leased)) {
        disturbed.remove(slot);
      }
    }
  }

  /** The window's tenants are the ones backlogged now, and each kept a job queued since the last pick. */
  private static boolean continues(Window w, Map<String, Set<String>> queued) {
    if (!w.queued.keySet().equals(queued.keySet())) {
      return false;
    }
    for (var e : queued.entrySet()) {
      Set<String> before = new HashSet<>(w.queued.get(e.getKey()));
      before.remove(w.lastPicked);
      before.retainAll(e.getValue());
      if (before.isEmpty()) {
        return false;
      }
    }
    return true;
  }

  private void judge(Window w, String pool, LeaseFact x) {
    int k = w.queued.size();
    double total = w.queued.keySet().stream().mapToDouble(t -> weightOf(t)).sum();
    fairWindowsJudged++;
    largestFairWindow = Math.max(largestFairWindow, w.n);
    for (String t : w.queued.keySet()) {
      double share = weightOf(t) / total;
      double expected = w.n * share;
      int got = w.picks.getOrDefault(t, 0);
      if (Math.abs(got - expected) > 1 + k * share + 1e-9) {
        throw violation("6", "tenant " + (t.isEmpty() ? "(none)" : t) + " got " + got + " of the last " + w.n
            + " assignments of " + pool + " (up to " + x.job.id + ") while tenants " + w.queued.keySet()
            + " (weights " + w.queued.keySet().stream().map(u -> u + "=" + weightOf(u)).toList()
            + ") stayed backlogged there; its weight share is " + expected + " +- " + (1 + k * share)
            + "; picks " + w.picks);
      }
    }
  }

  private double weightOf(String tenant) {
    String t = tenant.isEmpty() ? null : tenant;
    return weights == null ? sim.config.weightOf(t) : weights.applyAsInt(t);
  }

  /**
   * Per tenant ("" for none) of the pool of {@code x}, without a budget: its jobs provably in the ready queues of
   * x's (group, lane) when x was picked, after the jobs {@code dispatchedBefore}.
   */
  private Map<String, Set<String>> queuedOfPool(LeaseFact x, Round round, Set<JobFact> dispatchedBefore) {
    Map<String, Set<String>> out = new HashMap<>();
    String group = groupOf(x.job.model);
    String pool = poolKey(x.job);
    for (JobFact j : sim.jobs.values()) {
      if (j.lane != x.lane || j.records.size() != 1 || !groupOf(j.model).equals(group) || budgeted(j.tenant)
          || !poolKey(j).equals(pool)) {
        continue;
      }
      Rec r = j.records.get(1);
      if (!round.readAt().containsKey(r.where()) || sim.spilled.contains(r.where()) || !sim.alwaysThere(j.replyTo)
          || j.forbidden || j.cancelled || j.deadlineMs <= round.nowMs() || answered(j)
          || dispatchedBefore.contains(j)) {
        continue;
      }
      out.computeIfAbsent(j.tenant == null ? "" : j.tenant, t -> new HashSet<>()).add(j.id);
    }
    return out;
  }

  /** No job of the (group|lane) slot may wait in the core's ready queues (or for its budget) after the round. */
  private boolean nothingMayBeQueued(String slot, Round round, Set<Rec> leased) {
    for (JobFact j : sim.jobs.values()) {
      if (!(groupOf(j.model) + "|" + j.lane).equals(slot) || answered(j)) {
        continue;
      }
      for (Rec r : j.records.values()) {
        if (round.readAt().containsKey(r.where()) && !sim.spilled.contains(r.where()) && !leased.contains(r)) {
          return false;
        }
      }
    }
    return true;
  }

  // ------------------------------------------------------------------ 7. budgets

  /**
   * 7a. Budgets are never exceeded: per tenant with a budget and UTC day, its assignments of that day may have used
   * at most its tokens_per_day and cost_per_day_usd — each counted at what its worker's release reported (no usage:
   * nothing), or, while none was written, at its worst case (prompt estimate plus completion limit on its route,
   * the prompt at the route's dearer input price). Checked at every commit (only dispatches add to it).
   */
  private void budgetsKept(List<LeaseFact> dispatched) {
    Set<String> seen = new HashSet<>();
    for (LeaseFact x : dispatched) {
      String tenant = x.job.tenant;
      long day = Math.floorDiv(x.atMs, 86_400_000L);
      if (!budgeted(tenant) || !seen.add(tenant + "@" + day)) {
        continue;
      }
      var b = sim.config.tenants().get(tenant).budget();
      double[] used = used(tenant, day);
      if (b.tokensPerDay() != null && used[0] > b.tokensPerDay()
          || b.costPerDayUsd() != null && used[1] > b.costPerDayUsd() + 1e-12) {
        throw violation("7", "tenant " + tenant + " has " + (long) used[0] + " tokens and $" + used[1] + " in use "
            + "or used on UTC day " + java.time.LocalDate.ofEpochDay(day) + " after " + x.id() + " of job " + x.job.id
            + "; its budget is " + b + "; leases " + sim.leases.values().stream().filter(l -> tenant.equals(l.job.tenant)
            && Math.floorDiv(l.atMs, 86_400_000L) == day).map(l -> l.id() + "=" + charge(l)[0]
            + (l.releaseOffset >= 0 ? " released" : "")).toList());
      }
    }
  }

  /** What the tenant's assignments of a UTC day may have used at most: tokens and USD. */
  private double[] used(String tenant, long day) {
    double[] sum = new double[2];
    for (LeaseFact l : sim.leases.values()) {
      if (tenant.equals(l.job.tenant) && Math.floorDiv(l.atMs, 86_400_000L) == day) {
        double[] c = charge(l);
        sum[0] += c[0];
        sum[1] += c[1];
      }
    }
    return sum;
  }

  /** A lease's tokens and USD: its reported usage once its release is written, else its worst case. */
  private double[] charge(LeaseFact l) {
    if (l.releaseOffset >= 0) {
      return new double[] {l.usage == null ? 0 : l.usage, l.cost == null ? 0 : l.cost};
    }
    RouteSettings r = sim.routeOf(l.a);
    return new double[] {l.reservation, worstCost(r, l.prompt, l.completion)};
  }

  private static double worstCost(RouteSettings r, long prompt, long completion) {
    double in = Math.max(price(r.priceInputPerMtok()), price(r.priceCachedInputPerMtok()));
    return (prompt * in + completion * price(r.priceOutputPerMtok())) / 1_000_000d;
  }

  private static double price(Double p) {
    return p == null ? 0 : p;
  }

  /**
   * A result the dispatcher wrote, as it is committed. Tenancy: it goes to a reply topic the job's tenant may use
   * (never another tenant's). 7b. Over budget, the configured outcome: {@code rejected}/{@code budget_exceeded}
   * only for a tenant whose budget rejects, and only when the job's worst case (over its chain) does not fit what
   * its tenant may have used that day at most; a job that waited for its budget expires only once its deadline
   * passed.
   */
  void answeredByDispatcher(JobFact j, JsonNode result, String topic, long nowMs) {
    var tenants = sim.config.tenants();
    if (!tenants.isEmpty()) {
      var own = j.tenant == null ? null : tenants.get(j.tenant);
      boolean allowed = own != null ? own.isReplyToAllowed(topic)
          : tenants.values().stream().noneMatch(t -> t.isReplyToAllowed(topic));
      if (!allowed) {
        throw violation("1", "a result of job " + j.id + " (tenant " + j.tenant + ") went to " + topic
            + ", a reply topic its tenant may not use: " + result);
      }
    }
    String status = result.path("status").asText();
    String code = result.path("error").path("code").asText();
    String message = result.path("error").path("message").asText();
    if (code.equals(io.promptfleet.common.job.ErrorCodes.BUDGET_EXCEEDED)) {
      var t = j.tenant == null ? null : tenants.get(j.tenant);
      if (t == null || t.budget() == null || t.budget().queues() || !status.equals("rejected")) {
        throw violation("7", "job " + j.id + " of tenant " + j.tenant + " got " + status + "/" + code + " ("
            + message + ") but its tenant's budget is " + (t == null ? null : t.budget()));
      }
      double[] worst = worstOf(j);
      double[] used = used(j.tenant, Math.floorDiv(nowMs, 86_400_000L));
      var b = t.budget();
      boolean over = b.tokensPerDay() != null && used[0] + worst[0] > b.tokensPerDay()
          || b.costPerDayUsd() != null && used[1] + worst[1] > b.costPerDayUsd() - 1e-12;
      if (!over) {
        throw violation("7", "job " + j.id + " of tenant " + j.tenant + " was rejected over budget (" + message
            + ") although its worst case (" + (long) worst[0] + " tokens, $" + worst[1] + ") fits what the tenant may "
            + "have used today at most (" + (long) used[0] + " tokens, $" + used[1] + ") within " + b);
      }
    }
    if (status.equals("expired") && message.contains("daily budget") && nowMs < j.deadlineMs) {
      throw violation("7", "job " + j.id + " expired waiting for its tenant's budget before its deadline (t0+"
          + (j.deadlineMs - sim.startMs) + " ms): " + message);
    }
  }

  /** A job's worst case over its chain: the most tokens and the most USD any route that can serve it may take. */
  private double[] worstOf(JobFact j) {
    var job = j.job(sim.config);
    double[] worst = new double[2];
    var model = job == null ? null : sim.config.models().get(j.model);
    if (model == null) {
      return new double[] {Double.MAX_VALUE, Double.MAX_VALUE};
    }
    for (RouteSettings r : model.routes()) {
      if (TokenLimits.exceedsCap(job, r)) {
        continue;
      }
      long prompt = Simulation.TOKENS.estimate(job).forRoute(r);
      long completion = TokenLimits.reserved(job, r);
      worst[0] = Math.max(worst[0], prompt + completion);
      worst[1] = Math.max(worst[1], worstCost(r, prompt, completion));
    }
    return worst;
  }

  // ------------------------------------------------------------------ at the end of a run

  void afterDrain() {
    for (JobFact j : sim.jobs.values()) {
      if (!answered(j)) {
        throw violation("1 (drained)", "job " + j.id + " never got a terminal record (leases " + leasesOf(j)
            + ", records " + j.all.keySet().stream().map(Rec::where).toList() + ")");
      }
    }
    for (String g : sim.garbage) {
      int n = sim.deadLetters.getOrDefault(g, 0);
      boolean feedback = !g.startsWith(Simulation.T.jobsNormal() + "-");
      boolean tolerated = feedback && n == 0 && !sim.issues.on(KnownIssues.FEEDBACK_DEAD_LETTER_GAP);
      if (n != 1 && !tolerated) {
        throw violation("1 (drained)", "unreadable record " + g + " dead-lettered " + n + " times, not once");
      }
    }
    if (!everyRecordCommitted()) {
      throw violation("4 (drained)", "job partitions not committed to their end: " + sim.jobPartitions().stream()
          .filter(tp -> sim.kafka.committed(tp) != sim.kafka.end(tp))
          .map(tp -> tp + " " + sim.kafka.committed(tp) + "/" + sim.kafka.end(tp)).toList());
    }
    if (!sim.core.keys().leases().isEmpty()) {
      throw violation("3 (drained)", "leases held after every deadline passed: " + sim.core.keys().leases().keySet());
    }
    if (sim.core.hasWork()) {
      throw violation("1 (drained)", "the dispatcher still has work after every deadline passed");
    }
  }
}
