package io.promptfleet.dispatcher.sim;

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
          .filter(l -> l.key().equals(e.getKey()) && !ended(l) && l.expiresAtMs > now).count();
      if (held > e.getValue().maxConcurrency()) {
        throw violation("2", "key " + e.getKey() + " has " + held + " leases in flight, max_concurrency "
            + e.getValue().maxConcurrency());
      }
    }
    // 3. the core's lease table is the model's: no lease lost, none counted twice
    if (sim.active) {
      ledgerMatchesModel(now);
    }
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
      long n = held.values().stream().filter(h -> h.keyId().equals(k)).count();
      if (sim.core.keys().inFlight(k) != n) {
        throw violation("3", "key " + k + " counts " + sim.core.keys().inFlight(k) + " in flight but holds " + n
            + " leases");
      }
    }
  }

  // ------------------------------------------------------------------ after every committed transaction

  void afterCommit(List<LeaseFact> dispatched, Map<TopicPartition, Long> before) {
    for (LeaseFact l : dispatched) {
      keyAdmits(l);
    }
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

  /** After every round that did not abort (with or without a transaction): 5. */
  void afterRound(Round round) {
    priority(round);
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
    String tenant = l.a.job().tenant();
    boolean ownPool = tenant != null && sim.config.keysOf(route).stream()
        .anyMatch(c -> tenant.equals(sim.config.keys().get(c).tenant()));
    if (ownPool ? !tenant.equals(s.tenant()) : s.tenant() != null) {
      throw violation("2", "job " + l.job.id + " of tenant " + tenant + " went to key " + k + " of tenant "
          + s.tenant());
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
   * candidate across rounds cannot be told from outside), and only while no aged pick disturbed vt (aged picks, and
   * picks whose age cannot be told, suspend the check until the next high stride pick).
   *
   * <p>5b. Work conservation: when a high job waits at the start of a round and a key of its chain provably has
   * room for it now (concurrency, requests and tokens in the window with the rate window's slot slack, no cooldown
   * or disable, its route's breaker provably closed) and the fallback policy provably reaches that route (every
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

  private String tenantOf(JobFact j) {
    var job = j.job(sim.config);
    return job == null ? null : job.tenant();
  }

  /**
   * The capacity pool a job draws from within its model (an oracle written apart from RoutePlanner.poolOf): its
   * tenant's own keys when every route of the model's chain has some (or the tenant may not use shared keys), else
   * the shared keys. A head that cannot be planned blocks its pool of the model for the round, not the model.
   */
  private String poolKey(JobFact j) {
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
          || !Simulation.REPLY.equals(j.replyTo) || j.cancelled || j.forbidden || j.deadlineMs <= round.nowMs()
          || answered(j) || !sim.config.models().containsKey(j.model)) {
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
    if (read == null || !Simulation.REPLY.equals(x.job.replyTo)) {
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
    if (h.records.size() != 1 || h.cancelled || !Simulation.REPLY.equals(h.replyTo) || h.forbidden
        || !sim.config.models().containsKey(h.model)) {
      return null; // a retry (avoids its last key), a cancelled, parked or rejected job: not judged
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
    for (RouteSettings r : sim.config.models().get(h.model).routes()) {
      if (TokenLimits.exceedsCap(job, r)) {
        continue;
      }
      String route = r.toRoute(job.model()).name();
      boolean mayBeOpen = sim.routeFailures.stream()
          .anyMatch(f -> f.route().equals(route) && f.offset() >= sim.coreFirstLiveEvent);
      long reserve = Simulation.TOKENS.estimate(job).forRoute(r)
          + TokenLimits.reserved(job, r);
      List<String> candidates = sim.config.keysOf(r);
      boolean ownPool = job.tenant() != null && candidates.stream()
          .anyMatch(c -> job.tenant().equals(sim.config.keys().get(c).tenant()));
      String free = null;
      boolean allDown = true; // every key the job may use here is provably disabled or cooling down (or too small)
      for (String k : candidates) {
        KeySettings s = sim.config.keys().get(k);
        if (ownPool ? !job.tenant().equals(s.tenant()) : s.tenant() != null) {
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
          if (l.atMs > now - window - slack) {
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
