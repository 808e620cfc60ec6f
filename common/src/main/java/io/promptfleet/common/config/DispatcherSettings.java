package io.promptfleet.common.config;

/**
 * The dispatcher's own settings.
 *
 * @param groupId          consumer group of the job topics (default promptfleet-dispatcher); also the
 *                         transactional id, so a new active dispatcher fences the old one
 * @param maxBufferedJobs  jobs read from Kafka but not yet dispatched, at most; each priority topic may hold a
 *                         quarter of it, beyond which its partitions pause (default 2,000)
 * @param maxRecordBytes   job records larger than this are dead-lettered (default 1 MiB)
 * @param leaseGraceMs     a lease whose worker vanished expires this long after the job's deadline (default 60 s)
 * @param defaultJobTtlMs  deadline of jobs that set none, from their record timestamp (default 1 h)
 * @param httpPort         port of /health and /metrics (default 8080; 0 = any free port)
 * @param rateWindowMs     the sliding window over which requests_per_minute and tokens_per_minute are enforced,
 *                         scaled to its length (default 60 s; short windows are for tests)
 * @param cooldownDefaultMs how long a key cools down after a 429 that named no retry-after (default 1 s)
 * @param cooldownCapMs    the longest cooldown a retry-after may ask for (default 60 s)
 * @param keyDisabledMs    how long a key stays disabled after a 401/403 or quota error (default 15 min)
 * @param rebuildLookbackMs on taking over, assignments and fleet events this far back rebuild the lease table
 *                         (default 1 h + 60 s: default_job_ttl_ms + lease_grace_ms)
 * @param sessionTimeoutMs session timeout of the job consumer: a dead active dispatcher is replaced after it
 *                         (default 10 s)
 * @param maxCancelledIds  job ids from llm.cancels remembered for jobs not read yet (default 100,000)
 * @param dedupeWindowMs   a job whose {@code job_id} (within its tenant) was admitted this recently is not run
 *                         again: it gets no second run and no second result (default: default_job_ttl_ms; 0 = off)
 * @param stateSnapshotMs  how often the active dispatcher writes its state (leases, rate windows, key cooldowns,
 *                         the job ids admitted since the last one) to the dispatcher state topic, so a successor
 *                         reads that and a tail of this length instead of rebuild_lookback_ms of assignments
 *                         (default 5 s; 0 = never: every takeover reads the whole lookback)
 * @param successors       while a key's every unit of concurrency is held, a lease whose worker started it may be
 *                         followed by one successor assignment that the workers start when it ends, so the key's
 *                         next call does not wait for the release's way back and the next dispatch (issue 13):
 *                         {@code auto} (default) while every live worker's heartbeat reports the current successor
 *                         rules, {@code true} always (the operator vouches for the workers), {@code false} never
 *                         ({@link SuccessorMode})
 * @param successorsListenMs with {@code successors: auto}, how long the dispatcher listens to heartbeats, from when it
 *                         first knows a worker, before it trusts that it has heard from every live worker (default:
 *                         two of the workers' heartbeat intervals and a second, from {@code worker.heartbeat_ms} of the
 *                         same configuration, 11,000 ms with its default of 5 s; null
 *                         here until {@link FleetConfig} derives it; shorter only in tests that control which workers
 *                         exist: the dispatcher warns at start)
 * @param priority         lane weights and aging
 * @param retry            backoff and attempts
 * @param breaker          per-route circuit breaker
 * @param batch            the batcher's polling and deadline guard ({@link BatcherSettings})
 */
