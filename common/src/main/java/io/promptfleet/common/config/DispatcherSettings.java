package io.promptfleet.common.config;

/**
 * The dispatcher's own settings.
 *
 * @param groupId          consumer group of the job topics (default promptfleet-dispatcher); also the
 *                         transactional id, so a new active dispatcher fences the old one
 * @param maxBufferedJobs  jobs read from Kafka but not yet dispatched, at most; beyond it partitions pause
 *                         (default 2,000)
 * @param maxRecordBytes   job records larger than this are dead-lettered (default 1 MiB)
 * @param leaseGraceMs     a lease whose worker vanished expires this long after the job's deadline (default 60 s)
 * @param defaultJobTtlMs  deadline of jobs that set none, from their record timestamp (default 1 h)
 * @param httpPort         port of /health and /metrics (default 8080; 0 = any free port)
 */
public record DispatcherSettings(String groupId, Integer maxBufferedJobs, Integer maxRecordBytes, Long leaseGraceMs,
    Long defaultJobTtlMs, Integer httpPort) {
  public DispatcherSettings {
    groupId = groupId == null ? "promptfleet-dispatcher" : groupId;
    maxBufferedJobs = maxBufferedJobs == null ? 2_000 : maxBufferedJobs;
    maxRecordBytes = maxRecordBytes == null ? 1 << 20 : maxRecordBytes;
    leaseGraceMs = leaseGraceMs == null ? 60_000L : leaseGraceMs;
    defaultJobTtlMs = defaultJobTtlMs == null ? 3_600_000L : defaultJobTtlMs;
    httpPort = httpPort == null ? 8080 : httpPort;
    ConfigException.require(maxBufferedJobs > 0, "dispatcher.max_buffered_jobs must be > 0");
    ConfigException.require(maxRecordBytes > 0, "dispatcher.max_record_bytes must be > 0");
    ConfigException.require(leaseGraceMs >= 0, "dispatcher.lease_grace_ms must be >= 0");
    ConfigException.require(defaultJobTtlMs > 0, "dispatcher.default_job_ttl_ms must be > 0");
    ConfigException.require(httpPort >= 0 && httpPort < 65536, "dispatcher.http_port must be 0..65535");
  }

  public static DispatcherSettings defaults() {
    return new DispatcherSettings(null, null, null, null, null, null);
  }

  public DispatcherSettings withHttpPort(int port) {
    return new DispatcherSettings(groupId, maxBufferedJobs, maxRecordBytes, leaseGraceMs, defaultJobTtlMs, port);
  }
}
