package io.promptfleet.common.logging;

import org.slf4j.MDC;

/**
 * The job and lease a thread is handling, in SLF4J's MDC under {@value #JOB_ID} and {@value #LEASE_ID}, so every
 * line it logs meanwhile carries them (the log4j2 patterns print {@code %X{job_id}} and {@code %X{lease_id}}).
 *
 * <p>Use it only on threads that handle one job at a time: the dispatcher thread, a worker's lane threads. Event
 * loops interleave jobs, so code on them names the ids in the message instead. The scope is explicit:
 * {@code LogContext.put(jobId, leaseId); try { ... } finally { LogContext.clear(); }} (scopes do not nest). Confined
 * to the calling thread, like the MDC itself.
 */
public final class LogContext {
  /** MDC key of the job id. */
  public static final String JOB_ID = "job_id";
  /** MDC key of the lease id (one dispatched attempt). */
  public static final String LEASE_ID = "lease_id";

  private LogContext() {}

  /** Puts the ids into the calling thread's context; a null one is removed. */
  public static void put(String jobId, String leaseId) {
    set(JOB_ID, jobId);
    set(LEASE_ID, leaseId);
  }

  /** Removes both ids from the calling thread's context. */
  public static void clear() {
    MDC.remove(JOB_ID);
    MDC.remove(LEASE_ID);
  }

  private static void set(String key, String value) {
    if (value == null) {
      MDC.remove(key);
    } else {
      MDC.put(key, value);
    }
  }
}