public record DispatcherSettings(String groupId, Integer maxBufferedJobs, Integer maxRecordBytes, Long leaseGraceMs,
    Long defaultJobTtlMs, Integer httpPort, Long rateWindowMs, Long cooldownDefaultMs, Long cooldownCapMs,
    Long keyDisabledMs, Long rebuildLookbackMs, Integer sessionTimeoutMs, Integer maxCancelledIds,
    Long dedupeWindowMs, Long stateSnapshotMs, SuccessorMode successors, Long successorsListenMs,
    PrioritySettings priority, RetrySettings retry, BreakerSettings breaker, BatcherSettings batch) {
  /**
   * {@code successors_listen_ms} with the workers' default heartbeat interval (5 s): two of them and a second
   * ({@link WorkerSettings#heardWithinMs()}).
   */
  public static final long DEFAULT_SUCCESSORS_LISTEN_MS =
      WorkerSettings.heardWithinMs(WorkerSettings.DEFAULT_HEARTBEAT_MS);

  public DispatcherSettings {
    groupId = groupId == null ? "promptfleet-dispatcher" : groupId;
    maxBufferedJobs = maxBufferedJobs == null ? 2_000 : maxBufferedJobs;
    maxRecordBytes = maxRecordBytes == null ? 1 << 20 : maxRecordBytes;
    leaseGraceMs = leaseGraceMs == null ? 60_000L : leaseGraceMs;
    defaultJobTtlMs = defaultJobTtlMs == null ? 3_600_000L : defaultJobTtlMs;
    httpPort = httpPort == null ? 8080 : httpPort;
    rateWindowMs = rateWindowMs == null ? 60_000L : rateWindowMs;
    cooldownDefaultMs = cooldownDefaultMs == null ? 1_000L : cooldownDefaultMs;
    cooldownCapMs = cooldownCapMs == null ? 60_000L : cooldownCapMs;
    keyDisabledMs = keyDisabledMs == null ? 900_000L : keyDisabledMs;
    rebuildLookbackMs = rebuildLookbackMs == null ? defaultJobTtlMs + leaseGraceMs : rebuildLookbackMs;
    sessionTimeoutMs = sessionTimeoutMs == null ? 10_000 : sessionTimeoutMs;
    maxCancelledIds = maxCancelledIds == null ? 100_000 : maxCancelledIds;
    dedupeWindowMs = dedupeWindowMs == null ? defaultJobTtlMs : dedupeWindowMs;
    stateSnapshotMs = stateSnapshotMs == null ? 5_000L : stateSnapshotMs;
    successors = successors == null ? SuccessorMode.AUTO : successors;
    priority = priority == null ? PrioritySettings.defaults() : priority;
    retry = retry == null ? RetrySettings.defaults() : retry;
    breaker = breaker == null ? BreakerSettings.defaults() : breaker;
    batch = batch == null ? BatcherSettings.defaults() : batch;
    ConfigException.require(maxBufferedJobs > 0, "dispatcher.max_buffered_jobs must be > 0");
    ConfigException.require(maxRecordBytes > 0, "dispatcher.max_record_bytes must be > 0");
    ConfigException.require(leaseGraceMs >= 0, "dispatcher.lease_grace_ms must be >= 0");
    ConfigException.require(defaultJobTtlMs > 0, "dispatcher.default_job_ttl_ms must be > 0");
    ConfigException.require(httpPort >= 0 && httpPort < 65536, "dispatcher.http_port must be 0..65535");
    ConfigException.require(rateWindowMs >= 100, "dispatcher.rate_window_ms must be >= 100");
    ConfigException.require(cooldownDefaultMs >= 0, "dispatcher.cooldown_default_ms must be >= 0");
    ConfigException.require(cooldownCapMs >= cooldownDefaultMs,
        "dispatcher.cooldown_cap_ms must be >= dispatcher.cooldown_default_ms");
    ConfigException.require(keyDisabledMs > 0, "dispatcher.key_disabled_ms must be > 0");
    ConfigException.require(rebuildLookbackMs >= 0, "dispatcher.rebuild_lookback_ms must be >= 0");
    ConfigException.require(sessionTimeoutMs >= 1_000, "dispatcher.session_timeout_ms must be >= 1000");
    ConfigException.require(maxCancelledIds >= 0, "dispatcher.max_cancelled_ids must be >= 0");
    ConfigException.require(dedupeWindowMs >= 0, "dispatcher.dedupe_window_ms must be >= 0 (0 turns it off)");
    ConfigException.require(stateSnapshotMs == 0 || stateSnapshotMs >= 100,
        "dispatcher.state_snapshot_ms must be 0 (off) or >= 100");
    ConfigException.require(successorsListenMs == null || successorsListenMs >= 0,
        "dispatcher.successors_listen_ms must be >= 0");
  }

  public static DispatcherSettings defaults() {
    return new DispatcherSettings(null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null);
  }

  /** These settings listening {@code ms} to heartbeats before successors are written ({@code auto}). */
  public DispatcherSettings withSuccessorsListenMs(long ms) {
    return new DispatcherSettings(groupId, maxBufferedJobs, maxRecordBytes, leaseGraceMs, defaultJobTtlMs, httpPort,
        rateWindowMs, cooldownDefaultMs, cooldownCapMs, keyDisabledMs, rebuildLookbackMs, sessionTimeoutMs,
        maxCancelledIds, dedupeWindowMs, stateSnapshotMs, successors, ms, priority, retry, breaker, batch);
  }

  public DispatcherSettings withHttpPort(int port) {
    return new DispatcherSettings(groupId, maxBufferedJobs, maxRecordBytes, leaseGraceMs, defaultJobTtlMs, port,
        rateWindowMs, cooldownDefaultMs, cooldownCapMs, keyDisabledMs, rebuildLookbackMs, sessionTimeoutMs,
        maxCancelledIds, dedupeWindowMs, stateSnapshotMs, successors, successorsListenMs, priority, retry, breaker,
        batch);
  }
}
